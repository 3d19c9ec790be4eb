/**
 * Bytes received and not yet consumed by the session. Command lines end only at CRLF
 * (RFC 5321 2.3.8: a bare LF is not a line ending); an over-long line is an event, not a
 * buffer: it is discarded up to its CRLF and reported as TOO_LONG.
 */
export const TOO_LONG = Symbol("line too long");

export class InputBuffer {
  private chunks: Buffer[] = [];
  private total = 0;
  private discarding = false;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  unshift(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.unshift(chunk);
    this.total += chunk.length;
  }

  clear(): number {
    const n = this.total;
    this.chunks = [];
    this.total = 0;
    this.discarding = false;
    return n;
  }

  /** Take everything buffered (for message content). */
  shift(max = Infinity): Buffer | null {
    const c = this.chunks[0];
    if (!c) return null;
    if (c.length <= max) {
      this.chunks.shift();
      this.total -= c.length;
      return c;
    }
    this.chunks[0] = c.subarray(max);
    this.total -= max;
    return c.subarray(0, max);
  }

  /**
   * The next line without its CRLF, TOO_LONG when a line exceeded `limit` octets (CRLF
   * included; it has then been discarded through its CRLF), or null when no full line is here.
   */
  takeLine(limit: number): Buffer | typeof TOO_LONG | null {
    if (this.total === 0) return null;
    const buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.total);
    const eol = buf.indexOf("\r\n");
    if (this.discarding) {
      if (eol < 0) {
        // Keep a trailing CR: its LF may come in the next chunk.
        this.set(buf[buf.length - 1] === 13 ? buf.subarray(buf.length - 1) : null);
        return null;
      }
      this.discarding = false;
      this.set(buf.subarray(eol + 2));
      return TOO_LONG;
    }
    if (eol < 0) {
      if (buf.length > limit) {
        this.discarding = true;
        this.set(buf[buf.length - 1] === 13 ? buf.subarray(buf.length - 1) : null);
        return this.takeLine(limit) === TOO_LONG ? TOO_LONG : null;
      }
      this.set(buf);
      return null;
    }
    this.set(buf.subarray(eol + 2));
    if (eol + 2 > limit) return TOO_LONG;
    return buf.subarray(0, eol);
  }

  private set(b: Buffer | null): void {
    this.chunks = b && b.length ? [b] : [];
    this.total = b ? b.length : 0;
  }
}
