import { randomBytes } from "node:crypto";

/**
 * Queue ids: 16 characters of Crockford base32, time-ordered (millisecond timestamp first)
 * so that listings sort by arrival, with 40 random bits so that several nodes never collide.
 */
export type QueueId = string & { readonly __brand: "QueueId" };

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export function newQueueId(now: number = Date.now()): QueueId {
  let out = "";
  let t = now;
  const time: string[] = [];
  for (let i = 0; i < 8; i++) {
    time.push(ALPHABET[t % 32]!);
    t = Math.floor(t / 32);
  }
  out = time.reverse().join("");
  const rnd = randomBytes(5);
  let bits = 0n;
  for (const b of rnd) bits = (bits << 8n) | BigInt(b);
  for (let i = 0; i < 8; i++) {
    out += ALPHABET[Number((bits >> BigInt(35 - i * 5)) & 31n)]!;
  }
  return out as QueueId;
}

export function isQueueId(s: string): s is QueueId {
  return /^[0-9A-HJKMNP-TV-Z]{16}$/.test(s);
}
