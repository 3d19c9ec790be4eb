/**
 * Password hashing with scrypt (RFC 7914), Node's built-in, stored as a PHC string:
 *
 *   $scrypt$ln=15,r=8,p=1$<salt>$<key>      (salt and key in base64 without padding)
 *
 * verifyPassword() reads the parameters from the stored string, so they can be raised later
 * without invalidating existing hashes. Passwords are normalised to NFC first (the spirit of
 * RFC 8265 OpaqueString / SASLprep): the same password typed on two keyboards matches.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  r: number;
  p: number;
}

/** What new hashes use: N = 2^15, r = 8, p = 1 (32 MiB, tens of milliseconds). */
export const DEFAULT_PARAMS: Readonly<ScryptParams> = { ln: 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// Bounds on what a stored hash may ask for, so that a damaged row cannot make a login cost
// gigabytes or minutes. Raise them together with DEFAULT_PARAMS.
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEM = 1024 ** 3;

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{11,88})\$([A-Za-z0-9+/]{22,88})$/;

/** Memory scrypt needs (OpenSSL's check: 128·r·(N + p + 2) bytes), with room to spare. */
function maxmem({ ln, r, p }: ScryptParams): number {
  return 128 * r * (2 ** ln + p + 2) + 1024 * 1024;
}

function derive(password: string, salt: Buffer, keyLength: number, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: maxmem(params) };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, keyLength, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const b64 = (b: Buffer): string => b.toString("base64").replace(/=+$/, "");

function format(params: ScryptParams, salt: Buffer, key: Buffer): string {
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/** Hash a password for storage, with a fresh random salt. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  return format(params, salt, await derive(password, salt, KEY_BYTES, params));
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

function parse(stored: string): ParsedHash | null {
  const m = PHC.exec(stored);
  if (!m) return null;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.ln < 1 || params.ln > MAX_LN || params.r < 1 || params.r > MAX_R || params.p < 1 || params.p > MAX_P) return null;
  if (maxmem(params) > MAX_MEM) return null;
  const salt = Buffer.from(m[4]!, "base64");
  const key = Buffer.from(m[5]!, "base64");
  // Round-trip check: rejects base64 with stray bits that Buffer.from would silently accept.
  if (b64(salt) !== m[4] || b64(key) !== m[5] || key.length < 16) return null;
  return { params, salt, key };
}

/** True when password matches the stored hash; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = typeof stored === "string" ? parse(stored) : null;
  if (!h || typeof password !== "string") return false;
  let key: Buffer;
  try {
    key = await derive(password, h.salt, h.key.length, h.params);
  } catch {
    return false;
  }
  return timingSafeEqual(key, h.key);
}

/** True when a stored hash uses weaker parameters than new hashes would (rehash at next login). */
export function needsRehash(stored: string): boolean {
  const h = parse(stored);
  if (!h) return true;
  return h.params.ln < DEFAULT_PARAMS.ln || h.params.r < DEFAULT_PARAMS.r || h.params.p < DEFAULT_PARAMS.p;
}

// A well-formed hash that no password matches: its key is random, not derived.
const DUMMY_HASH = format(DEFAULT_PARAMS, randomBytes(SALT_BYTES), randomBytes(KEY_BYTES));

/**
 * Spend what a real verification costs, for a user that does not exist, so that the time of
 * a failure reply does not tell whether the account exists.
 */
export async function dummyVerify(password: string): Promise<void> {
  await verifyPassword(password, DUMMY_HASH);
}
