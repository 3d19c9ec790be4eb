/**
 * Header blocks (RFC 5322 2.2, 3.6): where one ends, and its fields with their raw bytes.
 *
 * Tolerant the way IMAP servers are: bare LF line endings; a line without a colon, or whose name
 * is not a valid field name, is kept as a field with name "" (it still belongs to the header, as
 * in Dovecot); a continuation line with no field before it likewise; a header with no blank line
 * runs to the next boundary delimiter or to the end of the message.
 */
import { CR, Finder, HTAB, LF, SP, eolBefore, headerText, isBlankLine, trimWsp, unfold } from "./bytes.js";
import type { BoundarySet, Delimiter } from "./boundary.js";
import { MIME_LIMITS } from "./limits.js";

export interface HeaderExtent {
  /** Offset just after the header: after the blank line, or where the header was cut. */
  end: number;
  /** True when a blank line ended the header, so a body follows. */
  blank: boolean;
  /** When no blank line came: the delimiter that cut the header, or null at the end of input. */
  term: Delimiter | null;
}

/**
 * Finds where headers end: after the first blank line or, inside a multipart, at a delimiter line
 * that comes first (RFC 2046 5.1.1; the line end before the delimiter belongs to the delimiter).
 * One per parse: its searches only move forward (see Finder).
 */
export class HeaderScanner {
  private readonly lf: Finder;
  private readonly crlf: Finder;

  constructor(private readonly raw: Buffer) {
    this.lf = new Finder(raw, Buffer.from("\n\n", "latin1"));
    this.crlf = new Finder(raw, Buffer.from("\n\r\n", "latin1"));
  }

  /** The extent of the header that starts at line start `start`. */
  extent(start: number, boundaries: BoundarySet): HeaderExtent {
    const raw = this.raw;
    let blank = start;
    if (!isBlankLine(raw, start)) {
      const a = this.lf.next(start);
      const b = this.crlf.next(start);
      const i = a < 0 ? b : b < 0 ? a : Math.min(a, b);
      blank = i < 0 ? -1 : i + 1;
    }
    const d = boundaries.next(start, blank < 0 ? raw.length : blank);
    if (d) return { end: Math.max(start, d.lineStart - eolBefore(raw, d.lineStart)), blank: false, term: d };
    if (blank < 0) return { end: raw.length, blank: false, term: null };
    return { end: blank + (raw[blank] === CR ? 2 : 1), blank: true, term: null };
  }
}

/** One header field: its raw octets [start, end) including folded lines and the final line end. */
export interface RawField {
  start: number;
  /** End of the name (= start for a line that is not `name ":"`: such a field has name ""). */
  nameEnd: number;
  /** Just after the colon (= start for a nameless line). */
  valueStart: number;
  end: number;
}

/** RFC 5322 3.6.8 ftext: printable US-ASCII except ":". */
const isFtext = (c: number) => c >= 33 && c <= 126 && c !== 58;

/**
 * Calls `each` for every field of the header block raw[start, end), in order, until it returns
 * false; stops at a blank line. Linear: every octet is looked at a bounded number of times.
 */
export function forEachField(raw: Buffer, start: number, end: number, each: (f: RawField) => boolean | void): void {
  let cur: RawField | null = null;
  let p = start;
  while (p < end) {
    const lf = raw.indexOf(LF, p);
    const next = lf < 0 || lf >= end ? end : lf + 1;
    if (isBlankLine(raw, p) && p + (raw[p] === CR ? 2 : 1) <= end) break;
    const c = raw[p]!;
    if ((c === SP || c === HTAB) && cur) {
      cur.end = next; // RFC 5322 2.2.3 folding: a continuation line
    } else {
      if (cur && each(cur) === false) return;
      // RFC 5322 3.6.8 field-name; obs-optional (4.5.8) allows WSP before the colon.
      let i = p;
      while (i < next && isFtext(raw[i]!)) i++;
      const nameEnd = i;
      while (i < next && (raw[i] === SP || raw[i] === HTAB)) i++;
      cur = nameEnd > p && raw[i] === 58 ? { start: p, nameEnd, valueStart: i + 1, end: next } : { start: p, nameEnd: p, valueStart: p, end: next };
    }
    p = next;
  }
  if (cur) each(cur);
}

/** The field's name as written ("" for a line without one). */
export function fieldName(raw: Buffer, f: RawField): string {
  return f.nameEnd === f.start ? "" : raw.toString("latin1", f.start, f.nameEnd);
}

/**
 * A field's value as text: octets decoded (UTF-8, else latin1), unfolded, trimmed. Values are
 * cut at MIME_LIMITS.maxFieldValue octets (at a UTF-8 character boundary).
 */
export function fieldValue(raw: Buffer, f: RawField): { text: string; utf8: boolean; cut: boolean } {
  let end = f.end;
  const cut = end - f.valueStart > MIME_LIMITS.maxFieldValue;
  if (cut) {
    end = f.valueStart + MIME_LIMITS.maxFieldValue;
    for (let k = 0; k < 3 && (raw[end]! & 0xc0) === 0x80; k++) end--;
  }
  const { text, utf8 } = headerText(raw.subarray(f.valueStart, end));
  return { text: trimWsp(unfold(text)), utf8, cut };
}

/** The header fields of a part, for BODY[HEADER.FIELDS (...)]: name as written, raw octets. */
export function headerLines(raw: Buffer, start: number, end: number): { name: string; raw: Buffer }[] {
  const out: { name: string; raw: Buffer }[] = [];
  const s = Math.max(0, Math.min(start, raw.length));
  const e = Math.max(s, Math.min(end, raw.length));
  forEachField(raw, s, e, (f) => {
    out.push({ name: fieldName(raw, f), raw: raw.subarray(f.start, f.end) });
  });
  return out;
}
