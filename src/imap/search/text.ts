/** Text matching for SEARCH: case-insensitive substrings (Unicode aware) and header fields. */
import type { ParsedMessage } from "../../mime/index.js";

const hasNonAscii = /[^\x00-\x7f]/;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/**
 * A case-insensitive substring test: a regular expression with Unicode simple case folding, so
 * that no lower-cased copy of the text is made. Text that is not in NFC is normalised first
 * (only when the plain test fails and the text has non-ASCII characters).
 */
export function substring(needle: string): (hay: string) => boolean {
  const n = needle.normalize("NFC");
  if (n === "") return () => true;
  const re = new RegExp(escapeRe(n), "iu");
  return (hay) => {
    if (re.test(hay)) return true;
    if (!hasNonAscii.test(hay)) return false;
    const norm = hay.normalize("NFC");
    return norm !== hay && re.test(norm);
  };
}

/**
 * Header key: some field named `field` whose decoded value contains `value` (every message with
 * the field when the value is empty). searchHeaders holds "Name: value\n" lines.
 */
export function headerTest(field: string, value: string): (parsed: ParsedMessage) => boolean {
  const line = new RegExp(`^${escapeRe(field)}:[ \\t]?([^\\n]*)`, "gim");
  const match = substring(value);
  const empty = value === "";
  return (parsed) => {
    const h = parsed.searchHeaders;
    line.lastIndex = 0;
    for (let m = line.exec(h); m !== null; m = line.exec(h)) {
      if (empty || match(m[1]!)) return true;
    }
    return false;
  };
}
