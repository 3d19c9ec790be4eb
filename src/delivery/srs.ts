/**
 * Sender Rewriting Scheme (SRS, Shevek's scheme as in libsrs2 and postsrsd) for forwarding:
 * a message forwarded to a remote alias target leaves with an envelope sender at our domain, so
 * that the target's SPF check (RFC 7208) sees our domain, and bounces come back to us, where the
 * address is verified and turned back into the original sender.
 *
 *   SRS0=HHHHHHHH=TT=orig-domain=orig-local@our-domain
 *   SRS1=HHHHHHHH=first-srs-domain==HHHHHHHH=TT=orig-domain=orig-local@our-domain
 *
 * HHHHHHHH is a keyed hash (HMAC-SHA256, base32, 8 characters: case-insensitive, since MTAs on
 * the way may fold the case of a local part), TT the day (days since the epoch, modulo 1024,
 * base32). SRS1 is for re-forwarding a message whose sender is already SRS0 at another domain:
 * bounces then go straight to the first forwarder (no timestamp; its SRS0 part carries one).
 * No I/O here: the secret comes from the caller.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const HASH_LENGTH = 8;
const DAY_MS = 86_400_000;
/** Timestamps wrap after 1024 days (two base32 characters). */
const TS_MODULO = 1024;

export interface SrsOptions {
  /** The secret that keys the hash; the first signs, every one verifies (rotation). */
  secrets: readonly string[];
  /** A bounce to an SRS0 address older than this many days is refused (libsrs2: 21). */
  maxAgeDays: number;
  now?: () => number;
}

export type SrsReverse =
  /** Not an SRS address at all: resolve it as usual. */
  | { kind: "none" }
  /** An SRS address that does not verify (hash, age or syntax): refuse it (550 5.1.1). */
  | { kind: "invalid"; reason: string }
  /** Verified: deliver to this address. */
  | { kind: "valid"; address: string };

const SRS_PREFIX = /^srs[01][=+-]/i;

export function isSrsAddress(localPart: string): boolean {
  return SRS_PREFIX.test(localPart);
}

function base32(buf: Buffer, chars: number): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= chars) break;
  }
  return out;
}

function splitAt(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf("@");
  return at < 0 ? { local: address, domain: "" } : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

export class Srs {
  private readonly now: () => number;

  constructor(private readonly opts: SrsOptions) {
    if (opts.secrets.length === 0 || opts.secrets.some((s) => s.length < 16)) throw new Error("SRS needs a secret of at least 16 characters");
    this.now = opts.now ?? Date.now;
  }

  private hash(secret: string, ...parts: string[]): string {
    const mac = createHmac("sha256", secret).update(parts.map((p) => p.toLowerCase()).join("\0")).digest();
    return base32(mac, HASH_LENGTH);
  }

  private verifyHash(given: string, ...parts: string[]): boolean {
    const g = Buffer.from(given.toUpperCase());
    return this.opts.secrets.some((s) => {
      const want = Buffer.from(this.hash(s, ...parts));
      return g.length === want.length && timingSafeEqual(g, want);
    });
  }

  private today(): number {
    return Math.floor(this.now() / DAY_MS) % TS_MODULO;
  }

  /**
   * The envelope sender for a message forwarded by `srsDomain`: unchanged for the null sender
   * (a bounce is never rewritten) and for senders at `srsDomain` itself; SRS1 for a sender that
   * is already an SRS address elsewhere; else SRS0.
   */
  forward(sender: string, srsDomain: string): string {
    if (sender === "") return sender;
    const { local, domain } = splitAt(sender);
    if (!domain || domain.toLowerCase() === srsDomain.toLowerCase()) return sender;
    const secret = this.opts.secrets[0]!;
    if (/^srs0[=+-]/i.test(local)) {
      // SRS0=opaque@first → SRS1=HASH=first==opaque (the "=" after "SRS0" is kept).
      const tail = local.slice(4);
      return `SRS1=${this.hash(secret, domain, tail)}=${domain}=${tail}@${srsDomain}`;
    }
    if (/^srs1[=+-]/i.test(local)) {
      // SRS1=HASH=first==opaque@other → ours names the same first forwarder.
      const m = /^srs1[=+-][^=]+=([^=]+)=(.*)$/i.exec(local);
      if (m) return `SRS1=${this.hash(secret, m[1]!, m[2]!)}=${m[1]}=${m[2]}@${srsDomain}`;
    }
    const tt = BASE32[(this.today() >> 5) & 31]! + BASE32[this.today() & 31]!;
    return `SRS0=${this.hash(secret, tt, domain, local)}=${tt}=${domain}=${local}@${srsDomain}`;
  }

  /** An address at one of our domains: where a bounce to it goes, if it is ours and valid. */
  reverse(address: string): SrsReverse {
    const { local } = splitAt(address);
    if (!isSrsAddress(local)) return { kind: "none" };
    if (/^srs0/i.test(local)) {
      // SRS0=HASH=TT=domain=local (the original local part may itself contain "=").
      const m = /^srs0[=+-]([^=]+)=([^=]{2})=([^=]+)=(.+)$/i.exec(local);
      if (!m) return { kind: "invalid", reason: "malformed SRS0 address" };
      const [, hash, tt, domain, orig] = m as unknown as [string, string, string, string, string];
      if (!this.verifyHash(hash, tt.toUpperCase(), domain, orig)) return { kind: "invalid", reason: "SRS hash does not verify" };
      const t = BASE32.indexOf(tt[0]!.toUpperCase()) * 32 + BASE32.indexOf(tt[1]!.toUpperCase());
      if (t < 0) return { kind: "invalid", reason: "bad SRS timestamp" };
      const age = (this.today() - t + TS_MODULO) % TS_MODULO;
      if (age > this.opts.maxAgeDays) return { kind: "invalid", reason: `SRS address expired (${age} days old)` };
      return { kind: "valid", address: `${orig}@${domain}` };
    }
    const m = /^srs1[=+-]([^=]+)=([^=]+)=(.+)$/i.exec(local);
    if (!m) return { kind: "invalid", reason: "malformed SRS1 address" };
    const [, hash, first, tail] = m as unknown as [string, string, string, string];
    if (!this.verifyHash(hash, first, tail)) return { kind: "invalid", reason: "SRS hash does not verify" };
    // Back to the first forwarder, which checks its own hash and timestamp.
    return { kind: "valid", address: `SRS0${tail}@${first}` };
  }
}
