/**
 * An in-memory SessionTransport: what the session writes is collected, and a test reads it
 * back reply by reply. Flow control is observable (pause/resume) and can be forced (full()).
 */
import type { TlsInfo } from "../../src/smtp/handler.js";
import type { SessionTransport } from "../../src/smtp/session/transport.js";

export class MemoryTransport implements SessionTransport {
  readonly remoteAddress: string;
  readonly remotePort = 40000;
  readonly localAddress = "127.0.0.1";
  readonly localPort = 25;
  tls?: TlsInfo;

  /** Every write() call, in order (a pipelined group of replies is one write). */
  readonly writes: string[] = [];
  /** Written and not yet taken by takeReply(). */
  private unread = "";
  closed = false;
  paused = false;
  pauses = 0;
  /** When true, write() reports a full buffer (the peer is not reading). */
  full = false;
  /** Bytes written after close() (must stay empty). */
  writesAfterClose = 0;
  private waiters: (() => void)[] = [];

  constructor(opts: { remoteAddress?: string; tls?: TlsInfo } = {}) {
    this.remoteAddress = opts.remoteAddress ?? "192.0.2.1";
    this.tls = opts.tls;
  }

  write(data: string): boolean {
    if (this.closed) this.writesAfterClose += data.length;
    this.writes.push(data);
    this.unread += data;
    this.wake();
    return !this.full;
  }

  async waitDrain(): Promise<void> {}

  async startTls(): Promise<TlsInfo> {
    this.tls = { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384" };
    return this.tls;
  }

  pause(): void {
    this.paused = true;
    this.pauses++;
  }

  resume(): void {
    this.paused = false;
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Everything written so far. */
  get output(): string {
    return this.writes.join("");
  }

  /** Take one complete reply (all its lines) from the unread output, or null. */
  takeReply(): string | null {
    let pos = 0;
    for (;;) {
      const eol = this.unread.indexOf("\r\n", pos);
      if (eol < 0) return null;
      const line = this.unread.slice(pos, eol);
      pos = eol + 2;
      if (line[3] !== "-") {
        const r = this.unread.slice(0, pos);
        this.unread = this.unread.slice(pos);
        return r;
      }
    }
  }

  /** Unread output (replies not taken yet). */
  get rest(): string {
    return this.unread;
  }

  /** Resolves on the next write or close. */
  changed(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
