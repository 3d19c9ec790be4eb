/**
 * One POP3 session (RFC 1939): AUTHORIZATION -> TRANSACTION -> UPDATE, fed with bytes by the
 * transport. Sans-I/O like the SMTP engine: the store is reached only through Pop3Backend and
 * time only through the Clock. Commands live in commands/, one file per family.
 *
 * Replies are buffered and written when no complete command line is left (RFC 2449 PIPELINING).
 */
import { randomBytes } from "node:crypto";
import type { Clock, Timer } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { LineReader, TOO_LONG } from "./line-reader.js";
import { multiline } from "./stuffing.js";
import { MAX_AUTH_LINE, MAX_COMMAND_LINE, type Pop3Account, type Pop3Backend, type Pop3Options, type Pop3TlsInfo, type Pop3Transport } from "./backend.js";
import { COMMANDS } from "./commands/table.js";

export type Pop3State = "authorization" | "transaction" | "update";
type Mode = "command" | "tls" | "closed";

/** One message of the maildrop snapshot taken at login; numbers are index + 1. */
export interface DropEntry {
  uid: number;
  size: number;
  deleted: boolean;
}

/** Stop reading the socket when this much input waits unprocessed. */
const INPUT_HIGH_WATER = 64 * 1024;
/** Write buffered output once it is this large, even with more commands waiting. */
const OUTPUT_FLUSH = 64 * 1024;

export class Pop3Session {
  readonly id: string;
  state: Pop3State = "authorization";
  tls?: Pop3TlsInfo;
  /** The name given by USER, waiting for PASS. */
  user?: string;
  account?: Pop3Account;
  drop: DropEntry[] = [];
  uidValidity = 0;
  authFailures = 0;
  /** Handler of the next line while an AUTH exchange waits for the client's response. */
  saslLine?: (line: string) => Promise<void>;

