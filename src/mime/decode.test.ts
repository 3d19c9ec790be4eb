/**
 * Decoding: RFC 2047 encoded-words, RFC 2231 parameters, body charsets and transfer encodings,
 * HTML to text, and the search text with its bounds.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findPart, parseMessage, MIME_LIMITS } from "./index.js";
import { htmlToText } from "./html.js";
import { charsetDecode, transferDecode } from "./text.js";
import { decodeWords } from "./words.js";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/mime");
const crlf = (lines: string[]) => Buffer.from(lines.map((l) => `${l}\r\n`).join(""), "utf8");
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

describe("RFC 2047 encoded-words", () => {
  const table: [encoded: string, decoded: string][] = [
    ["=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen"],
    ["=?iso-8859-1?q?caf=E9?=", "café"],
    ["=?windows-1252?Q?=93quoted=94_=80?=", "“quoted” €"],
    ["=?shift_jis?B?grGC8YLJgr+CzQ==?=", "こんにちは"],
    ["=?koi8-r?B?8NLJ18XU?=", "Привет"],
    ["=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "テスト"],
    ["=?UTF-8?B?w6k=?=", "é"],
    // RFC 2047 6.2: white space between adjacent encoded-words is dropped, other text is kept.
    ["=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=", "ab"],
    ["=?ISO-8859-1?Q?a?=\t =?ISO-8859-1?Q?b?=", "ab"],
    ["=?ISO-8859-1?Q?a?= b =?ISO-8859-1?Q?c?=", "a b c"],
    ["plain (no words)", "plain (no words)"],
    // RFC 2231 5: a language in the charset part.
    ["=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore"],
    // Broken ones are left alone rather than thrown over.
    ["=?utf-8?Q?unterminated", "=?utf-8?Q?unterminated"],
  ];
  for (const [encoded, decoded] of table) {
    test(encoded, () => {
      assert.equal(decodeWords(encoded), decoded);
      const m = parseMessage(crlf([`Subject: ${encoded}`, ""]));
      assert.equal(m.subject, decoded);
      assert.equal(m.envelope.subject, encoded, "ENVELOPE keeps the raw form");
    });
  }

  test("an unknown charset does not throw", () => {
    assert.equal(typeof decodeWords("=?x-unknown?Q?abc?="), "string");
  });
});

describe("RFC 2231 parameters", () => {
  const params = (ct: string, cd?: string) => {
    const m = parseMessage(crlf([`Content-Type: ${ct}`, ...(cd ? [`Content-Disposition: ${cd}`] : []), "", "x"]));
    return { params: m.root.params, disposition: m.root.disposition };
  };

  test("RFC 2231 3: continuations", () => {
    assert.deepEqual(params('message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"').params, {
      "access-type": "URL",
      url: "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar",
    });
  });

  test("RFC 2231 4: charset and language", () => {
    assert.deepEqual(params("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A").params, { title: "This is ***fun***" });
  });

  test("RFC 2231 4.1: continuations with charsets, mixed with plain segments", () => {
    assert.deepEqual(
      params(`application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn't it!"`).params,
      { title: "This is even more ***fun*** isn't it!" },
    );
  });

  test("a non-ASCII file name in latin1 and in UTF-8", () => {
    assert.deepEqual(params("application/pdf", "attachment; filename*=iso-8859-1''%E9t%E9.pdf").disposition, { type: "attachment", params: { filename: "été.pdf" } });
    assert.deepEqual(params("application/pdf", "attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf").disposition, { type: "attachment", params: { filename: "€ rates.pdf" } });
  });

  test("a folded header with a quoted value and keys in any case", () => {
    const m = parseMessage(crlf(["Content-Type: text/plain;", '\tCharSet="utf-8";', "  FORMAT=flowed", "", "x"]));
    assert.deepEqual(m.root.params, { charset: "utf-8", format: "flowed" });
  });
});

describe("body charsets and transfer encodings", () => {
  test("the four charsets of charsets.eml, each in its own encoding", () => {
    const raw = readFileSync(join(FIXTURES, "charsets.eml"));
    const m = parseMessage(raw);
    assert.deepEqual(
      m.root.children.map((c) => [c.params["charset"], c.encoding]),
      [
        ["iso-8859-1", "QUOTED-PRINTABLE"],
        ["windows-1252", "8BIT"],
        ["shift_jis", "BASE64"],
        ["koi8-r", "8BIT"],
      ],
    );
    assert.equal(
      m.searchBody,
      ["Café déjà vu, naïve façade", "Smart “quotes” and the € sign", "こんにちは、世界。日本語のテキスト", "Привет, мир! Съешь же ещё этих мягких французских булок", ""].join("\n"),
    );
    assert.equal(m.subject, "日本語€uro", "RFC 2047 6.2: the space between two encoded-words goes");
    assert.match(m.searchHeaders, /^From: Jürgen <j@example\.test>\nTo: Владимир <v@example\.test>\nSubject: 日本語€uro\n/);
  });

  const decode = (body: Buffer, encoding: string, charset?: string) => charsetDecode(transferDecode(body, encoding), charset);
  const table: [name: string, body: Buffer, encoding: string, charset: string | undefined, text: string][] = [
    ["iso-8859-1 8bit", hex("43 61 66 e9"), "8BIT", "iso-8859-1", "Café"],
    ["windows-1252 8bit (0x80-0x9f are not C1 controls)", hex("80 20 93 71 94"), "8BIT", "windows-1252", "€ “q”"],
    ["shift_jis 8bit", hex("93fa 967b 8cea"), "8BIT", "Shift_JIS", "日本語"],
    ["koi8-r quoted-printable", Buffer.from("=F0=D2=C9=D7=C5=D4"), "QUOTED-PRINTABLE", "KOI8-R", "Привет"],
    ["utf-8 base64 with line breaks", Buffer.from("w6l0\r\n w6k=\r\n"), "BASE64", "utf-8", "été"],
    ["quoted-printable soft line breaks", Buffer.from("long =\r\nline=3D=\nend"), "QUOTED-PRINTABLE", "us-ascii", "long line=end"],
    ["no charset, 8-bit UTF-8", Buffer.from("naïve"), "8BIT", undefined, "naïve"],
    ["no charset, 8-bit latin1", hex("6e 61 ef 76 65"), "8BIT", undefined, "naïve"],
    ["unknown charset: as UTF-8", Buffer.from("abc"), "7BIT", "x-unknown", "abc"],
    ["unknown transfer encoding: as is", Buffer.from("raw"), "X-UUENCODE", "us-ascii", "raw"],
  ];
  for (const [name, body, encoding, charset, text] of table) {
    test(name, () => assert.equal(decode(body, encoding, charset), text));
  }

  test("garbage in base64 and quoted-printable does not throw", () => {
    assert.equal(typeof decode(Buffer.from("!!!*** =?=\r\n%%"), "BASE64", "utf-8"), "string");
    assert.equal(typeof decode(Buffer.from("=ZZ=\r=4"), "QUOTED-PRINTABLE", "koi8-r"), "string");
  });
});

describe("search text", () => {
  test("HTML: tags, comments, scripts and styles dropped; entities decoded", () => {
    assert.equal(
      htmlToText("<html><head><style>p { color: red }</style><title>T</title></head><body><!-- hidden --><p>Caf&eacute; &amp; <b>cr</b>&#232;me&nbsp;br&ucirc;l&eacute;e</p><script type='x'>var hidden = '<p>';</script><table><tr><td>a</td><td>b</td></tr></table></body></html>"),
      "T\nCafé & crème brûlée\na b",
    );
  });

  test("HTML: unclosed tags and comments do not hang or throw", () => {
    assert.equal(htmlToText("a < b"), "a < b");
    assert.equal(htmlToText("x <!-- never closed"), "x");
    assert.equal(htmlToText("<script>never closed"), "");
    const hostile = "<a".repeat(200_000) + "<!--".repeat(100_000);
    const t = Date.now();
    htmlToText(hostile);
    assert.ok(Date.now() - t < 2000);
  });

  test("only text/plain and text/html parts are searched; attachments are counted", () => {
    const m = parseMessage(
      crlf([
        "Content-Type: multipart/mixed; boundary=b",
        "",
        "--b",
        "Content-Type: text/plain",
        "",
        "visible text",
        "--b",
        "Content-Type: text/csv; name=data.csv",
        "",
        "not,searched",
        "--b",
        "Content-Type: application/octet-stream",
        "Content-Disposition: attachment",
        "",
        "binary",
        "--b",
        "Content-Type: image/png",
        'Content-Disposition: inline; filename="a.png"',
        "",
        "png",
        "--b--",
      ]),
    );
    assert.equal(m.searchBody, "visible text\n");
    assert.equal(m.attachments, 3);
  });

  test("searchBody is at most 2 MiB of UTF-8, cut at a character", () => {
    const big = "é".repeat(1_500_000); // 3 MB of UTF-8
    const m = parseMessage(Buffer.concat([crlf(["Content-Type: text/plain; charset=utf-8", ""]), Buffer.from(big)]));
    const bytes = Buffer.byteLength(m.searchBody);
    assert.ok(bytes <= MIME_LIMITS.maxSearchBody && bytes > MIME_LIMITS.maxSearchBody - 4, `${bytes}`);
    assert.equal(m.searchBody.includes("\uFFFD"), false);
  });

  test("searchHeaders is bounded too", () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `X-Header-${i}: ${"v".repeat(20)}`);
    const m = parseMessage(crlf([...lines, "", "body"]));
    assert.ok(Buffer.byteLength(m.searchHeaders) <= MIME_LIMITS.maxSearchHeaders);
    assert.match(m.searchHeaders, /^X-Header-0: v+\n/);
  });

  test("a text part inside a forwarded message is searched", () => {
    const m = parseMessage(crlf(["Content-Type: message/rfc822", "", "Subject: inner", "Content-Type: text/html", "", "<p>inner &lt;html&gt;</p>"]));
    assert.equal(findPart(m.root, "1.1")?.subtype, "html");
    assert.equal(m.searchBody, "inner <html>\n");
  });
});
