/**
 * IMAP data values and their encoding on the wire (RFC 9051 4). Responses are built as value
 * trees and encoded once, so that every string gets the right form: an atom as is, a string
 * quoted when it can be, else a literal; octets that may hold NUL as literal8 (BINARY).
 */

/** Written exactly as given: atoms, flags, "BODY[1]<0>" names. */
export class Atom {
  constructor(readonly text: string) {}
}

/** Octets sent as a literal8 (~{n}), for BINARY[] content (RFC 3516). */
export class Literal8 {
  constructor(readonly data: Buffer) {}
}

/**
 * Values written one after another with no space between them, inside the enclosing list: the
 * grammar's "1*body" of a multipart and "1*address" of an address list (RFC 9051 9).
 */
export class Run {
  constructor(readonly items: ImapValue[]) {}
}

/** null is NIL; arrays are parenthesised lists; strings and Buffers are IMAP strings. */
export type ImapValue = Atom | Literal8 | Run | string | Buffer | number | null | ImapValue[];

export const atom = (text: string) => new Atom(text);

/** Quoted form is usable for short text without CR, LF, NUL (and 8-bit only when UTF-8 is on). */
function quotable(s: string, utf8: boolean): boolean {
  if (s.length > 1024) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 10 || c === 13) return false;
    if (c > 127 && !utf8) return false;
  }
  return true;
}

/**
 * Encode a value. `utf8`: the client enabled UTF8=ACCEPT (or IMAP4rev2), so quoted strings may
 * carry UTF-8; otherwise 8-bit text goes as a literal.
 */
export function encodeValue(v: ImapValue, utf8: boolean, out: (string | Buffer)[] = []): (string | Buffer)[] {
  if (v === null) out.push("NIL");
  else if (typeof v === "number") out.push(String(v));
  else if (v instanceof Atom) out.push(v.text);
  else if (v instanceof Literal8) out.push(`~{${v.data.length}}\r\n`, v.data);
  else if (v instanceof Run) for (const item of v.items) encodeValue(item, utf8, out);
  else if (typeof v === "string") {
    if (quotable(v, utf8)) out.push(`"${v.replace(/[\\"]/g, (c) => "\\" + c)}"`);
    else {
      const b = Buffer.from(v, "utf8");
      out.push(`{${b.length}}\r\n`, b);
    }
  } else if (Buffer.isBuffer(v)) out.push(`{${v.length}}\r\n`, v);
  else {
    out.push("(");
    v.forEach((item, i) => {
      if (i > 0) out.push(" ");
      encodeValue(item, utf8, out);
    });
    out.push(")");
  }
  return out;
}

/** The encoded value as one Buffer. */
export function encodeToBuffer(v: ImapValue, utf8: boolean): Buffer {
  return Buffer.concat(encodeValue(v, utf8).map((p) => (typeof p === "string" ? Buffer.from(p, "utf8") : p)));
}
