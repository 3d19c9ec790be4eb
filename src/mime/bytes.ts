/** Small helpers over the raw message bytes. */
import { isUtf8 } from "node:buffer";

export const LF = 0x0a;
export const CR = 0x0d;
export const SP = 0x20;
export const HTAB = 0x09;

/**
 * The next occurrence of a byte pattern at or after a position. The parse moves forward, so the
 * answer of the last search is reused while it is still ahead: each pattern's native search
 * then covers the message once in all, however many parts ask.
 */
export class Finder {
  private from = -1;
  private at = -1;
  constructor(
    private readonly raw: Buffer,
    private readonly pattern: Buffer,
  ) {}

  next(p: number): number {
    if (this.from < 0 || p < this.from || (this.at >= 0 && this.at < p)) {
      this.from = p;
      this.at = this.raw.indexOf(this.pattern, p);
    }
    return this.at;
  }
}

/** Number of LF octets in raw[start, end). */
export function countLF(raw: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) if (raw[i] === LF) n++;
  return n;
}

/** Length of the line ending just before `lineStart` (2 for CRLF, 1 for LF, 0 at the start). */
export function eolBefore(raw: Buffer, lineStart: number): number {
  if (lineStart <= 0 || raw[lineStart - 1] !== LF) return 0;
  return lineStart >= 2 && raw[lineStart - 2] === CR ? 2 : 1;
}

/** True when the line at `p` is empty (LF or CRLF). */
export function isBlankLine(raw: Buffer, p: number): boolean {
  const c = raw[p];
  return c === LF || (c === CR && raw[p + 1] === LF);
}

/**
 * Header octets as text: UTF-8 when they are valid UTF-8 (RFC 6532), latin1 otherwise, so that
 * any bytes give a string and 7-bit text is unchanged.
 */
export function headerText(bytes: Buffer): { text: string; utf8: boolean } {
  if (isUtf8(bytes)) return { text: bytes.toString("utf8"), utf8: true };
  return { text: bytes.toString("latin1"), utf8: false };
}

/** RFC 5322 2.2.3: unfolding removes the CRLF (or bare LF) in front of folding white space. */
export function unfold(s: string): string {
  return s.replace(/\r?\n/g, "");
}

const isWspCode = (c: number) => c === SP || c === HTAB || c === CR || c === LF;

/** Trim RFC 5322 WSP (and stray CR/LF) at both ends. A loop: `/\s+$/` is quadratic on long runs. */
export function trimWsp(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isWspCode(s.charCodeAt(a))) a++;
  while (b > a && isWspCode(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** Cut a string to at most `maxBytes` UTF-8 bytes, at a character boundary. */
export function cutUtf8(s: string, maxBytes: number): string {
  if (s.length * 3 <= maxBytes || Buffer.byteLength(s) <= maxBytes) return s;
  let cut = Buffer.from(s).subarray(0, maxBytes).toString("utf8");
  if (cut.endsWith("\uFFFD")) cut = cut.slice(0, -1);
  return cut;
}
