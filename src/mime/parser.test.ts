/**
 * The MIME tree: RFC 3501's FETCH examples rendered as IMAP would, the section numbers of
 * RFC 3501 6.4.5, a message from a real mail client, and tables of boundary and header edge
 * cases. Every parse is also checked against treeProblems (offsets within bounds and nested,
 * sizes and line counts, findPart round trips).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findPart, parseMessage, walkParts, type Envelope, type MimeAddress, type MimePart, type ParsedMessage } from "./index.js";
import { treeProblems } from "./invariants.js";
import { transferDecode } from "./text.js";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/mime");
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const crlf = (lines: string[]) => Buffer.from(lines.map((l) => `${l}\r\n`).join(""), "utf8");

function parse(raw: Buffer): ParsedMessage {
  const m = parseMessage(raw);
  assert.deepEqual(treeProblems(raw, m), []);
  return m;
}
const bodyOf = (raw: Buffer, p: MimePart) => raw.subarray(p.bodyStart, p.bodyEnd).toString("utf8");
const mimeOf = (raw: Buffer, p: MimePart) => raw.subarray(p.headerStart, p.headerEnd).toString("utf8");
const part = (m: ParsedMessage, section: string) => {
  const p = findPart(m.root, section);
  assert.ok(p, `no part ${section}`);
  return p;
};
/** The tree as nested arrays of "path:type/subtype". */
const shape = (p: MimePart): unknown => (p.children.length > 0 ? [`${p.path}:${p.type}/${p.subtype}`, ...p.children.map(shape)] : `${p.path}:${p.type}/${p.subtype}`);

// IMAP rendering, as the imap/ layer will do it (RFC 3501 9: body, envelope; non-extended BODY).
const q = (s: string | null) => (s === null ? "NIL" : `"${s.replace(/[\\"]/g, "\\$&")}"`);
const addresses = (list: MimeAddress[]) => (list.length === 0 ? "NIL" : `(${list.map((a) => `(${q(a.name)} NIL ${q(a.mailbox)} ${q(a.host)})`).join("")})`);
const envelope = (e: Envelope) =>
  `(${[q(e.date), q(e.subject), addresses(e.from), addresses(e.sender), addresses(e.replyTo), addresses(e.to), addresses(e.cc), addresses(e.bcc), q(e.inReplyTo), q(e.messageId)].join(" ")})`;
function body(p: MimePart): string {
  if (p.type === "multipart") return `(${p.children.map(body).join("")} ${q(p.subtype)})`;
  const params = Object.entries(p.params);
  const list = params.length > 0 ? `(${params.map(([k, v]) => `${q(k)} ${q(v)}`).join(" ")})` : "NIL";
  let s = `${q(p.type)} ${q(p.subtype)} ${list} ${q(p.id)} ${q(p.description)} ${q(p.encoding)} ${p.size}`;
  if (p.type === "message") s += ` ${envelope(p.envelope!)} ${body(p.children[0]!)} ${p.lines}`;
  else if (p.type === "text") s += ` ${p.lines}`;
  return `(${s})`;
}

