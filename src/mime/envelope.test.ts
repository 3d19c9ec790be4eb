/**
 * ENVELOPE (RFC 3501 7.4.2): address lists, group syntax, the defaults for missing fields, and
 * raw (unfolded, undecoded) strings.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseMessage, type MimeAddress } from "./index.js";

const header = (...lines: string[]) => parseMessage(Buffer.from(lines.map((l) => `${l}\r\n`).join("") + "\r\nbody\r\n", "utf8")).envelope;
const addr = (name: string | null, mailbox: string | null, host: string | null): MimeAddress => ({ name, mailbox, host });
const groupStart = (name: string) => addr(null, name, null);
const groupEnd = addr(null, null, null);

describe("address lists", () => {
  const table: [value: string, expected: MimeAddress[]][] = [
    ["gray@cac.washington.edu", [addr(null, "gray", "cac.washington.edu")]],
    ["Terry Gray <gray@cac.washington.edu>", [addr("Terry Gray", "gray", "cac.washington.edu")]],
    ['"Gray, Terry" <gray@cac.washington.edu>, imap@cac.washington.edu', [addr("Gray, Terry", "gray", "cac.washington.edu"), addr(null, "imap", "cac.washington.edu")]],
    ['"quoted \\"name\\"" <q@x.test>', [addr('quoted "name"', "q", "x.test")]],
    ["=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>", [addr("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "keld", "dkuug.dk")]],
    ["Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", [addr("Pete", "pete", "silly.test")]],
    ["user@host.test (Comment Name)", [addr("Comment Name", "user", "host.test")]],
    ["<@route.test:user@host.test>", [addr(null, "user", "host.test")]],
    ['"john smith"@example.test', [addr(null, '"john smith"', "example.test")]],
    ["Jérôme <j@exemple.test>", [addr("Jérôme", "j", "exemple.test")]],
    ["postmaster", [addr(null, "postmaster", "")]],
    ["a@b.test; c@d.test", [addr(null, "a", "b.test"), addr(null, "c", "d.test")]],
    ["", []],
    ["<>", []],
    // RFC 5322 3.4 groups, written as RFC 3501 7.4.2 group syntax.
    ["undisclosed-recipients:;", [groupStart("undisclosed-recipients"), groupEnd]],
    [
      "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Mary <mary@x.test>",
      [groupStart("A Group"), addr("Ed Jones", "c", "a.test"), addr(null, "joe", "where.test"), addr("John", "jdoe", "one.test"), groupEnd, addr("Mary", "mary", "x.test")],
    ],
    ["one: a@x.test; two: b@y.test;", [groupStart("one"), addr(null, "a", "x.test"), groupEnd, groupStart("two"), addr(null, "b", "y.test"), groupEnd]],
  ];
  for (const [value, expected] of table) {
    test(JSON.stringify(value), () => {
      assert.deepEqual(header(`To: ${value}`).to, expected);
    });
  }

  test("a folded list is unfolded first", () => {
    assert.deepEqual(header("Cc: a@x.test,", "\tB <b@y.test>,", "  c@z.test").cc, [addr(null, "a", "x.test"), addr("B", "b", "y.test"), addr(null, "c", "z.test")]);
  });

  test("a huge list is cut at a comma, not mid-address", () => {
    const many = Array.from({ length: 30_000 }, (_, i) => `user${i}@example.test`).join(", ");
    const to = header(`To: ${many}`).to;
    assert.ok(to.length > 10_000 && to.length < 30_000, `${to.length}`);
    assert.deepEqual(to[to.length - 1], addr(null, `user${to.length - 1}`, "example.test"));
  });
});

describe("envelope fields", () => {
  test("every field, raw: unfolded and trimmed but not decoded", () => {
    const e = header(
      "Date: Wed, 17 Jul 1996",
      " 02:23:25 -0700 (PDT)",
      "Subject:   =?utf-8?Q?caf=C3=A9?=",
      "\t=?utf-8?Q?_cr=C3=A8me?=  ",
      "From: Sender <s@x.test>",
      "Sender: Secretary <sec@x.test>",
      "Reply-To: list@x.test",
      "To: t@x.test",
      "Cc: c@x.test",
      "Bcc: b@x.test",
      "In-Reply-To: <parent@x.test>",
      "Message-ID:",
      "  <id@x.test>",
    );
    assert.deepEqual(e, {
      date: "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)",
      subject: "=?utf-8?Q?caf=C3=A9?=\t=?utf-8?Q?_cr=C3=A8me?=",
      subjectDecoded: "café crème",
      from: [addr("Sender", "s", "x.test")],
      sender: [addr("Secretary", "sec", "x.test")],
      replyTo: [addr(null, "list", "x.test")],
      to: [addr(null, "t", "x.test")],
      cc: [addr(null, "c", "x.test")],
      bcc: [addr(null, "b", "x.test")],
      inReplyTo: "<parent@x.test>",
      messageId: "<id@x.test>",
    });
  });

  test("RFC 3501 7.4.2: sender and reply-to default to from when absent or empty", () => {
    const from = [addr("A", "a", "x.test")];
    const absent = header("From: A <a@x.test>");
    assert.deepEqual([absent.sender, absent.replyTo], [from, from]);
    const empty = header("From: A <a@x.test>", "Sender:", "Reply-To:   ");
    assert.deepEqual([empty.sender, empty.replyTo], [from, from]);
  });

  test("no header fields: nulls and empty lists", () => {
    assert.deepEqual(header(), {
      date: null,
      subject: null,
      subjectDecoded: null,
      from: [],
      sender: [],
      replyTo: [],
      to: [],
      cc: [],
      bcc: [],
      inReplyTo: null,
      messageId: null,
    });
  });

  test("present but empty strings stay empty strings; the first occurrence wins", () => {
    const e = header("Subject:", "Subject: second", "Date: ");
    assert.equal(e.subject, "");
    assert.equal(e.subjectDecoded, "");
    assert.equal(e.date, "");
  });

  test("field names are case-insensitive", () => {
    const e = header("SUBJECT: upper", "fRoM: a@x.test", "message-id: <m@x.test>");
    assert.equal(e.subject, "upper");
    assert.equal(e.from[0]?.mailbox, "a");
    assert.equal(e.messageId, "<m@x.test>");
  });

  test("8-bit header values: UTF-8 (RFC 6532), else latin1", () => {
    assert.deepEqual(header("From: Zoë <zoë@exämple.test>").from, [addr("Zoë", "zoë", "exämple.test")]);
    const latin1 = parseMessage(Buffer.from("From: Zo\xeb <z@x.test>\r\n\r\n", "latin1")).envelope;
    assert.deepEqual(latin1.from, [addr("Zoë", "z", "x.test")]);
  });
});
