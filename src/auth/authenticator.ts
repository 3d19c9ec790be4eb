/**
 * The one place where logins are decided, for every protocol (SMTP AUTH, IMAP, POP3): password
 * check, SASL mechanisms, and the shared lockout. app/ builds one and hands it to each protocol.
 *
 *   const account = await authenticator.password({ user, password, remoteIp, protocol: "imap" });
 *   if (!account) { await authenticator.delayFailure(startedAt); reply NO / -ERR / 535 }
 *
 * A blocked IP or user fails at once without a password check (it still counts for the other
 * key: an IP that keeps trying a blocked account gets blocked too). Otherwise an unknown user costs
 * the same scrypt verification as a wrong password (dummyVerify), and every failure counts
 * toward the lockout of the client's IP and of the user name.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Account, AuthFailureStore, Directory } from "../store/types.js";
import { dummyVerify, verifyPassword } from "./password.js";
import { ipKey, Lockout, userKey, DEFAULT_LOCKOUT, type LockoutPolicy } from "./lockout.js";
import { fakeScramCredentials, parseScramKeys, ScramSha256Mechanism, SCRAM_MIN_ITERATIONS } from "./sasl/scram.js";
import { PlainMechanism } from "./sasl/plain.js";
import { LoginMechanism } from "./sasl/login.js";
import type { SaslBackend, SaslMechanism, ScramLookup } from "./sasl/types.js";

export interface LoginContext {
  /** The client's IP address, as the socket reports it. */
  remoteIp: string;
  /** "smtp", "imap", "pop3": for logs. */
  protocol: string;
}

export interface PasswordLogin extends LoginContext {
  user: string;
  password: string;
}

export interface AuthenticatorOptions {
  lockout?: LockoutPolicy;
  /** A failed login is answered this long after it began (delayFailure). */
  failureDelayMs?: number;
  /** Iterations of the fake SCRAM keys of unknown users (new real keys are made by the CLI). */
  scramIterations?: number;
  /**
   * Secret for the fake SCRAM salts of unknown users. It should outlive restarts (and be shared
   * by the nodes of a cluster), or a salt that changes tells that a user does not exist.
   */
  secret?: Buffer;
}

/** Mechanisms in order of preference, as offered in EHLO / CAPABILITY. */
export const SASL_MECHANISMS = ["SCRAM-SHA-256", "PLAIN", "LOGIN"] as const;

/** Account names are addresses: anything else cannot exist, and is not looked up. */
const ADDRESS = /^[^@\s]{1,64}@[^@\s]{1,255}$/;

export class Authenticator {
  readonly lockout: Lockout;
  private readonly failureDelayMs: number;
  private readonly scramIterations: number;
  private readonly secret: Buffer;

  constructor(
    private readonly directory: Pick<Directory, "credentials">,
    failures: AuthFailureStore,
    opts: AuthenticatorOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.lockout = new Lockout(failures, opts.lockout ?? DEFAULT_LOCKOUT, clock, log);
    this.failureDelayMs = opts.failureDelayMs ?? 1000;
    this.scramIterations = opts.scramIterations ?? SCRAM_MIN_ITERATIONS;
    this.secret = opts.secret ?? randomBytes(32);
  }

  /**
   * Check a user name (an account address) and password. Returns the account, or null for an
   * unknown user, a wrong password, a disabled account or a blocked IP/user; the caller replies
   * the same way to all of them (after delayFailure). Store errors are thrown: reply with a
   * temporary failure then.
   */
  async password(req: PasswordLogin): Promise<Account | null> {
    const keys = [ipKey(req.remoteIp), userKey(req.user)];
    if (await this.isBlocked(keys, req)) return null;
    const creds = ADDRESS.test(req.user) ? await this.directory.credentials(req.user) : null;
    if (!creds) {
      // Spend what a real check costs, so the time does not tell that the user is unknown.
      await dummyVerify(req.password);
      await this.failed(keys, req, "unknown-user");
      return null;
    }
    const ok = await verifyPassword(req.password, creds.passwordHash);
    if (!ok || !creds.account.enabled) {
      await this.failed(keys, req, ok ? "disabled" : "password");
      return null;
    }
    await this.lockout.success(req.user);
    return creds.account;
  }

