/** The text IMAP SEARCH looks in, extracted once at delivery, and the attachment count. */
import { cutUtf8 } from "./bytes.js";
import { fieldName, fieldValue, forEachField } from "./header.js";
import { htmlToText } from "./html.js";
import { MIME_LIMITS } from "./limits.js";
import { walkParts } from "./section.js";
import { charsetDecode, transferDecode } from "./text.js";
import { decodeWords } from "./words.js";
import type { MimePart } from "./types.js";

/** Collects text up to a number of UTF-8 bytes. */
class Budget {
  private readonly out: string[] = [];
  private left: number;
  constructor(max: number) {
    this.left = max;
  }
  get full(): boolean {
    return this.left <= 0;
  }
  get remaining(): number {
    return this.left;
  }
  add(s: string): void {
    if (this.left <= 0 || s === "") return;
    const cut = cutUtf8(s, this.left);
    this.out.push(cut);
    this.left -= Buffer.byteLength(cut);
    if (cut.length < s.length) this.left = 0;
  }
  toString(): string {
    return this.out.join("");
  }
}

/** "Name: value\n" for every field of the header block, unfolded and RFC 2047 decoded. */
export function searchHeaders(raw: Buffer, start: number, end: number): string {
  const b = new Budget(MIME_LIMITS.maxSearchHeaders);
  forEachField(raw, start, end, (f) => {
    const name = fieldName(raw, f);
    const value = decodeWords(fieldValue(raw, f).text);
    b.add(name === "" ? `${value}\n` : `${name}: ${value}\n`);
    return !b.full;
  });
  return b.toString();
}

/** Decoded text/plain and text/html content of the tree, joined by line breaks, bounded. */
export function searchBody(raw: Buffer, root: MimePart): string {
  const b = new Budget(MIME_LIMITS.maxSearchBody);
  for (const p of walkParts(root)) {
    if (b.full) break;
    if (p.type !== "text" || (p.subtype !== "plain" && p.subtype !== "html") || p.size === 0) continue;
    // Decode no more input than could fill what is left (QP and charsets can triple it).
    const take = Math.min(p.size, b.remaining * 4 + 4096);
    let text: string;
    try {
      const bytes = transferDecode(raw.subarray(p.bodyStart, p.bodyStart + take), p.encoding);
      text = charsetDecode(bytes, Object.hasOwn(p.params, "charset") ? p.params["charset"] : undefined);
      if (p.subtype === "html") text = htmlToText(text);
    } catch {
      continue; // third-party decoders on hostile bytes: a part we cannot read is not searched
    }
    if (text.trim() === "") continue;
    b.add(text.endsWith("\n") ? text : `${text}\n`);
  }
  return b.toString();
}

/** RFC 2183: a part is an attachment by its disposition, or when it carries a file name. */
export function isAttachment(p: MimePart): boolean {
  if (p.disposition?.type === "attachment") return true;
  const has = (o: Record<string, string> | undefined, k: string) => o !== undefined && Object.hasOwn(o, k) && o[k] !== "";
  return has(p.disposition?.params, "filename") || has(p.params, "name");
}

export function countAttachments(root: MimePart): number {
  let n = 0;
  for (const p of walkParts(root)) if (isAttachment(p)) n++;
  return n;
}
