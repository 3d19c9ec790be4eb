/** headerLines: the raw fields of a header block, for BODY[HEADER.FIELDS (...)]. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { headerLines, parseMessage } from "./index.js";

const fields = (s: string) => {
  const raw = Buffer.from(s, "latin1");
  const m = parseMessage(raw);
  return headerLines(raw, m.root.headerStart, m.root.headerEnd).map((f) => [f.name, f.raw.toString("latin1")]);
};

const table: [name: string, header: string, expected: string[][]][] = [
  ["simple fields, blank line excluded", "Subject: a\r\nFrom: b@x\r\n\r\nbody", [["Subject", "Subject: a\r\n"], ["From", "From: b@x\r\n"]]],
  ["folded lines stay with their field", "Subject: a\r\n b\r\n\tc\r\nTo: d\r\n\r\n", [["Subject", "Subject: a\r\n b\r\n\tc\r\n"], ["To", "To: d\r\n"]]],
  ["bare LF", "Subject: a\n b\nTo: d\n\nbody", [["Subject", "Subject: a\n b\n"], ["To", "To: d\n"]]],
  ["white space before the colon (RFC 5322 4.5.8)", "Subject : a\r\n\r\n", [["Subject", "Subject : a\r\n"]]],
  ["a line with no colon has no name", "Subject: a\r\nno colon here\r\nTo: b\r\n\r\n", [["Subject", "Subject: a\r\n"], ["", "no colon here\r\n"], ["To", "To: b\r\n"]]],
  ["a name with a space is no name", "Bad Name: x\r\n\r\n", [["", "Bad Name: x\r\n"]]],
  ["a continuation line first", " orphan\r\nSubject: a\r\n\r\n", [["", " orphan\r\n"], ["Subject", "Subject: a\r\n"]]],
  ["no blank line, no final line end", "Subject: a\r\nTo: b", [["Subject", "Subject: a\r\n"], ["To", "To: b"]]],
  ["an empty value", "X-Empty:\r\n\r\n", [["X-Empty", "X-Empty:\r\n"]]],
  ["8-bit octets are kept as they are", "Subject: \xe9\xe8\r\n\r\n", [["Subject", "Subject: \xe9\xe8\r\n"]]],
  ["no header at all", "\r\nbody", []],
];
for (const [name, header, expected] of table) {
  test(name, () => assert.deepEqual(fields(header), expected));
}

test("the fields of a body part's MIME header, and out-of-range offsets", () => {
  const raw = Buffer.from("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-ID: <x>\r\n\r\nhi\r\n--b--\r\n");
  const p = parseMessage(raw).root.children[0]!;
  assert.deepEqual(
    headerLines(raw, p.headerStart, p.headerEnd).map((f) => f.name),
    ["Content-Type", "Content-ID"],
  );
  assert.deepEqual(headerLines(raw, -5, 1e9).length, 1);
  assert.deepEqual(headerLines(raw, 1e9, 5), []);
});
