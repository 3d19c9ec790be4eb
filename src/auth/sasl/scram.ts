/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, without channel binding (only
 * "SCRAM-SHA-256" is offered, never "-PLUS"). The server keeps StoredKey and ServerKey, never
 * the password: a stolen database row does not let anyone log in elsewhere with the password.
 *
 * Stored like PostgreSQL's pg_authid.rolpassword:
 *   SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>     (standard base64)
 */
import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { saslprep } from "./saslprep.js";
import type { SaslBackend, SaslMechanism, SaslStep, ScramCredentials } from "./types.js";

const pbkdf2Async = promisify(pbkdf2);

/** RFC 7677 4: at least 4096 iterations. */
export const SCRAM_MIN_ITERATIONS = 4096;
const MAX_ITERATIONS = 10_000_000;
const SALT_BYTES = 16;
const MAX_MESSAGE = 4096;

const hmac = (key: Buffer, data: string | Buffer): Buffer => createHmac("sha256", key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash("sha256").update(data).digest();

/** RFC 5802 3: the keys of a password with this salt and iteration count. */
export async function deriveScramKeys(password: string, salt: Buffer, iterations: number): Promise<ScramCredentials> {
  const salted = await pbkdf2Async(saslprep(password), salt, iterations, 32, "sha256");
  const clientKey = hmac(salted, "Client Key");
  return { iterations, salt, storedKey: sha256(clientKey), serverKey: hmac(salted, "Server Key") };
}

export function formatScramKeys(c: ScramCredentials): string {
  return `SCRAM-SHA-256$${c.iterations}:${c.salt.toString("base64")}$${c.storedKey.toString("base64")}:${c.serverKey.toString("base64")}`;
}

/** The stored form of new keys for a password, with a fresh random salt. */
export async function scramKeys(password: string, iterations = SCRAM_MIN_ITERATIONS): Promise<string> {
  if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS || iterations > MAX_ITERATIONS) throw new RangeError(`SCRAM iterations must be an integer from ${SCRAM_MIN_ITERATIONS} to ${MAX_ITERATIONS}`);
  return formatScramKeys(await deriveScramKeys(password, randomBytes(SALT_BYTES), iterations));
}

const B64 = "[A-Za-z0-9+/]+={0,2}";
const STORED = new RegExp(`^SCRAM-SHA-256\\$(\\d{1,8}):(${B64})\\$(${B64}):(${B64})$`);

/** The keys of a stored string, or null when it is malformed. */
export function parseScramKeys(stored: string): ScramCredentials | null {
  const m = STORED.exec(stored);
  if (!m) return null;
  const iterations = Number(m[1]);
  const salt = Buffer.from(m[2]!, "base64");
  const storedKey = Buffer.from(m[3]!, "base64");
  const serverKey = Buffer.from(m[4]!, "base64");
  if (iterations < 1 || iterations > MAX_ITERATIONS || salt.length < 8 || storedKey.length !== 32 || serverKey.length !== 32) return null;
  return { iterations, salt, storedKey, serverKey };
}

/**
 * Keys for a user that has none (unknown, no SCRAM keys, blocked): the salt is derived from the
 * name with a server secret, so asking twice gives the same salt, as for a real account, and
 * nobody without the secret can tell it from a random one. No proof matches the stored key.
 */
export function fakeScramCredentials(user: string, secret: Buffer, iterations: number): ScramCredentials {
  const name = user.normalize("NFC").toLowerCase();
  return {
    iterations,
    salt: hmac(secret, `scram-salt\0${name}`).subarray(0, SALT_BYTES),
    storedKey: hmac(secret, `scram-stored\0${name}`),
    serverKey: hmac(secret, `scram-server\0${name}`),
  };
}

