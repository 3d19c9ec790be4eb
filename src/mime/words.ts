/** RFC 2047 encoded-words in header text, decoded by libmime (charsets through iconv-lite). */
import libmime from "libmime";
import { MIME_LIMITS } from "./limits.js";

/**
 * Decodes the encoded-words of an unfolded header value; text that is not an encoded-word is
 * kept. Whitespace between adjacent encoded-words is dropped (RFC 2047 6.2). Values longer than
 * MIME_LIMITS.maxDecodedField are cut first. Never throws.
 */
export function decodeWords(value: string): string {
  const v = value.length > MIME_LIMITS.maxDecodedField ? value.slice(0, MIME_LIMITS.maxDecodedField) : value;
  if (!v.includes("=?")) return v;
  try {
    return libmime.decodeWords(v);
  } catch {
    return v;
  }
}
