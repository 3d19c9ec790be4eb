/** The parser from RFC examples and hostile inputs. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ParseError, Parser, formatDateTime } from "./parser.js";
import { parseSearch } from "./search.js";
import { parseFetch, parseStore, sectionName } from "./fetch.js";

const P = (s: string | Buffer) => new Parser(typeof s === "string" ? Buffer.from(s, "latin1") : s);

test("atoms, quoted strings with escapes, literals, NIL", () => {
  const p = P('abc "a\\"b\\\\c" {3}\r\nx y NIL "NIL"');
  assert.equal(p.astring(), "abc");
  p.sp();
  assert.equal(p.astring(), 'a"b\\c');
  p.sp();
  assert.equal(p.astring(), "x y");
  p.sp();
  assert.equal(p.nstring(), null);
  p.sp();
  assert.equal(p.nstring(), "NIL");
  p.end();
  assert.throws(() => P('"bad \\x"').quoted(), ParseError);
  assert.throws(() => P('"unterminated').quoted(), ParseError);
  assert.throws(() => P("{5}\r\nab").literal(), ParseError);
  assert.throws(() => P("{2}\r\na\0").literal(), ParseError);
  assert.deepEqual(P("~{2}\r\na\0").literal(true).data, Buffer.from("a\0"));
  assert.throws(() => P("~{2}\r\na\0").literal(false), ParseError);
});

test("sequence sets", () => {
  assert.deepEqual(P("1:*").sequenceSet(), [{ from: 1, to: "*" }]);
  assert.deepEqual(P("*:4,7,9:10").sequenceSet(), [{ from: "*", to: 4 }, { from: 7, to: 7 }, { from: 9, to: 10 }]);
  assert.equal(P("$").sequenceSet(), "$");
  for (const bad of ["0", "1:0", ",1", "1,", "a", "4294967296", "-1"]) {
    assert.throws(() => {
      const p = P(bad);
      p.sequenceSet();
      p.end();
    }, ParseError, bad);
  }
});

test("date-time and dates", () => {
  assert.equal(P('"17-Jul-1996 02:44:25 -0700"').dateTime(), Date.UTC(1996, 6, 17, 9, 44, 25));
  assert.equal(P('" 7-Feb-1994 21:52:25 +0100"').dateTime(), Date.UTC(1994, 1, 7, 20, 52, 25));
  assert.throws(() => P('"17-Foo-1996 02:44:25 -0700"').dateTime(), ParseError);
  assert.equal(P("1-Feb-1994").date(), "1994-02-01");
  assert.equal(P('"01-Feb-1994"').date(), "1994-02-01");
  assert.equal(formatDateTime(Date.UTC(1996, 6, 17, 9, 44, 25)), "17-Jul-1996 09:44:25 +0000");
});

test("flags", () => {
  assert.deepEqual(P("(\\seen \\Deleted $Junk)").flagList(), ["\\Seen", "\\Deleted", "$Junk"]);
  assert.deepEqual(P("()").flagList(), []);
});

test("search keys: RFC 9051 examples and more", () => {
  const s = (x: string) => parseSearch(P(x));
  assert.deepEqual(s("FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"").key, {
    op: "and",
    keys: [
      { op: "flag", flag: "\\Flagged", set: true },
      { op: "date", field: "internal", cmp: "since", date: "1994-02-01" },
      { op: "not", key: { op: "header", field: "FROM", value: "Smith" } },
    ],
  });
  const r = s('RETURN (MIN COUNT) CHARSET UTF-8 TEXT {4}\r\nb\xc3\xa4r 1:3 $ UID 5:* HEADER X-Foo "" LARGER 10 MODSEQ 7 YOUNGER 60');
  assert.deepEqual(r.ret, ["MIN", "COUNT"]);
  assert.equal(r.charset, "UTF-8");
  assert.equal(r.usesModseq, true);
  assert.deepEqual((r.key as { keys: unknown[] }).keys, [
    { op: "text", value: "bär" },
    { op: "seq", set: [{ from: 1, to: 3 }] },
    { op: "seq", set: "$" },
    { op: "uid", set: [{ from: 5, to: "*" }] },
    { op: "header", field: "X-Foo", value: "" },
    { op: "size", cmp: "larger", size: 10 },
    { op: "modseq", modseq: 7 },
    { op: "younger", seconds: 60 },
  ]);
  assert.deepEqual(s("$").key, { op: "seq", set: "$" });
  assert.deepEqual(s('MODSEQ "/flags/\\\\draft" all 620162338').key, { op: "modseq", modseq: 620162338 });
  assert.deepEqual(s("RETURN () ALL").ret, []);
  for (const bad of ["", "FOO", "(SEEN", "SEEN)", "OR SEEN", "SINCE 32-Jan-2000", "LARGER x", "NOT", "RETURN (BOGUS) ALL", "ALL ", "(" .repeat(100) + "ALL" + ")".repeat(100)]) {
    assert.throws(() => s(bad), ParseError, JSON.stringify(bad));
  }
  // Deep NOT chains are bounded too (no stack exhaustion).
  assert.throws(() => s("NOT ".repeat(10_000) + "ALL"), ParseError);
  assert.throws(() => s("OR ".repeat(10_000) + "ALL"), ParseError);
});

test("search: OR with nested parens", () => {
  const k = parseSearch(P("OR (DELETED SEEN) UNKEYWORD $x")).key;
  assert.deepEqual(k, { op: "or", a: { op: "and", keys: [{ op: "flag", flag: "\\Deleted", set: true }, { op: "flag", flag: "\\Seen", set: true }] }, b: { op: "flag", flag: "$x", set: false } });
});

test("fetch attributes", () => {
  const f = (x: string) => parseFetch(P(x));
  assert.deepEqual(f("2:4 FAST").atts.map((a) => a.kind), ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]);
  assert.deepEqual(f("1 FULL").atts.map((a) => a.kind), ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"]);
  assert.deepEqual(f("1 all").atts.length, 4);
  assert.deepEqual(f("1 BODY[1.2.MIME]<0.100>").atts, [{ kind: "section", peek: false, section: { part: [1, 2], text: "MIME" }, partial: { start: 0, length: 100 } }]);
  const a = f('2 (FLAGS BODY.PEEK[HEADER.FIELDS (DATE "FROM")] BINARY.PEEK[1]<5.10> BINARY.SIZE[2] BINARY[] BODY[] body[3.text] MODSEQ) (CHANGEDSINCE 12345 VANISHED)');
  assert.deepEqual(a.atts, [
    { kind: "FLAGS" },
    { kind: "section", peek: true, section: { part: [], text: "HEADER.FIELDS", fields: ["DATE", "FROM"] }, partial: undefined },
    { kind: "binary", peek: true, part: [1], partial: { start: 5, length: 10 } },
    { kind: "binary.size", part: [2] },
    { kind: "binary", peek: false, part: [], partial: undefined },
    { kind: "section", peek: false, section: { part: [] }, partial: undefined },
    { kind: "section", peek: false, section: { part: [3], text: "TEXT" }, partial: undefined },
    { kind: "MODSEQ" },
  ]);
  assert.equal(a.changedSince, 12345);
  assert.equal(a.vanished, true);
  assert.equal(sectionName({ part: [1], text: "HEADER.FIELDS.NOT", fields: ["A", "B C"] }, (x) => (x.includes(" ") ? `"${x}"` : x)), '1.HEADER.FIELDS.NOT (A "B C")');
  for (const bad of ["1 BODY[MIME]", "1 BODY[1.FOO]", "1 BODY[HEADER.FIELDS ()]", "1 BODY[", "1 ()", "1 BOGUS", "1 (FLAGS", "1 FLAGS (VANISHED)", "1 BODY[]<1>", "x FLAGS", "1 BINARY[1.TEXT]"]) {
    assert.throws(() => f(bad), ParseError, bad);
  }
});

test("store arguments", () => {
  assert.deepEqual(parseStore(P("2:4 +FLAGS (\\Deleted)")), { set: [{ from: 2, to: 4 }], unchangedSince: undefined, op: "add", silent: false, flags: ["\\Deleted"] });
  assert.deepEqual(parseStore(P("1 (UNCHANGEDSINCE 320162338) -FLAGS.SILENT \\Seen $x")), { set: [{ from: 1, to: 1 }], unchangedSince: 320162338, op: "remove", silent: true, flags: ["\\Seen", "$x"] });
  assert.throws(() => parseStore(P("1 XFLAGS (\\Seen)")), ParseError);
});

test("hostile bytes never throw anything but ParseError", () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed);
  const alphabet = Buffer.from('()[]{}<>"\\ *%$:,.~+0123456789ABCDEFHILMNOPRSTUXYbody\r\n\0\xff');
  for (let i = 0; i < 3000; i++) {
    const len = rnd() % 60;
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = alphabet[rnd() % alphabet.length]!;
    for (const fn of [(p: Parser) => parseSearch(p), (p: Parser) => parseFetch(p), (p: Parser) => parseStore(p)]) {
      try {
        fn(P(b));
      } catch (e) {
        if (!(e instanceof ParseError)) throw new Error(`${(e as Error).message} on ${JSON.stringify(b.toString("latin1"))}`);
      }
    }
  }
});

test("8-bit: UTF-8 in quoted strings and literals, never in atoms", () => {
  assert.equal(P('"\xc3\xa9t\xc3\xa9"').astring(), "été");
  assert.equal(P("{2}\r\n\xc3\xa9").astring(), "é");
  assert.throws(() => {
    const p = P("\xc3\xa9");
    p.astring();
  }, ParseError);
  const p = P("ab\xff");
  assert.equal(p.atom(), "ab");
  assert.throws(() => p.end(), ParseError);
});
