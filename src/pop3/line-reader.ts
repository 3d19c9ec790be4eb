/**
 * Command lines of a POP3 session: CRLF-terminated, at most `limit` octets with the CRLF
 * (RFC 2449 4: 255). An over-long line is an event, not a buffer: it is discarded through its
 * CRLF and reported as TOO_LONG.
 */
export const TOO_LONG = Symbol("line too long");

export class LineReader {
  private buf: Buffer = Buffer.alloc(0);
  private discarding = false;

  get length(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): void {
    if (chunk.length) this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /** Drop everything buffered (STLS: plaintext pipelined after the command); returns the count. */
  clear(): number {
    const n = this.buf.length;
    this.buf = Buffer.alloc(0);
    this.discarding = false;
    return n;
  }

  /** The first n buffered octets as latin1, left in the buffer. */
  peek(n: number): string {
    return this.buf.subarray(0, n).toString("latin1");
  }

  /** The next line without CRLF, TOO_LONG, or null when no complete line is buffered. */
  takeLine(limit: number): Buffer | typeof TOO_LONG | null {
    const eol = this.buf.indexOf("\r\n");
    if (this.discarding) {
      if (eol < 0) {
        // Keep a trailing CR: its LF may come with the next chunk.
        this.buf = this.buf[this.buf.length - 1] === 13 ? this.buf.subarray(this.buf.length - 1) : Buffer.alloc(0);
        return null;
      }
      this.discarding = false;
      this.buf = this.buf.subarray(eol + 2);
      return TOO_LONG;
    }
    if (eol < 0) {
      if (this.buf.length >= limit) {
        this.discarding = true;
        return this.takeLine(limit);
      }
      return null;
    }
    const line = this.buf.subarray(0, eol);
    this.buf = this.buf.subarray(eol + 2);
    if (eol + 2 > limit) return TOO_LONG;
    return line;
  }
}
