/**
 * The octets of BODY[section] (RFC 9051 6.4.5) and BINARY[section] (RFC 3516) from the raw
 * message and its parsed tree. Partial fetches (<origin.count>) are the engine's slice.
 */
import libqp from "libqp";
import { findPart, headerLines, type MimePart, type ParsedMessage } from "../../mime/index.js";
import type { SectionSpec } from "../types.js";

const CRLF = Buffer.from("\r\n", "latin1");

const isMessage = (p: MimePart) => p.type === "message" && p.children.length === 1;

const clamp = (raw: Buffer, start: number, end: number) => {
  const s = Math.max(0, Math.min(start, raw.length));
  return raw.subarray(s, Math.max(s, Math.min(end, raw.length)));
};

/**
 * HEADER.FIELDS (names) / HEADER.FIELDS.NOT (names) of the header block raw[start, end): the
 * matching fields whole (folded lines included), in message order, then the blank line.
 * Field names compare case-insensitively; a line that is not a field never matches a name.
 */
function headerFields(raw: Buffer, start: number, end: number, names: readonly string[], not: boolean): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const out: Buffer[] = [];
  for (const f of headerLines(raw, start, end)) {
    const hit = f.name !== "" && wanted.has(f.name.toLowerCase());
    if (hit === not) continue;
    out.push(f.raw);
    // A last field cut by the end of the message gets its line end, so that the blank line is one.
    if (f.raw.length === 0 || f.raw[f.raw.length - 1] !== 0x0a) out.push(CRLF);
  }
  out.push(CRLF);
  return Buffer.concat(out);
}

/** The header and body extents of the message whose header the HEADER/TEXT specifiers name. */
function messageOf(parsed: ParsedMessage, part: readonly number[]): { headerStart: number; headerEnd: number; bodyEnd: number } | null {
  if (part.length === 0) return { headerStart: parsed.root.headerStart, headerEnd: parsed.headerEnd, bodyEnd: parsed.size };
  const p = findPart(parsed.root, part.join("."));
  // RFC 9051 6.4.5: with a part number, HEADER/TEXT apply to message/rfc822 (message/global) parts.
  if (p === null || !isMessage(p)) return null;
  const inner = p.children[0]!;
  return { headerStart: inner.headerStart, headerEnd: inner.headerEnd, bodyEnd: p.bodyEnd };
}

/**
 * BODY[section]: the octets, or null when the section does not exist (no such part, MIME of the
 * whole message, HEADER/TEXT of a part that is not a message).
 */
export function sectionBytes(raw: Buffer, parsed: ParsedMessage, spec: SectionSpec): Buffer | null {
  const { part, text } = spec;
  if (part.some((n) => !Number.isInteger(n) || n < 1)) return null;
  if (text === undefined || text === "MIME") {
    if (part.length === 0) return text === undefined ? raw : null;
    const p = findPart(parsed.root, part.join("."));
    if (p === null) return null;
    return text === "MIME" ? clamp(raw, p.headerStart, p.headerEnd) : clamp(raw, p.bodyStart, p.bodyEnd);
  }
  const m = messageOf(parsed, part);
  if (m === null) return null;
  switch (text) {
    case "HEADER":
      return clamp(raw, m.headerStart, m.headerEnd);
    case "TEXT":
      return clamp(raw, m.headerEnd, m.bodyEnd);
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT":
      return headerFields(raw, m.headerStart, m.headerEnd, spec.fields ?? [], text === "HEADER.FIELDS.NOT");
  }
  return null;
}

/**
 * BINARY[part] (RFC 3516 4.2): the part's content with its Content-Transfer-Encoding undone.
 * null when the part does not exist; "unknown-cte" for an encoding we cannot undo (the engine
 * answers NO [UNKNOWN-CTE]). The whole message, multiparts and messages are sent as they are.
 */
export function binaryBytes(raw: Buffer, parsed: ParsedMessage, part: number[]): Buffer | "unknown-cte" | null {
  if (part.length === 0) return raw;
  if (part.some((n) => !Number.isInteger(n) || n < 1)) return null;
  const p = findPart(parsed.root, part.join("."));
  if (p === null) return null;
  const body = clamp(raw, p.bodyStart, p.bodyEnd);
  if (p.type === "multipart") return body;
  switch (p.encoding) {
    case "7BIT":
    case "8BIT":
    case "BINARY":
      return body;
    case "BASE64":
      // Buffer's decoder skips line breaks and octets outside the alphabet.
      return Buffer.from(body.toString("latin1"), "base64");
    case "QUOTED-PRINTABLE":
      return libqp.decode(body);
    default:
      return "unknown-cte";
  }
}
