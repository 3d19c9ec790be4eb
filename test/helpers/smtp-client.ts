/**
 * A raw SMTP client for tests: it sends exactly the bytes it is given and reads replies as the
 * server wrote them (multi-line replies joined), so that tests can check framing, pipelining,
 * limits and smuggling at the byte level. TLS: implicit (connect with tls) or STARTTLS
 * (startTls() wraps the same TCP connection).
 */
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { once } from "node:events";

export interface SmtpReply {
  code: number;
  /** RFC 3463 enhanced code of the last line, when present ("2.0.0"). */
  enhanced?: string;
  /** Text of each line after the code and separator. */
  lines: string[];
  /** The reply exactly as received, CRLFs included. */
  raw: string;
}

export interface ConnectOptions {
  /** Implicit TLS (the submissions port). */
  tls?: boolean;
  /** Source address, e.g. "127.0.0.2" to appear as another client. */
  localAddress?: string;
  /** Milliseconds to wait for each reply (default 5000). */
  timeout?: number;
}

const REPLY_LINE = /^(\d{3})([ -])(.*)$/s;

export class SmtpClient {
  private buf = Buffer.alloc(0);
  private waiter?: () => void;
  private ended = false;
  /** Resolves when the server closed the connection (or the socket failed). */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  readonly timeout: number;

  private constructor(
    public socket: Socket | TLSSocket,
    timeout: number,
  ) {
    this.timeout = timeout;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.attach(socket);
  }

  /** Connect and wait for the connection (not the greeting: read it with reply()). */
  static async connect(port: number, opts: ConnectOptions = {}): Promise<SmtpClient> {
    const host = "127.0.0.1";
    const plain = netConnect({ host, port, localAddress: opts.localAddress });
    await once(plain, "connect");
    // Each write() goes out at once, so that tests control how bytes are split into segments.
    plain.setNoDelay(true);
    if (!opts.tls) return new SmtpClient(plain, opts.timeout ?? 5000);
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: "mx.petrel.test" });
    await once(secure, "secureConnect");
    return new SmtpClient(secure, opts.timeout ?? 5000);
  }

  /** Connect and check the 220 greeting. */
  static async open(port: number, opts: ConnectOptions = {}): Promise<SmtpClient> {
    const c = await SmtpClient.connect(port, opts);
    const greeting = await c.reply();
    if (greeting.code !== 220) throw new Error(`unexpected greeting: ${greeting.raw}`);
    return c;
  }

  private attach(s: Socket | TLSSocket): void {
    s.on("data", (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    const done = () => {
      this.ended = true;
      this.wake();
      this.resolveClosed();
    };
    s.on("end", done);
    s.on("close", done);
    s.on("error", done);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Whether the server has closed the connection. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Bytes received and not yet read as replies. */
  get pending(): string {
    return this.buf.toString("utf8");
  }

  /** Send bytes exactly as given. */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Send one command line (CRLF added). */
  send(line: string): void {
    this.write(line + "\r\n");
  }

  /** Parse one complete reply from the buffer, or undefined when it is not all here yet. */
  private parse(): SmtpReply | undefined {
    let pos = 0;
    const lines: string[] = [];
    for (;;) {
      const eol = this.buf.indexOf("\r\n", pos);
      if (eol < 0) return undefined;
      const line = this.buf.subarray(pos, eol).toString("utf8");
      const m = REPLY_LINE.exec(line) ?? /^(\d{3})()$/.exec(line);
      if (!m) throw new Error(`malformed reply line: ${JSON.stringify(line)}`);
      if (lines.length > 0 && Number(m[1]) !== Number(this.buf.subarray(0, 3).toString())) throw new Error(`reply code changed inside a multi-line reply: ${JSON.stringify(line)}`);
      lines.push(m[3] ?? "");
      pos = eol + 2;
      if (m[2] !== "-") {
        const raw = this.buf.subarray(0, pos).toString("utf8");
        this.buf = this.buf.subarray(pos);
        const code = Number(m[1]);
        const enh = /^([245]\.\d{1,3}\.\d{1,3}) /.exec(lines[lines.length - 1]! + " ");
        return { code, enhanced: enh?.[1], lines: lines.map((l) => l.replace(/^[245]\.\d{1,3}\.\d{1,3} /, "")), raw };
      }
    }
  }

  /** Read the next reply; fails when none arrives in time or the server closed first. */
  async reply(timeout = this.timeout): Promise<SmtpReply> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const r = this.parse();
      if (r) return r;
      if (this.ended) throw new Error(`connection closed while waiting for a reply; got ${JSON.stringify(this.pending)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeout} ms; got ${JSON.stringify(this.pending)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Read n replies in order. */
  async replies(n: number, timeout = this.timeout): Promise<SmtpReply[]> {
    const out: SmtpReply[] = [];
    for (let i = 0; i < n; i++) out.push(await this.reply(timeout));
    return out;
  }

  /** Send a command and read its reply. */
  async cmd(line: string): Promise<SmtpReply> {
    this.send(line);
    return this.reply();
  }

  /** Send a command and check the reply's code (and enhanced code when given); returns the reply. */
  async expect(line: string, code: number, enhanced?: string): Promise<SmtpReply> {
    const r = await this.cmd(line);
    if (r.code !== code || (enhanced !== undefined && r.enhanced !== enhanced)) {
      throw new Error(`${line} -> expected ${code}${enhanced ? " " + enhanced : ""}, got ${r.raw.trimEnd()}`);
    }
    return r;
  }

  /** EHLO, returning the extension keywords (upper case, without the greeting line). */
  async ehlo(name = "client.test"): Promise<string[]> {
    const r = await this.expect(`EHLO ${name}`, 250);
    return r.lines.slice(1).map((l) => l.toUpperCase());
  }

  /**
   * STARTTLS handshake on the open connection (after the server's 220). Whatever the
   * server sent in plaintext after its 220 stays in `pending` for the test to inspect.
   */
  async startTls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("end");
    plain.removeAllListeners("close");
    plain.removeAllListeners("error");
    // Errors now surface on the TLS socket; the plain one must not throw an unhandled 'error'.
    plain.on("error", () => undefined);
    const secure = tlsConnect({ socket: plain, rejectUnauthorized: false, servername: "mx.petrel.test" });
    await once(secure, "secureConnect");
    this.socket = secure;
    this.attach(secure);
  }

  /** Wait until the server closes the connection; fails after `timeout` ms. */
  async waitClosed(timeout = this.timeout): Promise<void> {
    let t: NodeJS.Timeout | undefined;
    const timer = new Promise<never>((_r, reject) => (t = setTimeout(() => reject(new Error(`connection still open after ${timeout} ms`)), timeout)));
    try {
      await Promise.race([this.closed, timer]);
    } finally {
      clearTimeout(t);
    }
  }

  /** Give the server `ms` to send anything more; returns what arrived (nothing is expected). */
  async quiet(ms = 200): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return this.pending;
  }

  /** QUIT politely (221) and close. */
  async quit(): Promise<void> {
    if (!this.ended) {
      await this.expect("QUIT", 221);
      await this.waitClosed();
    }
    this.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The queue id from "250 2.0.0 Ok: queued as ID". */
export function queueIdOf(r: SmtpReply | string): string {
  const text = typeof r === "string" ? r : r.raw;
  const m = /queued as ([0-9A-Z]{16})/.exec(text);
  if (!m) throw new Error(`no queue id in ${JSON.stringify(text)}`);
  return m[1]!;
}
