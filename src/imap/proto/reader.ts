/**
 * Framing of IMAP commands (RFC 9051 2.2, 4.3): a command is CRLF-terminated lines joined by
 * literals. A line that ends with "{n}" announces n octets of literal after its CRLF; the client
 * waits for a "+" continuation first (synchronising literal), except with "{n+}" (LITERAL+,
 * RFC 7888). "~{n}" is a literal8 (RFC 3516) with the same framing.
 *
 * The reader is bounded: each line is at most `maxLine` octets; a literal at most `maxLiteral`
 * octets (`maxAppendLiteral` in APPEND); a whole command at most twice its literal limit plus a
 * few lines. An over-limit input is an event, never a buffer:
 * - a synchronising literal too big is refused at once (no "+" is sent, so the client sends
 *   nothing more for this command: RFC 9051 7.5);
 * - a non-synchronising literal too big is skipped octet by octet, the command through its
 *   final CRLF too, then reported;
 * - a line too long cannot be framed (it may have announced a literal) and ends the connection.
 *
 * The output command keeps the literals in place, "{n}\r\n" + octets, for the parser.
 */
export interface ReaderLimits {
  maxLine: number;
  maxLiteral: number;
  maxAppendLiteral: number;
}

export type ReadEvent =
  /** A complete command: its lines and literals, without the final CRLF. */
  | { kind: "command"; data: Buffer }
  /** A synchronising literal was accepted: send "+ ..." to the client. */
  | { kind: "continue" }
  /** A literal over the limit: answer `tag NO [TOOBIG]`; the command is gone. */
  | { kind: "toobig"; tag: string | null }
  /** A line over the limit: answer BAD, then close (framing is lost). */
  | { kind: "toolong"; tag: string | null };

export const TOO_LONG = Symbol("line too long");

const LITERAL_AT_END = /(~?)\{(\d{1,20})(\+?)\}$/;

export class CommandReader {
  private buf: Buffer = Buffer.alloc(0);
  private parts: Buffer[] = [];
  private size = 0;
  /** Octets of literal still to copy into the command. */
  private literalLeft = 0;
  /** Octets of an over-limit literal still to skip. */
  private skipLeft = 0;
  /** The command is being skipped after an over-limit literal. */
  private failed = false;
  private tag: string | null = null;
  private isAppend = false;
  /** Nothing more is read after a framing error. */
  private broken = false;
  /**
   * APPEND may use maxAppendLiteral. The session clears this until login: before it, APPEND is
   * refused anyway, and a client must not get "+" for (and make us buffer) a message-sized
   * literal without credentials; maxLiteral applies then.
   */
  appendAllowed = true;

  constructor(private readonly limits: ReaderLimits) {}

  /** Octets waiting to be processed. */
  get length(): number {
    return this.buf.length;
  }

  /** In the middle of a command (some lines or a literal received). */
  get inCommand(): boolean {
    return this.parts.length > 0 || this.literalLeft > 0 || this.skipLeft > 0;
  }

  push(chunk: Buffer): void {
    if (this.broken || chunk.length === 0) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /** Drop everything buffered and any partial command (STARTTLS); returns the octet count. */
  clear(): number {
    const n = this.buf.length;
    this.buf = Buffer.alloc(0);
    this.reset();
    return n;
  }

  private reset(): void {
    this.parts = [];
    this.size = 0;
    this.literalLeft = 0;
    this.skipLeft = 0;
    this.failed = false;
    this.tag = null;
    this.isAppend = false;
  }

  /**
   * One line without its CRLF (IDLE's DONE, AUTHENTICATE responses), TOO_LONG (the line was
   * skipped through its CRLF), or null when none is complete yet.
   */
  takeLine(limit: number): Buffer | typeof TOO_LONG | null {
    const eol = this.buf.indexOf("\r\n");
    if (eol < 0) {
      if (this.buf.length > limit) {
        this.broken = true;
        this.buf = Buffer.alloc(0);
        return TOO_LONG;
      }
      return null;
    }
    const line = this.buf.subarray(0, eol);
    this.buf = this.buf.subarray(eol + 2);
    return eol > limit ? TOO_LONG : line;
  }

  next(): ReadEvent | null {
    if (this.broken) return null;
    for (;;) {
      if (this.skipLeft > 0) {
        const n = Math.min(this.skipLeft, this.buf.length);
        this.buf = this.buf.subarray(n);
        this.skipLeft -= n;
        if (this.skipLeft > 0) return null;
      }
      if (this.literalLeft > 0) {
        const n = Math.min(this.literalLeft, this.buf.length);
        if (n === 0) return null;
        this.add(Buffer.from(this.buf.subarray(0, n)));
        this.buf = this.buf.subarray(n);
        this.literalLeft -= n;
        if (this.literalLeft > 0) return null;
      }
      const eol = this.buf.indexOf("\r\n");
      if (eol < 0 ? this.buf.length > this.limits.maxLine : eol > this.limits.maxLine) {
        const tag = this.tag ?? tagOf(this.buf);
        this.broken = true;
        this.buf = Buffer.alloc(0);
        this.reset();
        return { kind: "toolong", tag };
      }
      if (eol < 0) return null;
      const line = this.buf.subarray(0, eol);
      this.buf = this.buf.subarray(eol + 2);
      if (this.parts.length === 0) {
        this.tag = tagOf(line);
        this.isAppend = /^\S+ APPEND /i.test(line.subarray(0, 200).toString("latin1"));
      }
      const tail = line.subarray(Math.max(0, line.length - 25)).toString("latin1");
      const m = LITERAL_AT_END.exec(tail);
      if (!m) {
        this.add(line);
        const data = Buffer.concat(this.parts);
        const failed = this.failed;
        const tag = this.tag;
        this.reset();
        if (failed) return { kind: "toobig", tag };
        return { kind: "command", data };
      }
      const n = Number(m[2]);
      const sync = m[3] !== "+";
      const limit = this.isAppend && this.appendAllowed ? this.limits.maxAppendLiteral : this.limits.maxLiteral;
      const tooBig = this.failed || n > limit || this.size + n > 2 * limit + 8 * this.limits.maxLine;
      if (tooBig) {
        if (sync) {
          // No continuation is sent, so the client sends neither the literal nor the rest.
          const tag = this.tag;
          this.reset();
          return { kind: "toobig", tag };
        }
        this.failed = true;
        this.parts = [Buffer.from("x")];
        this.skipLeft = n;
        continue;
      }
      this.add(line);
      this.add(Buffer.from("\r\n"));
      this.literalLeft = n;
      if (sync) return { kind: "continue" };
    }
  }

  private add(b: Buffer): void {
    if (this.failed) return;
    this.parts.push(b);
    this.size += b.length;
  }
}

/** The tag of a command line, if it has a plausible one. */
function tagOf(line: Buffer): string | null {
  const s = line.subarray(0, 64).toString("latin1");
  const m = /^([\x21-\x7e]{1,60}?)(?: |$)/.exec(s);
  if (!m || /[(){%*"\\+\]]/.test(m[1]!)) return null;
  return m[1]!;
}
