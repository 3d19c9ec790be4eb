/**
 * ENVELOPE, BODY and BODYSTRUCTURE as they go on the wire (RFC 3501 7.4.2 and RFC 9051 7.5.2
 * examples, a message from a mail client, and hand-made edge cases).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseMessage } from "../../mime/index.js";
import { encodeToBuffer, type ImapValue } from "../proto/value.js";
import { bodyStructureValue } from "./bodystructure.js";
import { envelopeValue } from "./envelope.js";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../test/fixtures/mime");
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const crlf = (lines: string[]) => Buffer.from(lines.map((l) => `${l}\r\n`).join(""), "utf8");
const wire = (v: ImapValue, utf8 = true) => encodeToBuffer(v, utf8).toString("utf8");
const body = (raw: Buffer) => wire(bodyStructureValue(parseMessage(raw), false));
const bodystructure = (raw: Buffer) => wire(bodyStructureValue(parseMessage(raw), true));
const envelope = (raw: Buffer) => wire(envelopeValue(parseMessage(raw).envelope));

const TERRY = '(("Terry Gray" NIL "gray" "cac.washington.edu"))';
const ENVELOPE_3501 = `("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ${TERRY} ${TERRY} ${TERRY} ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")`;

describe("RFC 3501 7.4.2 examples, byte for byte", () => {
  test("ENVELOPE", () => {
    assert.equal(envelope(fixture("rfc3501-plain.eml")), ENVELOPE_3501);
    assert.equal(envelope(fixture("rfc3501-mixed.eml")), ENVELOPE_3501);
  });

  test("BODY of a text/plain message, and its BODYSTRUCTURE", () => {
    assert.equal(body(fixture("rfc3501-plain.eml")), '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)');
    assert.equal(bodystructure(fixture("rfc3501-plain.eml")), '("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92 NIL NIL NIL NIL)');
  });

  test("BODY of a multipart/mixed: bodies with no space between them", () => {
    assert.equal(
      body(fixture("rfc3501-mixed.eml")),
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED")',
    );
    assert.equal(
      bodystructure(fixture("rfc3501-mixed.eml")),
      '(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73 NIL NIL NIL NIL) "MIXED" ("BOUNDARY" "x-3501") NIL NIL NIL)',
    );
  });
});

describe("a message from a mail client: mixed { alternative { plain, html }, pdf, message/rfc822 { mixed { plain, png } } }", () => {
  const raw = fixture("composed.eml");
  const inner =
    '("Fri, 01 Mar 2024 10:00:00 +0000" "Forwarded: numbers" (("Inner Sender" NIL "inner" "example.test")) (("Inner Sender" NIL "inner" "example.test")) (("Inner Sender" NIL "inner" "example.test")) ((NIL NIL "Group" NIL)(NIL NIL "a" "example.test")(NIL NIL "b" "example.test")(NIL NIL NIL NIL)) NIL NIL NIL "<inner-1@example.test>")';

  test("ENVELOPE: encoded-words kept, reply-to, group syntax", () => {
    assert.equal(
      envelope(raw),
      '("Sat, 02 Mar 2024 11:22:33 +0000" "=?UTF-8?Q?Quarterly_report_=E2=80=94_r=C3=A9sum?= =?UTF-8?Q?=C3=A9_attached?=" (("=?UTF-8?Q?Zo=C3=AB_Example?=" NIL "zoe" "example.test")) (("=?UTF-8?Q?Zo=C3=AB_Example?=" NIL "zoe" "example.test")) ((NIL NIL "replies" "example.test")) (("=?UTF-8?Q?=C3=9Cn=C3=AFcode_Person?=" NIL "u" "example.test")(NIL NIL "plain" "example.test")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL "<earlier@example.test>" "<outer-1@example.test>")',
    );
  });

  test("BODY", () => {
    assert.equal(
      body(raw),
      '((("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 40 2)("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 98 1) "ALTERNATIVE")' +
        '("APPLICATION" "PDF" ("NAME" "=?UTF-8?Q?r=C3=A9sum=C3=A9=2Epdf?=") NIL NIL "BASE64" 4104)' +
        `("MESSAGE" "RFC822" ("NAME" "forwarded.eml") NIL NIL "7BIT" 624 ${inner} (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 34 2)("IMAGE" "PNG" ("NAME" "dot.png") NIL NIL "BASE64" 40) "MIXED") 22) "MIXED")`,
    );
  });

  test("BODYSTRUCTURE: extension data at every level, RFC 2231 file name decoded", () => {
    assert.equal(
      bodystructure(raw),
      '((("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 40 2 NIL NIL NIL NIL)("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 98 1 NIL NIL NIL NIL) "ALTERNATIVE" ("BOUNDARY" "--_NmP-outer-Part_2") NIL NIL NIL)' +
        '("APPLICATION" "PDF" ("NAME" "=?UTF-8?Q?r=C3=A9sum=C3=A9=2Epdf?=") NIL NIL "BASE64" 4104 NIL ("ATTACHMENT" ("FILENAME" "résumé.pdf")) NIL NIL)' +
        `("MESSAGE" "RFC822" ("NAME" "forwarded.eml") NIL NIL "7BIT" 624 ${inner} (("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 34 2 NIL NIL NIL NIL)("IMAGE" "PNG" ("NAME" "dot.png") NIL NIL "BASE64" 40 NIL ("ATTACHMENT" ("FILENAME" "dot.png")) NIL NIL) "MIXED" ("BOUNDARY" "--_NmP-inner-Part_1") NIL NIL NIL) 22 NIL ("INLINE" ("FILENAME" "forwarded.eml")) NIL NIL)` +
        ' "MIXED" ("BOUNDARY" "--_NmP-outer-Part_1") NIL NIL NIL)',
    );
  });

  test("8-bit values go as literals to a client without UTF-8", () => {
    const s = wire(bodyStructureValue(parseMessage(raw), true), false);
    assert.ok(s.includes('("ATTACHMENT" ("FILENAME" {12}\r\nrésumé.pdf))'), s);
  });
});

describe("edge cases", () => {
  test("every extension field: md5, disposition with parameters, languages, location; id, description", () => {
    const raw = crlf([
      "Subject: x",
      "Content-Type: multipart/mixed; boundary=b",
      "Content-Language: en, de",
      "Content-Location: http://example.test/m",
      "Content-Disposition: inline",
      "",
      "--b",
      "Content-Type: text/plain; charset=utf-8; format=flowed",
      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==",
      "Content-Language: fr",
      "Content-Location: part1.txt",
      'Content-Disposition: attachment; filename="a b.txt"; size=5',
      "Content-ID: <p1@x>",
      "Content-Description: the text",
      "",
      "hello",
      "--b",
      "Content-Type: message/global",
      "",
      "From: a@b.c",
      "Subject: =?utf-8?q?=C3=A9?=",
      "",
      "inner body",
      "--b--",
    ]);
    const env = '(NIL "=?utf-8?q?=C3=A9?=" ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) ((NIL NIL "a" "b.c")) NIL NIL NIL NIL NIL)';
    assert.equal(
      bodystructure(raw),
      '(("TEXT" "PLAIN" ("CHARSET" "utf-8" "FORMAT" "flowed") "<p1@x>" "the text" "7BIT" 5 0 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("ATTACHMENT" ("FILENAME" "a b.txt" "SIZE" "5")) "fr" "part1.txt")' +
        `("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 54 ${env} ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 0 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)` +
        ' "MIXED" ("BOUNDARY" "b") ("INLINE" NIL) ("en" "de") "http://example.test/m")',
    );
    assert.equal(
      body(raw),
      `(("TEXT" "PLAIN" ("CHARSET" "utf-8" "FORMAT" "flowed") "<p1@x>" "the text" "7BIT" 5 0)("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 54 ${env} ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 10 0) 3) "MIXED")`,
    );
  });

  test("a multipart without parts is written with one empty text/plain, as Dovecot does", () => {
    const noBoundary = crlf(["Subject: x", "Content-Type: multipart/mixed", "", "just text"]);
    assert.equal(body(noBoundary), '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0) "MIXED")');
    assert.equal(bodystructure(noBoundary), '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) "MIXED" NIL NIL NIL NIL)');
    const noDelimiter = crlf(["Content-Type: multipart/related; boundary=zz; type=text/html", "", "no delimiter here"]);
    assert.equal(
      bodystructure(noDelimiter),
      '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) "RELATED" ("BOUNDARY" "zz" "TYPE" "text/html") NIL NIL NIL)',
    );
  });

  test("a message/rfc822 message with a single-part inside", () => {
    const raw = crlf(["Content-Type: message/rfc822", "", "From: x@y", "Subject: s", "", "body", "line2"]);
    assert.equal(
      body(raw),
      '("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 38 (NIL "s" ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) ((NIL NIL "x" "y")) NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 13 2) 5)',
    );
  });

  test("malformed MIME: no subtype, unknown encoding, no header, nothing at all, bare LF", () => {
    assert.equal(body(crlf(["Content-Type: text", "Content-Transfer-Encoding: x-uuencode", "", "abc"])), '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "X-UUENCODE" 5 1)');
    assert.equal(body(Buffer.from("\r\nbody only\r\n")), '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 11 1)');
    assert.equal(bodystructure(Buffer.alloc(0)), '("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL)');
    assert.equal(envelope(Buffer.alloc(0)), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    const lf = Buffer.from("Content-Type: multipart/alternative; boundary=q\n\n--q\nContent-Type: text/plain\n\na\nb\n--q\nContent-Type: text/html\n\n<b>x</b>\n--q--\n");
    assert.equal(body(lf), '(("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 3 1)("TEXT" "HTML" ("CHARSET" "us-ascii") NIL NIL "7BIT" 8 0) "ALTERNATIVE")');
  });

  test("a non-text leaf has no line count; message/delivery-status is a basic part", () => {
    const raw = crlf(["Content-Type: multipart/report; report-type=delivery-status; boundary=r", "", "--r", "Content-Type: message/delivery-status", "", "Reporting-MTA: dns; x", "--r", "Content-Type: application/octet-stream", "", "xx", "--r--"]);
    assert.equal(
      bodystructure(raw),
      '(("MESSAGE" "DELIVERY-STATUS" NIL NIL NIL "7BIT" 21 NIL NIL NIL NIL)("APPLICATION" "OCTET-STREAM" NIL NIL NIL "7BIT" 2 NIL NIL NIL NIL) "REPORT" ("REPORT-TYPE" "delivery-status" "BOUNDARY" "r") NIL NIL NIL)',
    );
  });

  test("ENVELOPE strings with quotes and backslashes are escaped; a name-less address", () => {
    const raw = crlf(['From: "A \\"q\\" B" <a@b.test>', "To: undisclosed", 'Subject: say "hi" \\o/', "Message-ID: <m@x>", "In-Reply-To: <r@x>", "Bcc: c@d.test", "Sender: s@d.test"]);
    assert.equal(
      envelope(raw),
      '(NIL "say \\"hi\\" \\\\o/" (("A \\"q\\" B" NIL "a" "b.test")) ((NIL NIL "s" "d.test")) (("A \\"q\\" B" NIL "a" "b.test")) ((NIL NIL "undisclosed" "")) NIL ((NIL NIL "c" "d.test")) "<r@x>" "<m@x>")',
    );
  });
});

describe("any octets", () => {
  test("every part of any input has a BODYSTRUCTURE, an ENVELOPE, and its sections", async () => {
    const fc = (await import("fast-check")).default;
    const { walkParts } = await import("../../mime/index.js");
    const { sectionBytes, binaryBytes } = await import("./section.js");
    const pieces = ["\r\n", "\n", "--b", "--b--", "Content-Type: multipart/mixed; boundary=b", "Content-Type: message/rfc822", "Content-Transfer-Encoding: base64", "From: a@b", "x: y", " folded", ""];
    const arb = fc.array(fc.oneof(fc.constantFrom(...pieces), fc.string()), { maxLength: 40 }).map((a) => Buffer.from(a.join(""), "utf8"));
    fc.assert(
      fc.property(arb, (raw) => {
        const m = parseMessage(raw);
        wire(bodyStructureValue(m, true));
        wire(bodyStructureValue(m, false));
        wire(envelopeValue(m.envelope));
        for (const p of walkParts(m.root)) {
          if (p.path === "") continue;
          const part = p.path.split(".").map(Number);
          assert.notEqual(sectionBytes(raw, m, { part }), null, p.path);
          assert.notEqual(sectionBytes(raw, m, { part, text: "MIME" }), null, p.path);
          assert.notEqual(binaryBytes(raw, m, part), null, p.path);
        }
        assert.equal(sectionBytes(raw, m, { part: [] })!.length, raw.length);
      }),
      { numRuns: 300 },
    );
  });
});