describe("RFC 3501 examples", () => {
  test("7.4.2: ENVELOPE and BODY of a text/plain message", () => {
    const raw = fixture("rfc3501-plain.eml");
    const m = parse(raw);
    assert.equal(
      envelope(m.envelope),
      '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")',
    );
    assert.equal(body(m.root).toUpperCase(), '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)');
    assert.equal(m.root.path, "1");
    assert.equal(m.headerEnd, raw.indexOf("\r\n\r\n") + 4);
  });

  test("7.4.2: BODYSTRUCTURE of a multipart/mixed", () => {
    const m = parse(fixture("rfc3501-mixed.eml"));
    assert.equal(
      body(m.root).toUpperCase(),
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "CC.DIFF") "<960723163407.20117H@CAC.WASHINGTON.EDU>" "COMPILER DIFF" "BASE64" 4554 73) "MIXED")',
    );
    assert.equal(m.root.path, "");
    assert.equal(m.attachments, 1, "the NAME parameter makes part 2 an attachment");
  });

  test("6.4.5: every section number of the example names the right part", () => {
    const raw = fixture("rfc3501-sections.eml");
    const m = parse(raw);
    const table: [section: string, type: string, content?: string][] = [
      ["1", "text/plain", "1 text"],
      ["2", "application/octet-stream", "AAECAwQF"],
      ["3", "message/rfc822"],
      ["3.1", "text/plain", "3.1 text"],
      ["3.2", "application/octet-stream", "AAECAw=="],
      ["4", "multipart/mixed"],
      ["4.1", "image/gif", "R0lGODlhAQABAAAAACw="],
      ["4.2", "message/rfc822"],
      ["4.2.1", "text/plain", "4.2.1 text"],
      ["4.2.2", "multipart/alternative"],
      ["4.2.2.1", "text/plain", "4.2.2.1 plain"],
      ["4.2.2.2", "text/richtext", "4.2.2.2 <bold>rich</bold>"],
    ];
    for (const [section, type, content] of table) {
      const p = part(m, section);
      assert.equal(`${p.type}/${p.subtype}`, type, section);
      assert.equal(p.path, section);
      if (content !== undefined) assert.equal(bodyOf(raw, p), content, section);
    }
    assert.equal(mimeOf(raw, part(m, "4.1")), "Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    // 3.HEADER and 3.TEXT: the encapsulated message's header and body.
    const three = part(m, "3");
    const inner = three.children[0]!;
    assert.equal(inner.path, "3");
    assert.match(mimeOf(raw, inner), /^From: inner3@example\.test\r\nSubject: section 3\r\n.*\r\n\r\n$/s);
    assert.match(bodyOf(raw, inner), /^--m3\r\n.*--m3--$/s, "the CRLF after the close delimiter precedes --outer");
    assert.equal(bodyOf(raw, three), mimeOf(raw, inner) + bodyOf(raw, inner), "BODY[3] is the whole encapsulated message");
    assert.equal(three.envelope?.subject, "section 3");
    assert.equal(part(m, "4.2").envelope?.from[0]?.mailbox, "inner42");
    assert.equal(body(part(m, "4")).toUpperCase().endsWith(' "MIXED")'), true);
    for (const missing of ["5", "1.1", "3.3", "4.2.2.3", "0", "1.", "x", "4.1.1"]) assert.equal(findPart(m.root, missing), null, missing);
    assert.equal(findPart(m.root, ""), m.root);
  });
});