/** RFC 5802 5.1: "=2C" and "=3D" are the only escapes in a saslname. */
function decodeSaslname(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

const PRINTABLE_NONCE = /^[\x21-\x2B\x2D-\x7E]+$/;

type State = "start" | "first" | "final" | "ack" | "done";

export interface ScramOptions {
  /** The server's part of the nonce (tests: the RFC 7677 vector). */
  nonce?: () => string;
}

export class ScramSha256Mechanism implements SaslMechanism {
  readonly name = "SCRAM-SHA-256";
  private state: State = "start";
  private gs2Header = "";
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";
  private credentials?: ScramCredentials;
  private finish?: (ok: boolean) => Promise<string | null>;
  private user = "";

  constructor(
    private readonly backend: SaslBackend,
    private readonly opts: ScramOptions = {},
  ) {}

  async step(response: Buffer | null): Promise<SaslStep> {
    if (response !== null && response.length > MAX_MESSAGE) return this.fail();
    const text = response === null ? null : response.toString("utf8");
    if (text !== null && Buffer.byteLength(text) !== response!.length) return this.fail();
    switch (this.state) {
      case "start":
        // No initial response: an empty challenge asks for client-first-message.
        if (text === null) return ((this.state = "first"), { challenge: Buffer.alloc(0) });
        return this.clientFirst(text);
      case "first":
        return text === null ? this.fail() : this.clientFirst(text);
      case "final":
        return text === null ? this.fail() : this.clientFinal(text);
      case "ack":
        // RFC 4954 4: the client answers server-final-message with an empty response.
        this.state = "done";
        return text === "" || text === null ? { user: this.user } : { failed: true };
      default:
        return this.fail();
    }
  }

  private fail(): SaslStep {
    this.state = "done";
    return { failed: true };
  }

  /** gs2-header client-first-message-bare (RFC 5802 7). */
  private async clientFirst(msg: string): Promise<SaslStep> {
    const m = /^(n|y|p=[A-Za-z0-9.-]+),(a=[^,]*)?,(.*)$/s.exec(msg);
    if (!m) return this.fail();
    // Channel binding is not offered: "p=" is refused; "y" (client could, thinks we cannot) is fine.
    if (m[1]!.startsWith("p=")) return this.fail();
    this.gs2Header = `${m[1]},${m[2] ?? ""},`;
    const bare = m[3]!;
    const attrs = bare.split(",");
    // reserved-mext "m=" must make authentication fail (RFC 5802 5.1).
    if (!attrs[0]?.startsWith("n=") || !attrs[1]?.startsWith("r=")) return this.fail();
    // Extensions are attr=value; none is understood (RFC 5802 5.1).
    if (attrs.slice(2).some((a) => !/^[A-Za-z]=/.test(a))) return this.fail();
    const user = decodeSaslname(attrs[0].slice(2));
    const authzid = m[2] ? decodeSaslname(m[2].slice(2)) : "";
    const cnonce = attrs[1].slice(2);
    if (!user || authzid === null || !PRINTABLE_NONCE.test(cnonce)) return this.fail();
    const lookup = await this.backend.scram(saslprep(user));
    this.finish = lookup.finish;
    this.credentials = lookup.credentials;
    // Acting as another user is not supported: authzid empty or the user itself.
    if (authzid !== "" && authzid.toLowerCase() !== user.toLowerCase()) this.finish = async (ok) => (ok ? null : lookup.finish(false));
    this.clientFirstBare = bare;
    this.nonce = cnonce + (this.opts.nonce?.() ?? randomBytes(18).toString("base64"));
    this.serverFirst = `r=${this.nonce},s=${this.credentials.salt.toString("base64")},i=${this.credentials.iterations}`;
    this.state = "final";
    return { challenge: Buffer.from(this.serverFirst) };
  }

  /** channel-binding "," nonce ["," extensions] "," proof (RFC 5802 7). */
  private async clientFinal(msg: string): Promise<SaslStep> {
    const at = msg.lastIndexOf(",p=");
    if (at < 0) return this.reject();
    const withoutProof = msg.slice(0, at);
    const proof = Buffer.from(msg.slice(at + 3), "base64");
    const attrs = withoutProof.split(",");
    if (attrs[0] !== `c=${Buffer.from(this.gs2Header).toString("base64")}` || attrs[1] !== `r=${this.nonce}` || proof.length !== 32) return this.reject();
    const c = this.credentials!;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(c.storedKey, authMessage);
    const clientKey = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!;
    const valid = timingSafeEqual(sha256(clientKey), c.storedKey);
    const address = await this.finish!(valid);
    if (address === null) return this.fail();
    this.user = address;
    this.state = "ack";
    return { challenge: Buffer.from(`v=${hmac(c.serverKey, authMessage).toString("base64")}`) };
  }

  /** A malformed client-final-message counts as a failed login. */
  private async reject(): Promise<SaslStep> {
    await this.finish?.(false);
    return this.fail();
  }
}
