/**
 * Header blocks (RFC 5322 2.2, 3.6): where one ends, and its fields with their raw bytes.
 *
 * Tolerant the way IMAP servers are: bare LF line endings; a line without a colon, or whose name
 * is not a valid field name, is kept as a field with name "" (it still belongs to the header, as
 * in Dovecot); a continuation line with no field before it likewise; a header with no blank line
 * runs to the next boundary delimiter or to the end of the message.
 */
import { CR, HTAB, LF, SP, eolBefore, headerText, isBlankLine, trimWsp, unfold } from "./bytes.js";
import type { BoundarySet, Delimiter } from "./boundary.js";

export interface HeaderExtent {
  /** Offset just after the header: after the blank line, or where the header was cut. */
  end: number;
  /** True when a blank line ended the header, so a body follows. */
  blank: boolean;
  /** When no blank line came: the delimiter that cut the header, or null at the end of input. */
  term: Delimiter | null;
}

/**
 * Where the header starting at line start `start` ends: after the first blank line or, inside a
 * multipart, where a delimiter line comes first (RFC 2046 5.1.1; the line end before the
 * delimiter belongs to the delimiter). Only the header's own lines are looked at, so the cost is
 * linear in the header's size.
 */
export function headerExtent(raw: Buffer, start: number, boundaries: BoundarySet): HeaderExtent {
  for (let p = start; p < raw.length; ) {
    if (isBlankLine(raw, p)) return { end: p + (raw[p] === CR ? 2 : 1), blank: true, term: null };
    const d = boundaries.matchAt(p);
    if (d) return { end: Math.max(start, p - eolBefore(raw, p)), blank: false, term: d };
    const lf = raw.indexOf(LF, p);
    if (lf < 0) break;
    p = lf + 1;
  }
  return { end: raw.length, blank: false, term: null };
}

/** One header field: its raw octets [start, end) including folded lines and the final line end. */
export interface RawField {
  /** The name as written, or "" for a line that is not `name ":"`. */
  name: string;
  start: number;
  /** Just after the colon (= start for a nameless line). */
  valueStart: number;
  end: number;
}

/** RFC 5322 3.6.8 ftext: printable US-ASCII except ":". */
const isFtext = (c: number) => c >= 33 && c <= 126 && c !== 58;

/**
 * Calls `each` for every field of the header block raw[start, end), in order; stops at a blank
 * line. Linear: every octet is looked at a bounded number of times.
 */
export function forEachField(raw: Buffer, start: number, end: number, each: (f: RawField) => void): void {
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
      if (cur) each(cur);
      // RFC 5322 3.6.8 field-name; obs-optional (4.5.8) allows WSP before the colon.
      let i = p;
      while (i < next && isFtext(raw[i]!)) i++;
      const nameEnd = i;
      while (i < next && (raw[i] === SP || raw[i] === HTAB)) i++;
      cur =
        nameEnd > p && raw[i] === 58
          ? { name: raw.toString("latin1", p, nameEnd), start: p, valueStart: i + 1, end: next }
          : { name: "", start: p, valueStart: p, end: next };
    }
    p = next;
  }
  if (cur) each(cur);
}

/** A field's value as text: octets decoded (UTF-8, else latin1), unfolded, trimmed. */
export function fieldValue(raw: Buffer, f: RawField): { text: string; utf8: boolean } {
  const { text, utf8 } = headerText(raw.subarray(f.valueStart, f.end));
  return { text: trimWsp(unfold(text)), utf8 };
}

/** The header fields of a part, for BODY[HEADER.FIELDS (...)]: name as written, raw octets. */
export function headerLines(raw: Buffer, start: number, end: number): { name: string; raw: Buffer }[] {
  const out: { name: string; raw: Buffer }[] = [];
  const s = Math.max(0, Math.min(start, raw.length));
  const e = Math.max(s, Math.min(end, raw.length));
  forEachField(raw, s, e, (f) => out.push({ name: f.name, raw: raw.subarray(f.start, f.end) }));
  return out;
}
