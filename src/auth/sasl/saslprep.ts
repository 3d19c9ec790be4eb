/**
 * SASLprep (RFC 4013) as SCRAM needs it (RFC 5802 2.2: Normalize(str)): non-ASCII spaces become
 * U+0020, "commonly mapped to nothing" characters go, then NFKC. Prohibited characters are not
 * refused: like PostgreSQL, a string that SASLprep would refuse is used as normalised, so the
 * same password always gives the same keys on our side and on the client's.
 */

// RFC 3454 C.1.2 (non-ASCII space characters).
const SPACES = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
// RFC 3454 B.1 (commonly mapped to nothing).
const NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200B-\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

export function saslprep(s: string): string {
  return s.replace(NOTHING, "").replace(SPACES, " ").normalize("NFKC");
}