  private readonly input = new LineReader();
  private mode: Mode = "command";
  private out: (Buffer | string)[] = [];
  private outSize = 0;
  private pumping = false;
  private paused = false;
  private timer?: Timer;
  private closeAfterFlush = false;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    readonly opts: Pop3Options,
    readonly backend: Pop3Backend,
    private readonly transport: Pop3Transport,
    readonly log: Logger,
    readonly clock: Clock,
  ) {
    this.id = randomBytes(6).toString("hex");
    this.tls = transport.tls;
    this.log = log.child({ session: this.id });
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.log.info({ event: "connect", listener: opts.listener, remote: transport.remoteAddress, remotePort: transport.remotePort, tls: this.tls ? `${this.tls.version} ${this.tls.cipher}` : undefined }, "connection");
    this.ok(`Petrel POP3 server ready`);
    this.flush();
    this.armTimer();
  }

  get remoteAddress(): string {
    return this.transport.remoteAddress;
  }

  get isClosed(): boolean {
    return this.mode === "closed";
  }

  /** Plaintext logins are allowed here (TLS, or configured so). */
  get loginAllowed(): boolean {
    return this.tls !== undefined || this.opts.allowInsecureAuth;
  }

  // ---- input -------------------------------------------------------------------------

  receive(chunk: Buffer): void {
    if (this.mode !== "command") return;
    this.input.push(chunk);
    if (this.input.length > INPUT_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.transport.pause();
    }
    void this.pump();
  }

  remoteClosed(reason?: string): void {
    if (this.mode === "closed") return;
    if (reason) this.log.info({ event: "socket", reason }, "connection error");
    // A dropped connection never enters UPDATE: nothing is expunged (RFC 1939 6).
    this.end("peer closed");
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.mode === "command" && !this.closeAfterFlush) {
        if (!(await this.processLine())) break;
        if (this.outSize > OUTPUT_FLUSH && !this.flush()) await this.transport.waitDrain();
      }
    } catch (err) {
      this.log.error({ err }, "session failed");
      this.err("[SYS/TEMP] internal error");
      this.closeAfterFlush = true;
    } finally {
      this.pumping = false;
    }
    this.flush();
    if (this.mode === "command" && !this.closeAfterFlush) this.armTimer();
    if (this.paused && this.input.length < INPUT_HIGH_WATER / 2 && this.mode === "command") {
      this.paused = false;
      this.transport.resume();
    }
  }

  private async processLine(): Promise<boolean> {
    const auth = this.saslLine !== undefined || /^auth /i.test(this.input.peek(5));
    const line = this.input.takeLine(auth ? MAX_AUTH_LINE : MAX_COMMAND_LINE);
    if (line === null) return false;
    this.cancelTimer();
    if (line === TOO_LONG) {
      this.saslLine = undefined;
      this.err("line too long");
      return true;
    }
    const text = line.toString("latin1");
    if (this.saslLine) {
      const handler = this.saslLine;
      this.saslLine = undefined;
      await handler(text);
      return true;
    }
    const sp = text.indexOf(" ");
    const verb = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? "" : text.slice(sp + 1);
    const spec = COMMANDS.get(verb);
    if (!spec) {
      this.log.debug({ verb: verb.slice(0, 20) }, "unknown command");
      this.err("unknown command");
      return true;
    }
    if (!spec.states.includes(this.state)) {
      this.err(this.state === "authorization" ? "not logged in" : "command not valid in this state");
      return true;
    }
    try {
      await spec.run(this, arg);
    } catch (err) {
      this.log.error({ err, verb }, "command failed");
      this.err("[SYS/TEMP] temporary failure, try again later");
    }
    return true;
  }

  // ---- authentication and maildrop -----------------------------------------------------

  /** A failed login: the reply comes after a fixed delay; too many failures end the session. */
  async loginFailed(user: string, mechanism: string): Promise<void> {
    this.authFailures++;
    this.log.info({ event: "auth", mechanism, user: user.slice(0, 100), result: "failed", failures: this.authFailures }, "authentication failed");
    this.flush();
    await new Promise<void>((r) => this.clock.setTimer(this.opts.failureDelayMs, r));
    this.err("[AUTH] invalid user name or password");
    // Per session only: failures will also count toward the shared authentication lockout
    // once it exists (issue 7, submission AUTH).
    if (this.authFailures >= this.opts.maxAuthFailures) {
      this.err("too many failed logins");
      this.closeAfterFlush = true;
    }
  }

  /** Credentials accepted: take the maildrop snapshot and enter TRANSACTION state. */
  async loggedIn(account: Pop3Account, mechanism: string): Promise<void> {
    let drop;
    try {
      drop = await this.backend.openMaildrop(account.accountId);
    } catch (err) {
      this.log.error({ err, user: account.address }, "maildrop unavailable");
      this.err("[SYS/TEMP] maildrop not available, try again later");
      return;
    }
    this.account = account;
    this.drop = drop.messages.map((m) => ({ uid: m.uid, size: m.size, deleted: false }));
    this.uidValidity = drop.uidValidity;
    this.state = "transaction";
    this.user = undefined;
    this.log.info({ event: "auth", mechanism, user: account.address, result: "ok", messages: this.drop.length }, "authenticated");
    const octets = this.drop.reduce((n, m) => n + m.size, 0);
    this.ok(`maildrop has ${this.drop.length} message${this.drop.length === 1 ? "" : "s"} (${octets} octets)`);
  }

  // ---- output and lifecycle ----------------------------------------------------------

  ok(text: string): void {
    this.write(text ? `+OK ${text}\r\n` : "+OK\r\n");
  }

  err(text: string): void {
    this.write(`-ERR ${text}\r\n`);
  }

  /** A single line as is (SASL continuations, multi-line listings). */
  line(text: string): void {
    this.write(`${text}\r\n`);
  }

  /** "+OK text", then the byte-stuffed data and the terminating ".". */
  multi(text: string, data: Buffer): void {
    this.ok(text);
    for (const p of multiline(data)) this.write(p);
  }

  private write(data: Buffer | string): void {
    this.out.push(data);
    this.outSize += data.length;
  }

  closeAfterReplies(): void {
    this.closeAfterFlush = true;
  }

  flush(): boolean {
    let room = true;
    if (this.mode !== "closed") for (const p of this.out) room = this.transport.write(p) && room;
    this.out = [];
    this.outSize = 0;
    if (this.closeAfterFlush && this.mode !== "closed") this.end("closed by server");
    return room;
  }

  /** STLS (RFC 2595 4): reply, discard pipelined plaintext, handshake, forget the USER. */
  async upgradeTls(): Promise<void> {
    this.ok("Begin TLS negotiation");
    this.flush();
    const discarded = this.input.clear();
    if (discarded > 0) this.log.warn({ event: "tls", discarded }, "discarded plaintext pipelined after STLS");
    this.mode = "tls";
    this.cancelTimer();
    try {
      this.tls = await this.transport.startTls();
    } catch (err) {
      this.log.info({ event: "tls", error: (err as Error).message }, "TLS handshake failed");
      this.end("TLS handshake failed");
      return;
    }
    if ((this.mode as Mode) === "closed") return;
    this.log.info({ event: "tls", version: this.tls.version, cipher: this.tls.cipher }, "TLS established");
    this.user = undefined;
    this.mode = "command";
    this.input.clear();
    this.armTimer();
  }

  /** Server shutdown: no expunge (the client did not QUIT). */
  shutdown(): void {
    if (this.mode === "closed") return;
    if (this.pumping) {
      this.closeAfterFlush = true;
      return;
    }
    this.err("[SYS/TEMP] server shutting down");
    this.closeAfterFlush = true;
    this.flush();
  }

  private end(reason: string): void {
    if (this.mode === "closed") return;
    this.mode = "closed";
    this.cancelTimer();
    for (const p of this.out) this.transport.write(p);
    this.out = [];
    this.transport.close();
    this.log.info({ event: "disconnect", reason, user: this.account?.address }, "disconnect");
    this.resolveClosed();
  }

  private armTimer(): void {
    if (this.mode !== "command") return;
    this.cancelTimer();
    this.timer = this.clock.setTimer(this.opts.idleTimeoutMs, () => {
      this.timer = undefined;
      if (this.pumping) return;
      this.log.info({ event: "timeout" }, "autologout");
      this.err("autologout; idle for too long");
      this.closeAfterFlush = true;
      this.flush();
    });
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
