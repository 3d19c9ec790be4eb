/** BODY[section] and BINARY[section] octets (RFC 9051 6.4.5, RFC 3516) against exact expectations. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseMessage } from "../../mime/index.js";
import type { SectionSpec } from "../types.js";
import { binaryBytes, sectionBytes } from "./section.js";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../test/fixtures/mime");
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const crlf = (lines: string[]) => lines.map((l) => `${l}\r\n`).join("");

/** "3.HEADER.FIELDS (A B)"-like shorthand: part numbers, then the text specifier. */
function spec(s: string, fields?: string[]): SectionSpec {
  const m = /^([0-9.]*?)\.?(HEADER\.FIELDS\.NOT|HEADER\.FIELDS|HEADER|TEXT|MIME)?$/.exec(s)!;
  const part = m[1] === "" ? [] : m[1]!.split(".").map(Number);
  const out: SectionSpec = { part };
  if (m[2]) out.text = m[2] as SectionSpec["text"];
  if (fields) out.fields = fields;
  return out;
}

function sections(raw: Buffer) {
  const m = parseMessage(raw);
  return (s: string, fields?: string[]) => {
    const b = sectionBytes(raw, m, spec(s, fields));
    return b === null ? null : b.toString("utf8");
  };
}

describe("BODY[section] of RFC 3501 6.4.5's example", () => {
  const raw = fixture("rfc3501-sections.eml");
  const text = raw.toString("utf8");
  const get = sections(raw);
  const HEADER = crlf(["From: outer@example.test", "To: someone@example.test", "Subject: RFC 3501 6.4.5 sections", "MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=outer", ""]);
  const INNER3_HEADER = crlf(["From: inner3@example.test", "Subject: section 3", "Content-Type: multipart/mixed; boundary=m3", ""]);
  const INNER3_TEXT = crlf(["--m3", "Content-Type: text/plain", "", "3.1 text", "--m3", "Content-Type: application/octet-stream", "Content-Transfer-Encoding: base64", "", "AAECAw=="]) + "--m3--";

  test("the whole message, HEADER and TEXT", () => {
    assert.equal(get(""), text);
    assert.equal(get("HEADER"), HEADER);
    assert.equal(get("TEXT"), text.slice(HEADER.length));
  });

  test("leaf parts and their MIME headers", () => {
    assert.equal(get("1"), "1 text");
    assert.equal(get("1.MIME"), "Content-Type: text/plain\r\n\r\n");
    assert.equal(get("2"), "AAECAwQF");
    assert.equal(get("2.MIME"), "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    assert.equal(get("3.1"), "3.1 text");
    assert.equal(get("3.2"), "AAECAw==");
    assert.equal(get("4.1"), "R0lGODlhAQABAAAAACw=");
    assert.equal(get("4.1.MIME"), "Content-Type: image/gif\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    assert.equal(get("4.2.1"), "4.2.1 text");
    assert.equal(get("4.2.2.1"), "4.2.2.1 plain");
    assert.equal(get("4.2.2.2"), "4.2.2.2 <bold>rich</bold>");
    assert.equal(get("4.2.2.2.MIME"), "Content-Type: text/richtext\r\n\r\n");
  });

  test("message/rfc822 parts: the part, its MIME header, the inner HEADER and TEXT", () => {
    assert.equal(get("3"), INNER3_HEADER + INNER3_TEXT);
    assert.equal(get("3.MIME"), "Content-Type: message/rfc822\r\n\r\n");
    assert.equal(get("3.HEADER"), INNER3_HEADER);
    assert.equal(get("3.TEXT"), INNER3_TEXT);
    assert.equal(get("3.HEADER.FIELDS", ["subject", "X-None"]), "Subject: section 3\r\n\r\n");
    assert.equal(get("3.HEADER.FIELDS.NOT", ["subject", "CONTENT-TYPE"]), "From: inner3@example.test\r\n\r\n");
    assert.equal(get("4.2.HEADER"), crlf(["From: inner42@example.test", "Subject: section 4.2", "Content-Type: multipart/mixed; boundary=m42", ""]));
    assert.match(get("4.2.TEXT")!, /^--m42\r\n.*\r\n--m42--$/s);
  });

  test("a multipart part is its body: preamble, delimiters, parts, close delimiter", () => {
    assert.match(get("4")!, /^--four\r\nContent-Type: image\/gif\r\n.*\r\n--m42--\r\n--four--$/s);
    assert.equal(get("4.MIME"), "Content-Type: multipart/mixed; boundary=four\r\n\r\n");
    assert.match(get("4.2.2")!, /^--alt\r\n.*--alt--$/s);
  });

  test("sections that do not exist", () => {
    for (const s of ["5", "1.1", "3.3", "4.2.2.3", "4.1.1", "MIME", "1.HEADER", "1.TEXT", "4.HEADER", "4.1.HEADER.FIELDS", "0", "3.0.1"]) {
      assert.equal(get(s, s.includes("FIELDS") ? ["subject"] : undefined), null, s);
    }
  });
});

describe("BODY[section] of a single-part message", () => {
  const raw = fixture("rfc3501-plain.eml");
  const get = sections(raw);
  const headerEnd = raw.indexOf("\r\n\r\n") + 4;

  test("BODY[1] is the body, BODY[1.MIME] the header", () => {
    assert.equal(get("1"), raw.subarray(headerEnd).toString());
    assert.equal(get("1"), get("TEXT"));
    assert.equal(get("1.MIME"), raw.subarray(0, headerEnd).toString());
    assert.equal(get("2"), null);
    assert.equal(get("1.1"), null);
  });
});

describe("HEADER.FIELDS and HEADER.FIELDS.NOT", () => {
  const raw = fixture("composed.eml");
  const get = sections(raw);

  test("case-insensitive names, message order, folded lines whole, then the blank line", () => {
    assert.equal(
      get("HEADER.FIELDS", ["SUBJECT", "to", "Date"]),
      "To: =?UTF-8?Q?=C3=9Cn=C3=AFcode_Person?= <u@example.test>,\r\n plain@example.test\r\n" +
        "Subject: =?UTF-8?Q?Quarterly_report_=E2=80=94_r=C3=A9sum?=\r\n =?UTF-8?Q?=C3=A9_attached?=\r\n" +
        "Date: Sat, 02 Mar 2024 11:22:33 +0000\r\n\r\n",
    );
    assert.equal(get("HEADER.FIELDS", ["X-Absent"]), "\r\n");
    assert.equal(get("HEADER.FIELDS", []), "\r\n");
  });

  test(".NOT gives every other field; the two together hold every field", () => {
    const not = get("HEADER.FIELDS.NOT", ["to", "subject", "from", "cc", "reply-to", "in-reply-to", "message-id", "date"]);
    assert.equal(not, 'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="--_NmP-outer-Part_1"\r\n\r\n');
    const header = get("HEADER")!;
    const names = ["From", "To", "Cc", "Reply-To", "In-Reply-To", "Subject", "Message-ID", "Date"];
    const a = get("HEADER.FIELDS", names)!;
    const b = get("HEADER.FIELDS.NOT", names)!;
    assert.equal(a.length + b.length - 2, header.length);
  });

  test("the same field twice is returned twice", () => {
    const get2 = sections(Buffer.from(crlf(["Received: a", "X: 1", "Received: b", "\tfolded", "", "body"])));
    assert.equal(get2("HEADER.FIELDS", ["received"]), "Received: a\r\nReceived: b\r\n\tfolded\r\n\r\n");
    assert.equal(get2("HEADER.FIELDS.NOT", ["received"]), "X: 1\r\n\r\n");
  });

  test("a header cut by the end of the message still ends with a line end and the blank line", () => {
    const get2 = sections(Buffer.from("From: a@b\r\nSubject: x"));
    assert.equal(get2("HEADER.FIELDS", ["subject"]), "Subject: x\r\n\r\n");
    assert.equal(get2("HEADER"), "From: a@b\r\nSubject: x");
    assert.equal(get2("TEXT"), "");
  });

  test("bare LF messages: fields as written, the blank line as CRLF", () => {
    const get2 = sections(Buffer.from("From: a@b\nSubject: x\n y\n\nbody\n"));
    assert.equal(get2("HEADER.FIELDS", ["subject"]), "Subject: x\n y\n\r\n");
    assert.equal(get2("TEXT"), "body\n");
  });
});

describe("BINARY[section] (RFC 3516)", () => {
  const raw = fixture("composed.eml");
  const m = parseMessage(raw);
  const bin = (part: number[]) => binaryBytes(raw, m, part);

  test("base64 and quoted-printable undone", () => {
    const pdf = Buffer.alloc(3000);
    for (let i = 0; i < pdf.length; i++) pdf[i] = (i * 31 + 7) % 256;
    assert.deepEqual(bin([2]), pdf);
    assert.deepEqual(bin([3, 2]), Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex"));
    assert.equal((bin([1, 1]) as Buffer).toString("utf8"), "Hello Zoë,\nthe report is attached.\n");
    assert.match((bin([1, 2]) as Buffer).toString("utf8"), /<script>var x = 'hidden';<\/script>$/);
  });

  test("7bit parts, multiparts, messages and the whole message are sent as they are", () => {
    assert.deepEqual(bin([3, 1]), sectionBytes(raw, m, { part: [3, 1] }));
    assert.deepEqual(bin([1]), sectionBytes(raw, m, { part: [1] }));
    assert.deepEqual(bin([3]), sectionBytes(raw, m, { part: [3] }));
    assert.deepEqual(bin([]), raw);
  });

  test("missing parts, unknown encodings, 8bit and binary", () => {
    assert.equal(bin([4]), null);
    assert.equal(bin([2, 1]), null);
    const odd = Buffer.from(
      crlf([
        "Content-Type: multipart/mixed; boundary=b",
        "",
        "--b",
        "Content-Transfer-Encoding: x-uuencode",
        "",
        "begin 644 x",
        "--b",
        "Content-Transfer-Encoding: 8bit",
        "",
        "caf\u00e9",
        "--b",
        "Content-Transfer-Encoding: binary",
        "",
        "\u0000\u0001",
        "--b",
        "Content-Type: text/plain",
        "Content-Transfer-Encoding: Base64",
        "",
        "aGVs",
        "bG8=",
        "--b--",
      ]),
      "utf8",
    );
    const mo = parseMessage(odd);
    assert.equal(binaryBytes(odd, mo, [1]), "unknown-cte");
    assert.equal((binaryBytes(odd, mo, [2]) as Buffer).toString("utf8"), "caf\u00e9");
    assert.deepEqual(binaryBytes(odd, mo, [3]), Buffer.from([0, 1]));
    assert.equal((binaryBytes(odd, mo, [4]) as Buffer).toString(), "hello");
  });
});

describe("a message whose body is a message/rfc822 with a single part inside", () => {
  const raw = Buffer.from(crlf(["Subject: outer", "Content-Type: message/rfc822", "", "From: x@y", "Subject: inner", "", "body", "line2"]));
  const get = sections(raw);

  test("BODY[1] is the encapsulated message, 1.HEADER / 1.TEXT its parts, 1.1 its body", () => {
    assert.equal(get("1"), crlf(["From: x@y", "Subject: inner", "", "body", "line2"]));
    assert.equal(get("1.HEADER"), crlf(["From: x@y", "Subject: inner", ""]));
    assert.equal(get("1.HEADER.FIELDS", ["SUBJECT"]), "Subject: inner\r\n\r\n");
    assert.equal(get("1.TEXT"), crlf(["body", "line2"]));
    assert.equal(get("1.1"), crlf(["body", "line2"]));
    assert.equal(get("1.2"), null);
    assert.equal(get("HEADER.FIELDS", ["subject"]), "Subject: outer\r\n\r\n");
  });
});
