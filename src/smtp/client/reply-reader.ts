/**
 * Reads the server's replies from the bytes it sends (RFC 5321 4.2): lines "ddd-text" continue a
 * reply, "ddd text" (or "ddd") ends it. Bounded: a line or a reply that grows past the limits is
 * a protocol error, never a growing buffer. Sans-I/O: the socket adapter pushes bytes in.
 */
export interface ServerReply {
  readonly code: number;
  /** RFC 3463 enhanced code of the first line, when the server sent one. */
  readonly enhanced?: string;
  /** Text of each line, the enhanced code removed. */
  readonly lines: readonly string[];
}

export class ReplySyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReplySyntaxError";
  }
}

/** RFC 5321 4.5.3.1.5: a reply line is at most 512 octets; we tolerate more, within reason. */
export const MAX_REPLY_LINE = 4096;
export const MAX_REPLY_LINES = 200;

const LINE = /^(\d{3})([ -]|$)(.*)$/s;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

export class ReplyReader {
  private pending: Buffer = Buffer.alloc(0);
  private lines: string[] = [];
  private code = 0;

  /** Bytes from the server in; complete replies out. Throws ReplySyntaxError on garbage. */
  push(chunk: Buffer): ServerReply[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: ServerReply[] = [];
    let start = 0;
    for (;;) {
      const nl = this.pending.indexOf(0x0a, start);
      if (nl < 0) break;
      const end = nl > start && this.pending[nl - 1] === 0x0d ? nl - 1 : nl;
      const r = this.line(this.pending.subarray(start, end).toString("utf8"));
      if (r) out.push(r);
      start = nl + 1;
    }
    this.pending = this.pending.subarray(start);
    if (this.pending.length > MAX_REPLY_LINE) throw new ReplySyntaxError("reply line too long");
    return out;
  }

  /** Bytes received but not yet part of a complete reply (after STARTTLS this must be empty). */
  get buffered(): boolean {
    return this.pending.length > 0 || this.lines.length > 0;
  }

  private line(text: string): ServerReply | undefined {
    if (text.length > MAX_REPLY_LINE) throw new ReplySyntaxError("reply line too long");
    const m = LINE.exec(text);
    if (!m) throw new ReplySyntaxError(`not an SMTP reply line: ${JSON.stringify(text.slice(0, 80))}`);
    const code = Number(m[1]);
    if (code < 200 || code > 599) throw new ReplySyntaxError(`reply code out of range: ${code}`);
    if (this.lines.length > 0 && code !== this.code) throw new ReplySyntaxError("reply code changed inside a multi-line reply");
    this.code = code;
    this.lines.push(m[3]!);
    if (this.lines.length > MAX_REPLY_LINES) throw new ReplySyntaxError("reply has too many lines");
    if (m[2] === "-") return undefined;
    const lines = this.lines;
    this.lines = [];
    return parsedReply(code, lines);
  }
}

/** Split the enhanced code off each line (RFC 2034 3: every line carries it). */
export function parsedReply(code: number, raw: readonly string[]): ServerReply {
  let enhanced: string | undefined;
  const first = ENHANCED.exec(raw[0] ?? "");
  if (first && first[1] === String(code)[0]) enhanced = `${first[1]}.${first[2]}.${first[3]}`;
  const lines = raw.map((l) => {
    if (!enhanced) return l;
    const m = ENHANCED.exec(l);
    return m ? l.slice(m[0].length) : l;
  });
  return enhanced ? { code, enhanced, lines } : { code, lines };
}

/** One line for logs, queue rows and DSNs: "550 5.1.1 <x@y>: no such user" (lines joined by " / "). */
export function replyString(r: ServerReply): string {
  const text = r.lines.filter((l) => l !== "").join(" / ");
  return [String(r.code), r.enhanced, text].filter((x) => x !== undefined && x !== "").join(" ");
}