describe("a message from a mail client (nodemailer)", () => {
  const raw = fixture("composed.eml");
  const pdf = Buffer.alloc(3000);
  for (let i = 0; i < pdf.length; i++) pdf[i] = (i * 31 + 7) % 256;

  test("tree: mixed { alternative { plain, html }, pdf, message/rfc822 { mixed { plain, png } } }", () => {
    const m = parse(raw);
    assert.deepEqual(shape(m.root), [
      ":multipart/mixed",
      ["1:multipart/alternative", "1.1:text/plain", "1.2:text/html"],
      "2:application/pdf",
      ["3:message/rfc822", ["3:multipart/mixed", "3.1:text/plain", "3.2:image/png"]],
    ]);
  });

  test("offsets give each part's exact octets", () => {
    const m = parse(raw);
    const text = (s: string) => transferDecode(raw.subarray(part(m, s).bodyStart, part(m, s).bodyEnd), part(m, s).encoding);
    assert.equal(text("1.1").toString(), "Hello Zoë,\nthe report is attached.\n");
    assert.match(text("1.2").toString(), /^<p>Hello <b>Zo&euml;<\/b>,<\/p>/);
    assert.deepEqual(text("2"), pdf);
    assert.deepEqual(text("3.2"), Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex"));
    assert.equal(bodyOf(raw, part(m, "3.1")), "The inner text part.\nSecond line.\n");
    assert.equal(mimeOf(raw, part(m, "1.1")), "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    // Each body part follows its delimiter line, and its body ends at the CRLF before the next one.
    for (const mp of walkParts(m.root)) {
      if (mp.type !== "multipart") continue;
      const delimiter = `--${mp.params["boundary"]}`;
      for (const c of mp.children) {
        assert.equal(raw.subarray(c.headerStart - delimiter.length - 2, c.headerStart).toString("latin1"), `${delimiter}\r\n`, c.path);
        assert.equal(raw.subarray(c.bodyEnd, c.bodyEnd + delimiter.length + 2).toString("latin1"), `\r\n${delimiter}`, c.path);
      }
    }
  });

  test("BODYSTRUCTURE fields: parameters, RFC 2231 file name, disposition", () => {
    const m = parse(raw);
    const pdfPart = part(m, "2");
    assert.deepEqual(pdfPart.disposition, { type: "attachment", params: { filename: "résumé.pdf" } });
    assert.equal(pdfPart.params["name"], "=?UTF-8?Q?r=C3=A9sum=C3=A9=2Epdf?=", "non-RFC 2231 values stay as written");
    assert.equal(pdfPart.encoding, "BASE64");
    assert.deepEqual(part(m, "1").params, { boundary: "--_NmP-outer-Part_2" });
    assert.equal(part(m, "3").encoding, "7BIT");
    assert.equal(part(m, "3").lines, raw.subarray(part(m, "3").bodyStart, part(m, "3").bodyEnd).toString("latin1").split("\n").length - 1);
    assert.equal(m.attachments, 3);
  });

  test("envelopes of the message and of the forwarded one", () => {
    const m = parse(raw);
    const e = m.envelope;
    assert.equal(e.subject, "=?UTF-8?Q?Quarterly_report_=E2=80=94_r=C3=A9sum?= =?UTF-8?Q?=C3=A9_attached?=");
    assert.equal(m.subject, "Quarterly report — résumé attached");
    assert.deepEqual(e.from, [{ name: "=?UTF-8?Q?Zo=C3=AB_Example?=", mailbox: "zoe", host: "example.test" }]);
    assert.deepEqual(e.sender, e.from);
    assert.deepEqual(e.replyTo, [{ name: null, mailbox: "replies", host: "example.test" }]);
    assert.deepEqual(e.to, [
      { name: "=?UTF-8?Q?=C3=9Cn=C3=AFcode_Person?=", mailbox: "u", host: "example.test" },
      { name: null, mailbox: "plain", host: "example.test" },
    ]);
    assert.deepEqual(e.cc, [
      { name: null, mailbox: "undisclosed-recipients", host: null },
      { name: null, mailbox: null, host: null },
    ]);
    assert.deepEqual(e.bcc, []);
    assert.equal(e.inReplyTo, "<earlier@example.test>");
    assert.equal(e.messageId, "<outer-1@example.test>");
    assert.equal(e.date, "Sat, 02 Mar 2024 11:22:33 +0000");
    const inner = part(m, "3").envelope!;
    assert.equal(inner.subject, "Forwarded: numbers");
    assert.deepEqual(inner.to, [
      { name: null, mailbox: "Group", host: null },
      { name: null, mailbox: "a", host: "example.test" },
      { name: null, mailbox: "b", host: "example.test" },
      { name: null, mailbox: null, host: null },
    ]);
  });

  test("search text: headers decoded, text and html (without scripts), forwarded text too", () => {
    const m = parse(raw);
    assert.match(m.searchHeaders, /^From: Zoë Example <zoe@example\.test>\n/);
    assert.match(m.searchHeaders, /\nSubject: Quarterly report — résumé attached\n/);
    assert.match(m.searchHeaders, /\nTo: Ünïcode Person <u@example\.test>, plain@example\.test\n/);
    assert.match(m.searchBody, /Hello Zoë,\nthe report is attached\./);
    assert.match(m.searchBody, /Hello Zoë ?,/);
    assert.match(m.searchBody, /The inner text part\./);
    assert.doesNotMatch(m.searchBody, /hidden/);
  });

  test("bare LF line endings give the same tree, with offsets that map", () => {
    const lf = Buffer.from(raw.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
    const a = parse(raw);
    const b = parse(lf);
    assert.deepEqual(shape(b.root), shape(a.root));
    const pa = [...walkParts(a.root)];
    const pb = [...walkParts(b.root)];
    for (let i = 0; i < pa.length; i++) {
      assert.equal(bodyOf(lf, pb[i]!), bodyOf(raw, pa[i]!).replace(/\r\n/g, "\n"), pa[i]!.path);
      assert.equal(mimeOf(lf, pb[i]!), mimeOf(raw, pa[i]!).replace(/\r\n/g, "\n"), pa[i]!.path);
      assert.deepEqual(pb[i]!.params, pa[i]!.params);
      assert.equal(pb[i]!.lines, pa[i]!.lines);
    }
    assert.deepEqual(b.envelope, a.envelope);
    assert.equal(b.searchBody, a.searchBody);
  });
});

/** Parses a CRLF message given as lines, and returns it with the tree's shape. */
function tree(lines: string[]) {
  const raw = crlf(lines);
  const m = parse(raw);
  return { raw, m, shape: shape(m.root) };
}

describe("multipart boundaries (RFC 2046 5.1.1)", () => {
  test("transport padding after a delimiter, and text after the boundary on its line", () => {
    const { raw, m } = tree(["Content-Type: multipart/mixed; boundary=b", "", "--b \t", "", "one", "--b  trailing words", "", "two", "--b-- \t", "after"]);
    assert.deepEqual(m.root.children.map((c) => bodyOf(raw, c)), ["one", "two"]);
    assert.equal(bodyOf(raw, m.root).endsWith("--b-- \t\r\nafter\r\n"), true, "the epilogue belongs to the multipart body");
  });

  test("a boundary not at the start of a line is content", () => {
    const { raw, m } = tree(["Content-Type: multipart/mixed; boundary=b", "", "--b", "", "x--b", " --b", "--b--"]);
    assert.equal(m.root.children.length, 1);
    assert.equal(bodyOf(raw, m.root.children[0]!), "x--b\r\n --b");
  });

  test("preamble and epilogue are in the multipart's body, not in a part", () => {
    const { raw, m } = tree(["Content-Type: multipart/mixed; boundary=b", "", "preamble", "--b", "", "one", "--b--", "epilogue"]);
    assert.equal(bodyOf(raw, m.root), "preamble\r\n--b\r\n\r\none\r\n--b--\r\nepilogue\r\n");
    assert.equal(bodyOf(raw, m.root.children[0]!), "one");
    assert.equal(m.root.lines, 6);
  });

  test("nested boundaries where one is a prefix of the other: the longest match wins", () => {
    for (const [outer, inner] of [["b", "b_1"], ["b_1", "b"], ["--_NmP-x-Part_1", "--_NmP-x-Part_10"]] as const) {
      const { raw, shape: s, m } = tree([
        `Content-Type: multipart/mixed; boundary="${outer}"`,
        "",
        `--${outer}`,
        `Content-Type: multipart/alternative; boundary="${inner}"`,
        "",
        `--${inner}`,
        "",
        "a",
        `--${inner}`,
        "",
        "b",
        `--${inner}--`,
        `--${outer}`,
        "",
        "c",
        `--${outer}--`,
      ]);
      assert.deepEqual(s, [":multipart/mixed", ["1:multipart/alternative", "1.1:text/plain", "1.2:text/plain"], "2:text/plain"], `${outer} / ${inner}`);
      assert.deepEqual([...walkParts(m.root)].filter((p) => p.children.length === 0).map((p) => bodyOf(raw, p)), ["a", "b", "c"]);
    }
  });

  test("the same boundary nested: the inner multipart takes the delimiters until it closes", () => {
    const { shape: s } = tree(["Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: multipart/mixed; boundary=b", "", "--b", "", "in", "--b--", "--b", "", "out", "--b--"]);
    assert.deepEqual(s, [":multipart/mixed", ["1:multipart/mixed", "1.1:text/plain"], "2:text/plain"]);
  });

  test("an outer delimiter ends an inner multipart that never closed", () => {
    const { raw, m, shape: s } = tree(["Content-Type: multipart/mixed; boundary=o", "", "--o", "Content-Type: multipart/mixed; boundary=i", "", "--i", "", "unclosed", "--o", "", "next", "--o--"]);
    assert.deepEqual(s, [":multipart/mixed", ["1:multipart/mixed", "1.1:text/plain"], "2:text/plain"]);
    assert.equal(bodyOf(raw, part(m, "1.1")), "unclosed");
    assert.equal(bodyOf(raw, part(m, "1")), "--i\r\n\r\nunclosed");
  });

  test("no close delimiter: the last part runs to the end", () => {
    const { raw, m } = tree(["Content-Type: multipart/mixed; boundary=b", "", "--b", "", "one", "--b", "", "two, never closed"]);
    assert.equal(bodyOf(raw, part(m, "2")), "two, never closed\r\n");
    assert.equal(m.root.bodyEnd, raw.length);
  });

  test("no boundary parameter, or no delimiter in the body: a multipart with no parts", () => {
    for (const ct of ["multipart/mixed", "multipart/mixed; boundary=", "multipart/mixed; boundary=zz"]) {
      const { raw, m } = tree([`Content-Type: ${ct}`, "", "--b", "", "text", "--b--"]);
      assert.deepEqual(m.root.children, [], ct);
      assert.equal(bodyOf(raw, m.root), "--b\r\n\r\ntext\r\n--b--\r\n");
    }
  });

  test("empty parts, a part with no header, and a header cut by a delimiter", () => {
    const { raw, m } = tree(["Content-Type: multipart/mixed; boundary=b", "", "--b", "--b", "", "no header", "--b", "Content-Type: text/html", "--b--"]);
    const [empty, noHeader, cut] = m.root.children;
    assert.equal(mimeOf(raw, empty!) + bodyOf(raw, empty!), "");
    assert.equal(mimeOf(raw, noHeader!), "\r\n");
    assert.equal(bodyOf(raw, noHeader!), "no header");
    assert.equal(mimeOf(raw, cut!), "Content-Type: text/html", "the CRLF before the delimiter is the delimiter's");
    assert.equal(`${cut!.type}/${cut!.subtype}`, "text/html");
    assert.equal(cut!.size, 0);
  });

  test("the line end before a delimiter is the delimiter's, even when it is the only one", () => {
    // A header whose blank line is directly followed by a delimiter: that CRLF goes to the
    // delimiter, so the part has header fields and no body.
    const { raw, m } = tree([
      "Content-Type: multipart/mixed; boundary=b",
      "",
      "--b",
      "Content-Type: text/plain",
      "",
      "--b",
      "Content-Type: message/rfc822",
      "",
      "--b",
      "Content-Type: multipart/mixed; boundary=i",
      "",
      "--i",
      "",
      "inner",
      "--i--",
      "--b--",
    ]);
    const [text, message, inner] = m.root.children;
    assert.equal(mimeOf(raw, text!), "Content-Type: text/plain\r\n");
    assert.equal(text!.size, 0);
    assert.equal(mimeOf(raw, message!), "Content-Type: message/rfc822\r\n");
    assert.equal(message!.children[0]!.headerStart, message!.bodyEnd, "the encapsulated message is empty");
    assert.equal(bodyOf(raw, inner!), "--i\r\n\r\ninner\r\n--i--", "a close delimiter's CRLF goes to the outer delimiter");
    // An empty last part directly before an outer delimiter stays inside its multipart.
    const empty = tree(["Content-Type: multipart/mixed; boundary=o", "", "--o", "Content-Type: multipart/mixed; boundary=i", "", "--i", "", "x", "--i", "--o--"]);
    assert.equal(part(empty.m, "1.2").size, 0);
    assert.equal(bodyOf(empty.raw, part(empty.m, "1")), "--i\r\n\r\nx\r\n--i\r\n");
  });

  test("a boundary with every character RFC 2046 allows, quoted", () => {
    const b = "a b'()+_,-./:=?z";
    const { m } = tree([`Content-Type: multipart/mixed; boundary="${b}"`, "", `--${b}`, "", "x", `--${b}--`]);
    assert.equal(m.root.children.length, 1);
  });

  test("a comment after the boundary parameter is not part of it (RFC 2045 5.1)", () => {
    const { m } = tree(["Content-Type: multipart/mixed; boundary=b (the boundary)", "", "--b", "", "x", "--b--"]);
    assert.equal(m.root.children.length, 1);
  });

  test("multipart/digest parts default to message/rfc822 (RFC 2046 5.1.5)", () => {
    const { m, shape: s } = tree([
      "Content-Type: multipart/digest; boundary=d",
      "",
      "--d",
      "",
      "Subject: first",
      "",
      "one",
      "--d",
      "Content-Type: text/plain",
      "",
      "explicit",
      "--d--",
    ]);
    assert.deepEqual(s, [":multipart/digest", ["1:message/rfc822", "1.1:text/plain"], "2:text/plain"]);
    assert.deepEqual(part(m, "1").params, {});
    assert.equal(part(m, "1").envelope?.subject, "first");
  });
});

describe("headers", () => {
  test("bare LF line endings", () => {
    const raw = Buffer.from("Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b--\n");
    const m = parse(raw);
    assert.equal(m.envelope.subject, "lf");
    assert.equal(bodyOf(raw, m.root.children[0]!), "one");
    assert.equal(m.headerEnd, raw.indexOf("\n\n") + 2);
  });

  test("no blank line: the whole message is header, the body is empty", () => {
    const raw = Buffer.from("Subject: no body\r\nFrom: a@b.test\r\n");
    const m = parse(raw);
    assert.equal(m.headerEnd, raw.length);
    assert.equal(m.root.size, 0);
    assert.equal(m.envelope.subject, "no body");
    assert.equal(m.envelope.from[0]?.mailbox, "a");
  });

  test("a line without a colon stays in the header; fields after it still count", () => {
    const raw = crlf(["X-Good: 1", "this line has no colon", "Subject: still found", "", "body"]);
    const m = parse(raw);
    assert.equal(m.envelope.subject, "still found");
    assert.equal(bodyOf(raw, m.root), "body\r\n");
    assert.match(m.searchHeaders, /\nthis line has no colon\n/);
  });

  test("a message that starts with a blank line has an empty header", () => {
    const raw = crlf(["", "Subject: this is body text"]);
    const m = parse(raw);
    assert.equal(m.headerEnd, 2);
    assert.equal(m.envelope.subject, null);
    assert.equal(m.root.lines, 1);
  });

  test("empty input, and a lone CR, LF or dash", () => {
    for (const s of ["", "\r", "\n", "\r\n", "-", "--", ":", " "]) {
      const raw = Buffer.from(s, "latin1");
      const m = parse(raw);
      assert.equal(m.root.path, "1", JSON.stringify(s));
      assert.equal(`${m.root.type}/${m.root.subtype}`, "text/plain");
    }
  });

  test("8-bit headers: UTF-8 when valid, latin1 otherwise", () => {
    const utf8 = parse(Buffer.from("Subject: Grüße\r\n\r\n", "utf8"));
    assert.equal(utf8.envelope.subject, "Grüße");
    const latin1 = parse(Buffer.from("Subject: Gr\xfc\xdfe\r\n\r\n", "latin1"));
    assert.equal(latin1.envelope.subject, "Grüße");
  });

  test("Content-* fields: first occurrence wins, defaults, comments, language list", () => {
    const { m } = tree([
      "Content-Type: TEXT/HTML; CHARSET=ISO-8859-1",
      "Content-Type: image/png",
      "Content-Transfer-Encoding: Quoted-Printable (comment)",
      "Content-ID: <id@x.test>",
      "Content-Description: a description",
      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==",
      "Content-Language: en-US, (English) fr",
      "Content-Location: http://example.test/a",
      "Content-Disposition: INLINE; filename=a.html",
      "",
      "x",
    ]);
    const r = m.root;
    assert.deepEqual(
      { type: r.type, subtype: r.subtype, params: r.params, id: r.id, description: r.description, encoding: r.encoding, md5: r.md5, disposition: r.disposition, language: r.language, location: r.location },
      {
        type: "text",
        subtype: "html",
        params: { charset: "ISO-8859-1" },
        id: "<id@x.test>",
        description: "a description",
        encoding: "QUOTED-PRINTABLE",
        md5: "Q2hlY2sgSW50ZWdyaXR5IQ==",
        disposition: { type: "inline", params: { filename: "a.html" } },
        language: ["en-US", "fr"],
        location: "http://example.test/a",
      },
    );
    const none = tree(["Subject: plain", "", "x"]).m.root;
    assert.deepEqual([none.type, none.subtype, none.params, none.encoding, none.disposition, none.language], ["text", "plain", { charset: "us-ascii" }, "7BIT", null, null]);
    const invalid = tree(["Content-Type: text", "", "x"]).m.root;
    assert.equal(`${invalid.type}/${invalid.subtype}`, "text/plain", "RFC 2045 5.2: an invalid Content-Type is text/plain");
  });
});

describe("message/rfc822 and message/global", () => {
  test("a transfer-encoded message part is opaque: application/octet-stream, no children", () => {
    const { m } = tree(["Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: message/rfc822", "Content-Transfer-Encoding: base64", "", "U3ViamVjdDogeA0KDQpib2R5", "--b--"]);
    const p = part(m, "1");
    assert.equal(`${p.type}/${p.subtype}`, "application/octet-stream");
    assert.deepEqual(p.children, []);
  });

  test("message/global is parsed like message/rfc822 (RFC 6532 3.7)", () => {
    const { m } = tree(["Content-Type: message/global", "", "Subject: ünïcode", "", "inner body"]);
    assert.equal(m.root.path, "1");
    assert.equal(m.root.children[0]?.path, "1.1");
    assert.equal(m.root.envelope?.subject, "ünïcode");
  });

  test("a message part with no body still has an (empty) encapsulated message", () => {
    const { m } = tree(["Content-Type: multipart/mixed; boundary=b", "", "--b", "Content-Type: message/rfc822", "--b--"]);
    const p = part(m, "1");
    assert.equal(p.children.length, 1);
    assert.equal(p.envelope?.subject, null);
    assert.equal(p.size, 0);
  });

  test("the encapsulated message's header and body are BODY[n.HEADER] and BODY[n.TEXT]", () => {
    const { raw, m } = tree(["Content-Type: message/rfc822", "", "Subject: inner", "", "inner body"]);
    const inner = m.root.children[0]!;
    assert.equal(mimeOf(raw, inner), "Subject: inner\r\n\r\n");
    assert.equal(bodyOf(raw, inner), "inner body\r\n");
    assert.equal(findPart(m.root, "1.1"), inner);
    assert.equal(m.root.lines, 3);
  });
});
