// One client-side SMTP connection over a raw node:net socket: reads replies (including multi-line
// "250-..." continuations) and sends commands. Deliberately our own code, not nodemailer, so the
// load generator adds as little per-message overhead as possible and we see every reply.
import net from "node:net";

export interface Reply {
  code: number;
  /** All lines of the reply, without CRLF ("250-PIPELINING", "250 OK"). */
  lines: string[];
}

export class SmtpError extends Error {
  constructor(
    message: string,
    readonly reply?: Reply,
  ) {
    super(message);
  }
}

/** The last line of a reply, for error reports ("550 5.1.1 no such user"). */
export function replyText(r: Reply): string {
  return r.lines[r.lines.length - 1] ?? String(r.code);
}

const MAX_REPLY_LINE = 4096; // RFC 5321 says 512; be lenient, but never buffer without bound.

export class SmtpConn {
  private buf = "";
  private pendingLines: string[] = [];
  private replies: Reply[] = [];
  private waiter: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(readonly socket: net.Socket) {
    // Nagle would hold back our small commands waiting for an ACK: latency, not throughput.
    socket.setNoDelay(true);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new SmtpError("connection closed by server")));
  }

  /** Connects (optionally from a given local address) and resolves once the socket is up. */
  static connect(host: string, port: number, timeoutMs: number, localAddress?: string): Promise<SmtpConn> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, ...(localAddress ? { localAddress } : {}) });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new SmtpError(`connect timeout after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeListener("error", onError);
        resolve(new SmtpConn(socket));
      });
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once("error", onError);
    });
  }

  /** Resolves with the next complete reply; rejects on timeout or when the connection dies. */
  read(timeoutMs: number): Promise<Reply> {
    const ready = this.replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new SmtpError(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  /** Writes raw bytes; callers pass whole CRLF-terminated command lines. */
  write(data: string | Buffer): boolean {
    return this.socket.write(data);
  }

  /** Sends one command and reads its reply. */
  async command(line: string, timeoutMs: number): Promise<Reply> {
    this.write(line + "\r\n");
    return this.read(timeoutMs);
  }

  /** Sends QUIT, waits for the reply, closes our side. Best effort: errors are swallowed. */
  async quit(timeoutMs: number): Promise<Reply | undefined> {
    try {
      return await this.command("QUIT", timeoutMs);
    } catch {
      return undefined;
    } finally {
      this.close();
    }
  }

  close(): void {
    this.socket.end();
    // A server that never closes its side must not keep our fd: destroy after a grace period.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      // Tolerate bare LF from sloppy servers; strip the CR of a proper CRLF.
      const line = this.buf.slice(0, nl > 0 && this.buf[nl - 1] === "\r" ? nl - 1 : nl);
      this.buf = this.buf.slice(nl + 1);
      this.onLine(line);
    }
    if (this.buf.length > MAX_REPLY_LINE) {
      this.fail(new SmtpError(`reply line longer than ${MAX_REPLY_LINE} bytes`));
      this.socket.destroy();
    }
  }

  private onLine(line: string): void {
    this.pendingLines.push(line);
    // "250-text" continues the reply; "250 text" or a bare "250" ends it (RFC 5321 4.2.1).
    if (line.length > 3 && line[3] === "-") return;
    const code = Number(line.slice(0, 3));
    const reply: Reply = { code: Number.isInteger(code) ? code : 0, lines: this.pendingLines };
    this.pendingLines = [];
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(reply);
    } else {
      this.replies.push(reply);
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(err);
    }
  }
}

/** The EHLO keywords, upper-cased: "PIPELINING", "SIZE 52428800" -> {PIPELINING, SIZE}. */
export function ehloKeywords(r: Reply): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of r.lines.slice(1)) {
    const [kw, ...params] = line.slice(4).trim().split(/\s+/);
    if (kw) out.set(kw.toUpperCase(), params.join(" "));
  }
  return out;
}

/**
 * Connect, read the greeting, EHLO (falling back to HELO). Returns the connection and the EHLO
 * keywords; throws SmtpError with the reply when the server refuses.
 */
export async function openSession(
  host: string,
  port: number,
  timeoutMs: number,
  heloName = "bench.test",
): Promise<{ conn: SmtpConn; keywords: Map<string, string> }> {
  const conn = await SmtpConn.connect(host, port, timeoutMs);
  try {
    const greeting = await conn.read(timeoutMs);
    if (greeting.code !== 220) throw new SmtpError(`greeting: ${replyText(greeting)}`, greeting);
    const ehlo = await conn.command(`EHLO ${heloName}`, timeoutMs);
    if (ehlo.code === 250) return { conn, keywords: ehloKeywords(ehlo) };
    const helo = await conn.command(`HELO ${heloName}`, timeoutMs);
    if (helo.code !== 250) throw new SmtpError(`HELO: ${replyText(helo)}`, helo);
    return { conn, keywords: new Map() };
  } catch (err) {
    conn.destroy();
    throw err;
  }
}