  /**
   * Begin a SCRAM-SHA-256 login: the user's keys, or fake ones that no proof matches (unknown
   * user, account without SCRAM keys, disabled, blocked), so the exchange looks the same.
   */
  async scram(req: LoginContext & { user: string }): Promise<ScramLookup> {
    const keys = [ipKey(req.remoteIp), userKey(req.user)];
    const fake = fakeScramCredentials(req.user, this.secret, this.scramIterations);
    if (await this.isBlocked(keys, req)) return { credentials: fake, finish: async () => null };
    const creds = ADDRESS.test(req.user) ? await this.directory.credentials(req.user) : null;
    const real = creds?.scramSha256 ? parseScramKeys(creds.scramSha256) : null;
    const usable = creds !== null && real !== null && creds.account.enabled;
    return {
      credentials: usable ? real : fake,
      finish: async (proofValid) => {
        if (usable && proofValid) {
          await this.lockout.success(req.user);
          return creds.account.address;
        }
        await this.failed(keys, req, !creds ? "unknown-user" : !real ? "no-scram-keys" : !creds.account.enabled ? "disabled" : "password");
        return null;
      },
    };
  }

  /** The SASL mechanisms a client may use. */
  mechanisms(): readonly string[] {
    return SASL_MECHANISMS;
  }

  /** A SASL exchange for one client, or undefined for an unknown mechanism (case-insensitive). */
  start(mechanism: string, ctx: LoginContext): SaslMechanism | undefined {
    const backend = this.saslBackend(ctx);
    switch (mechanism.toUpperCase()) {
      case "PLAIN":
        return new PlainMechanism(backend);
      case "LOGIN":
        return new LoginMechanism(backend);
      case "SCRAM-SHA-256":
        return new ScramSha256Mechanism(backend);
      default:
        return undefined;
    }
  }

  /** The Authenticator as the SASL mechanisms see it, for one client. */
  saslBackend(ctx: LoginContext): SaslBackend {
    return {
      password: async (user, password) => (await this.password({ ...ctx, user, password }))?.address ?? null,
      scram: (user) => this.scram({ ...ctx, user }),
    };
  }

  /**
   * Wait until `failureDelayMs` after `startedAt` (clock ms): every failed login is answered
   * after the same time, whatever made it fail.
   */
  delayFailure(startedAt: number): Promise<void> {
    const left = startedAt + this.failureDelayMs - this.clock.now();
    if (left <= 0) return Promise.resolve();
    return new Promise((r) => this.clock.setTimer(left, r));
  }

  /** The clock's now, for delayFailure. */
  now(): number {
    return this.clock.now();
  }

  private async isBlocked(keys: string[], req: LoginContext & { user: string }): Promise<boolean> {
    const block = await this.lockout.blocked(keys);
    if (!block) return false;
    this.log.info({ event: "auth-failure", protocol: req.protocol, remote: req.remoteIp, user: req.user.slice(0, 100), reason: "blocked", key: block.key, until: new Date(block.blockedUntil!).toISOString() }, "login refused: blocked");
    // Still a failure for the keys not blocked (an IP that keeps trying a blocked account);
    // a blocked key's row does not change.
    await this.lockout.failure(keys, { protocol: req.protocol, remote: req.remoteIp });
    return true;
  }

  private async failed(keys: string[], req: LoginContext & { user: string }, reason: string): Promise<void> {
    this.log.info({ event: "auth-failure", protocol: req.protocol, remote: req.remoteIp, user: req.user.slice(0, 100), reason }, "login failed");
    await this.lockout.failure(keys, { protocol: req.protocol, remote: req.remoteIp });
  }
}
