/**
 * A cursor over one framed command (see reader.ts): the grammar pieces of RFC 9051 9 that every
 * command parser uses. Failures throw ParseError, which the session answers with BAD; nothing
 * else escapes. Nesting is bounded (MAX_DEPTH) so hostile parentheses cannot exhaust the stack.
 */
import type { SeqRange, SequenceSet } from "../types.js";

export class ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParseError";
  }
}

export const MAX_DEPTH = 32;
/** Sequence sets with more ranges than this are refused (a client sends far fewer). */
export const MAX_SET_RANGES = 100_000;

const SP = 0x20;
const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

/** ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ] (RFC 9051 9). */
function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x25 && c !== 0x2a && c !== 0x22 && c !== 0x5c && c !== 0x5d;
}

/** ASTRING-CHAR: ATOM-CHAR or "]". */
function isAstringChar(c: number): boolean {
  return isAtomChar(c) || c === 0x5d;
}

export class Parser {
  pos = 0;
  depth = 0;

  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  peek(): number {
    return this.pos < this.buf.length ? this.buf[this.pos]! : -1;
  }

  /** The next n characters (upper case), for look-ahead. */
  peekUpper(n: number): string {
    return this.buf.subarray(this.pos, this.pos + n).toString("latin1").toUpperCase();
  }

  fail(what: string): never {
    throw new ParseError(what);
  }

  sp(): void {
    if (this.peek() !== SP) this.fail("expected a space");
    this.pos++;
  }

  maybeSp(): boolean {
    if (this.peek() !== SP) return false;
    this.pos++;
    return true;
  }

  char(c: string): void {
    if (this.peek() !== c.charCodeAt(0)) this.fail(`expected "${c}"`);
    this.pos++;
  }

  maybeChar(c: string): boolean {
    if (this.peek() !== c.charCodeAt(0)) return false;
    this.pos++;
    return true;
  }

  end(): void {
    if (!this.done) this.fail("unexpected characters at end of command");
  }

  /** 1*ATOM-CHAR, as written. */
  atom(): string {
    const start = this.pos;
    while (isAtomChar(this.peek())) this.pos++;
    if (this.pos === start) this.fail("expected an atom");
    return this.buf.toString("latin1", start, this.pos);
  }

  /** An atom of letters, digits, ".", "-", "=" and the like, upper case (command and option names). */
  keyword(): string {
    return this.atom().toUpperCase();
  }

  /** Command tag: 1*<ASTRING-CHAR except "+">. */
  tag(): string {
    const start = this.pos;
    while (isAstringChar(this.peek()) && this.peek() !== 0x2b) this.pos++;
    if (this.pos === start) this.fail("missing tag");
    return this.buf.toString("latin1", start, this.pos);
  }

  number(): number {
    const start = this.pos;
    while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
    if (this.pos === start || this.pos - start > 20) this.fail("expected a number");
    const n = Number(this.buf.toString("latin1", start, this.pos));
    if (!Number.isSafeInteger(n)) this.fail("number too large");
    return n;
  }

  /** number (32-bit unsigned, non-zero). */
  nz32(): number {
    const n = this.number();
    if (n === 0 || n > 0xffffffff) this.fail("expected a non-zero 32-bit number");
    return n;
  }

  /** mod-sequence-value: 1*DIGIT up to 2^63-1 (we keep it to safe integers). */
  modseq(): number {
    return this.number();
  }

  /** "quoted" with \" and \\ escapes; octets are returned as they are. */
  quoted(): Buffer {
    this.char('"');
    const out: number[] = [];
    for (;;) {
      const c = this.peek();
      if (c < 0) this.fail("unterminated quoted string");
      this.pos++;
      if (c === 0x22) break;
      if (c === 0x5c) {
        const e = this.peek();
        if (e !== 0x22 && e !== 0x5c) this.fail("invalid escape in quoted string");
        this.pos++;
        out.push(e);
      } else if (c === 0 || c === 0x0a || c === 0x0d) this.fail("invalid character in quoted string");
      else out.push(c);
    }
    return Buffer.from(out);
  }

  /** "{n}" / "{n+}" / "~{n}" (when `allow8`) CRLF and the n octets. */
  literal(allow8 = false): { data: Buffer; binary: boolean } {
    let binary = false;
    if (this.peek() === 0x7e) {
      if (!allow8) this.fail("literal8 not allowed here");
      binary = true;
      this.pos++;
    }
    this.char("{");
    const n = this.number();
    this.maybeChar("+");
    this.char("}");
    if (this.buf[this.pos] !== 0x0d || this.buf[this.pos + 1] !== 0x0a) this.fail("expected CRLF after literal length");
    this.pos += 2;
    if (this.pos + n > this.buf.length) this.fail("literal truncated");
    const data = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    if (!binary && data.includes(0)) this.fail("NUL in literal");
    return { data, binary };
  }

  /** string = quoted / literal, as octets. */
  stringBytes(): Buffer {
    const c = this.peek();
    if (c === 0x22) return this.quoted();
    if (c === 0x7b) return this.literal().data;
    return this.fail("expected a string");
  }

