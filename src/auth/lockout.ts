/**
 * The authentication lockout shared by SMTP AUTH, IMAP and POP3. Failures are counted per
 * client IP ("ip:<address>") and per user name ("user:<name>", whether the account exists or
 * not, so a block does not tell). After `maxFailures` failures within `window`, attempts from
 * that IP / for that user are refused for `blockTime`, doubled with each new block up to
 * `maxBlockTime`; the doubling starts over after `maxBlockTime` without any failure.
 *
 * A success clears a user's count (never a block: blocked attempts are not checked at all), and
 * never touches an IP's: one good account must not let an attacker reset the count of the IP
 * it guesses other passwords from.
 */
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { AuthFailure, AuthFailureStore } from "../store/types.js";

export interface LockoutPolicy {
  enabled: boolean;
  maxFailures: number;
  windowMs: number;
  blockMs: number;
  maxBlockMs: number;
}

export const DEFAULT_LOCKOUT: Readonly<LockoutPolicy> = { enabled: true, maxFailures: 5, windowMs: 15 * 60_000, blockMs: 5 * 60_000, maxBlockMs: 24 * 3_600_000 };

const MAX_USER_KEY = 320;

export const ipKey = (ip: string): string => `ip:${ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "")}`;
/** User names are counted case-insensitively (addresses are matched that way too). */
export const userKey = (user: string): string => `user:${user.normalize("NFC").trim().toLowerCase().slice(0, MAX_USER_KEY)}`;

/**
 * The row after one more failure at `now` (pure: the lockout's whole policy). A failure while
 * blocked changes nothing: those attempts are refused before any check.
 */
export function afterFailure(prev: AuthFailure | null, key: string, now: number, p: LockoutPolicy): AuthFailure {
  if (prev && prev.blockedUntil !== null && prev.blockedUntil > now) return prev;
  // The doubling starts over after a long enough quiet time.
  const level = prev && now - prev.lastFailureAt <= p.maxBlockMs ? prev.level : 0;
  const inWindow = prev !== null && prev.blockedUntil === null && now - prev.windowStart < p.windowMs;
  const failures = inWindow ? prev.failures + 1 : 1;
  const windowStart = inWindow ? prev.windowStart : now;
  if (failures >= p.maxFailures) {
    const block = Math.min(p.blockMs * 2 ** Math.min(level, 30), p.maxBlockMs);
    return { key, failures, windowStart, lastFailureAt: now, blockedUntil: now + block, level: level + 1 };
  }
  return { key, failures, windowStart, lastFailureAt: now, blockedUntil: null, level };
}

/** How often rows of quiet IPs and users are deleted. */
const PRUNE_EVERY_MS = 3_600_000;
const CAS_ATTEMPTS = 8;

export class Lockout {
  private nextPrune = 0;

  constructor(
    private readonly store: AuthFailureStore,
    private readonly policy: LockoutPolicy,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The block in force for any of these keys (the one that ends last), or null. */
  async blocked(keys: readonly string[]): Promise<AuthFailure | null> {
    if (!this.policy.enabled) return null;
    const now = this.clock.now();
    const rows = (await this.store.get(keys)).filter((r) => r.blockedUntil !== null && r.blockedUntil > now);
    return rows.sort((a, b) => b.blockedUntil! - a.blockedUntil!)[0] ?? null;
  }

  /** Count one failure for each key; logs each new block. */
  async failure(keys: readonly string[], fields: Record<string, unknown>): Promise<void> {
    if (!this.policy.enabled) return;
    const now = this.clock.now();
    for (const key of keys) {
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const [prev = null] = await this.store.get([key]);
        const next = afterFailure(prev, key, now, this.policy);
        if (next === prev) break;
        if (await this.store.replace(prev, next)) {
          if (next.blockedUntil !== null && next.blockedUntil !== prev?.blockedUntil) {
            this.log.warn({ event: "auth-blocked", key, failures: next.failures, level: next.level, until: new Date(next.blockedUntil).toISOString(), ...fields }, `authentication blocked for ${key}`);
          }
          break;
        }
      }
    }
    if (now >= this.nextPrune) {
      this.nextPrune = now + PRUNE_EVERY_MS;
      // Rows whose doubling would start over anyway carry nothing worth keeping.
      await this.store.prune(now - Math.max(this.policy.windowMs, this.policy.maxBlockMs), now).catch((err) => this.log.warn({ err }, "pruning authentication failures failed"));
    }
  }

  /** A successful login: the user's count starts over (an IP's never does). */
  async success(user: string): Promise<void> {
    if (!this.policy.enabled) return;
    const key = userKey(user);
    const [row] = await this.store.get([key]);
    if (row && row.blockedUntil === null && row.level === 0) await this.store.remove([key]);
    else if (row && row.blockedUntil === null && row.failures > 0) await this.store.replace(row, { ...row, failures: 0, windowStart: this.clock.now() });
  }
}