  string(): string {
    return this.stringBytes().toString("utf8");
  }

  /** astring = 1*ASTRING-CHAR / string. */
  astringBytes(): Buffer {
    const c = this.peek();
    if (c === 0x22 || c === 0x7b) return this.stringBytes();
    const start = this.pos;
    while (isAstringChar(this.peek())) this.pos++;
    if (this.pos === start) this.fail("expected an atom or a string");
    return this.buf.subarray(start, this.pos);
  }

  astring(): string {
    return this.astringBytes().toString("utf8");
  }

  /** nstring = string / NIL. */
  nstring(): string | null {
    if (this.peekUpper(3) === "NIL" && !isAstringChar(this.buf[this.pos + 3] ?? -1)) {
      this.pos += 3;
      return null;
    }
    return this.string();
  }

  /** list-mailbox: 1*(ATOM-CHAR / list-wildcards / resp-specials) / string. */
  listMailbox(): string {
    const c = this.peek();
    if (c === 0x22 || c === 0x7b) return this.string();
    const start = this.pos;
    while (isAstringChar(this.peek()) || this.peek() === 0x25 || this.peek() === 0x2a) this.pos++;
    if (this.pos === start) this.fail("expected a mailbox pattern");
    return this.buf.toString("utf8", start, this.pos);
  }

  /** "(" item *(SP item) ")"; `item` parses one element. Empty lists when `allowEmpty`. */
  list<T>(item: () => T, allowEmpty = true): T[] {
    this.char("(");
    this.enter();
    const out: T[] = [];
    if (this.maybeChar(")")) {
      if (!allowEmpty) this.fail("empty list");
      this.leave();
      return out;
    }
    for (;;) {
      out.push(item());
      if (this.maybeChar(")")) break;
      this.sp();
    }
    this.leave();
    return out;
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH) this.fail("nesting too deep");
  }

  leave(): void {
    this.depth--;
  }

  /** flag: "\" atom (system or extension flag) or keyword atom. */
  flag(allowWildcard = false): string {
    if (this.maybeChar("\\")) {
      if (allowWildcard && this.maybeChar("*")) return "\\*";
      const a = this.atom();
      const known = ["ANSWERED", "FLAGGED", "DELETED", "SEEN", "DRAFT", "RECENT"].find((f) => f === a.toUpperCase());
      return "\\" + (known ? known[0] + known.slice(1).toLowerCase() : a);
    }
    return this.atom();
  }

  flagList(): string[] {
    return this.list(() => this.flag());
  }

  /** sequence-set, or "$" (RFC 5182). */
  sequenceSet(): SequenceSet {
    if (this.maybeChar("$")) return "$";
    const out: SeqRange[] = [];
    for (;;) {
      const from = this.seqNumber();
      let to = from;
      if (this.maybeChar(":")) to = this.seqNumber();
      out.push({ from, to });
      if (out.length > MAX_SET_RANGES) this.fail("sequence set too long");
      if (!this.maybeChar(",")) break;
    }
    return out;
  }

  private seqNumber(): number | "*" {
    if (this.maybeChar("*")) return "*";
    return this.nz32();
  }

  /** date-time: DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE. */
  dateTime(): number {
    const s = this.quoted().toString("latin1");
    const m = /^([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/.exec(s);
    if (!m) this.fail("invalid date-time");
    const month = MONTHS.indexOf(m[2]!.toUpperCase());
    if (month < 0) this.fail("invalid month");
    const [day, year, h, mi, se, zh, zm] = [m[1]!, m[3]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!].map((x) => Number(x.trim())) as number[];
    if (day! < 1 || day! > 31 || h! > 23 || mi! > 59 || se! > 60) this.fail("invalid date-time");
    const offset = (zh! * 60 + zm!) * 60_000 * (m[7] === "-" ? -1 : 1);
    return Date.UTC(year!, month, day!, h!, mi!, se!) - offset;
  }

  /** date (SEARCH): date-text or DQUOTE date-text DQUOTE; returned as "YYYY-MM-DD". */
  date(): string {
    const s = this.peek() === 0x22 ? this.quoted().toString("latin1") : this.atom();
    const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
    const month = m ? MONTHS.indexOf(m[2]!.toUpperCase()) : -1;
    if (!m || month < 0 || Number(m[1]) < 1 || Number(m[1]) > 31) this.fail("invalid date");
    return `${m[3]}-${String(month + 1).padStart(2, "0")}-${m[1]!.padStart(2, "0")}`;
  }
}

/** INTERNALDATE's form: "dd-Mon-yyyy hh:mm:ss +0000" (we send UTC). */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  const mon = MONTHS[d.getUTCMonth()]!;
  return `${p(d.getUTCDate())}-${mon[0]}${mon.slice(1).toLowerCase()}-${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Whether text can be sent as an atom. */
export function isAtom(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isAtomChar(s.charCodeAt(i))) return false;
  return true;
}
