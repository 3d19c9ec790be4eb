/** The DSN builder: each report parsed back with mime/ and checked field by field. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { parseMessage, type MimePart } from "../mime/index.js";
import { buildDsn, enhancedCode, headerOf, statusFor, wantsNotice, type DsnInput } from "./dsn.js";

const T_ARRIVAL = Date.UTC(2026, 10, 30, 8, 0, 0);
const T_NOW = Date.UTC(2026, 10, 30, 9, 30, 0);
const ORIGINAL = Buffer.from("From: Alice <alice@petrel.test>\r\nTo: bob@remote.example\r\nSubject: Lunch\r\nMessage-ID: <m1@petrel.test>\r\n\r\nAre we still on for lunch?\r\n");

function input(o: Partial<DsnInput> = {}): DsnInput {
  return {
    hostname: "mx.petrel.test",
    queueId: "0123456789ABCDEF",
    sender: "alice@petrel.test",
    arrivalDate: T_ARRIVAL,
    original: ORIGINAL,
    now: T_NOW,
    recipients: [
      {
        address: "bob@remote.example",
        orcpt: { type: "rfc822", address: "Bob@Remote.example" },
        action: "failed",
        status: "5.1.1",
        reply: "550-5.1.1 The email account that you tried to reach does not exist.\r\n550 5.1.1 Please check the address.",
        remoteMta: "mx1.remote.example",
        lastAttemptAt: T_NOW,
      },
      { address: "carol@remote.example", action: "failed", status: "5.2.2", reply: "552 5.2.2 Mailbox full", lastAttemptAt: T_NOW },
    ],
    ...o,
  };
}

/** Header fields of a block ("Name: value" lines, unfolded), names lower-cased; repeated names keep the first. */
function fields(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const m = /^([^:\s]+):\s*(.*)$/.exec(line);
    if (m && !out.has(m[1]!.toLowerCase())) out.set(m[1]!.toLowerCase(), m[2]!);
  }
  return out;
}

interface Report {
  raw: Buffer;
  header: Map<string, string>;
  root: MimePart;
  text: string;
  perMessage: Map<string, string>;
  perRecipient: Map<string, string>[];
  returned: MimePart;
  returnedBytes: Buffer;
}

function parse(raw: Buffer): Report {
  const p = parseMessage(raw);
  const root = p.root;
  const body = (part: MimePart) => raw.subarray(part.bodyStart, part.bodyEnd);
  assert.equal(root.children.length, 3, "three parts");
  const [human, status, returned] = root.children as [MimePart, MimePart, MimePart];
  assert.equal(`${human.type}/${human.subtype}`, "text/plain");
  const blocks = body(status).toString("utf8").split(/\r\n\r\n/).filter((b) => b.trim() !== "");
  return {
    raw,
    header: fields(raw.subarray(0, p.headerEnd).toString("utf8")),
    root,
    text: body(human).toString("utf8"),
    perMessage: fields(blocks[0]!),
    perRecipient: blocks.slice(1).map(fields),
    returned,
    returnedBytes: body(returned),
  };
}

describe("buildDsn", () => {
  test("a failure report: RFC 3464 structure, per-message and per-recipient fields", () => {
    const built = buildDsn(input({ envid: "env-42" }));
    assert.equal(built.smtputf8, false);
    const r = parse(built.body);
    assert.equal(r.header.get("from"), "Mail Delivery System <MAILER-DAEMON@mx.petrel.test>");
    assert.equal(r.header.get("to"), "<alice@petrel.test>");
    assert.equal(r.header.get("auto-submitted"), "auto-replied");
    assert.equal(r.header.get("subject"), "Undelivered Mail Returned to Sender");
    assert.match(r.header.get("message-id")!, /^<0123456789ABCDEF\.[0-9a-f]+\.dsn@mx\.petrel\.test>$/);
    assert.ok(r.header.get("date"));
    assert.equal(`${r.root.type}/${r.root.subtype}`, "multipart/report");
    assert.equal(r.root.params["report-type"], "delivery-status");
    assert.equal(`${r.root.children[1]!.type}/${r.root.children[1]!.subtype}`, "message/delivery-status");
    assert.match(r.text, /could not\r\nbe delivered/);
    assert.match(r.text, /<bob@remote\.example>: failed \(host mx1\.remote\.example said: 550-5\.1\.1 The email account/);
    assert.match(r.text, /<carol@remote\.example>: failed \(552 5\.2\.2 Mailbox full\)/);

    assert.equal(r.perMessage.get("reporting-mta"), "dns; mx.petrel.test");
    assert.equal(r.perMessage.get("original-envelope-id"), "env-42");
    assert.equal(new Date(r.perMessage.get("arrival-date")!).getTime(), T_ARRIVAL);
    assert.equal(r.perRecipient.length, 2);
    const [bob, carol] = r.perRecipient as [Map<string, string>, Map<string, string>];
    assert.equal(bob.get("original-recipient"), "rfc822; Bob@Remote.example");
    assert.equal(bob.get("final-recipient"), "rfc822; bob@remote.example");
    assert.equal(bob.get("action"), "failed");
    assert.equal(bob.get("status"), "5.1.1");
    assert.equal(bob.get("remote-mta"), "dns; mx1.remote.example");
    assert.equal(bob.get("diagnostic-code"), "smtp; 550-5.1.1 The email account that you tried to reach does not exist. 550 5.1.1 Please check the address.");
    assert.equal(new Date(bob.get("last-attempt-date")!).getTime(), T_NOW);
    assert.equal(bob.get("will-retry-until"), undefined);
    assert.equal(carol.get("original-recipient"), undefined);
    assert.equal(carol.get("remote-mta"), undefined);
    assert.equal(carol.get("status"), "5.2.2");
    assert.equal(carol.get("diagnostic-code"), "smtp; 552 5.2.2 Mailbox full");
    // Report fields are folded: no line is long.
    for (const line of built.body.toString().split("\r\n")) if (!line.startsWith("Are we")) assert.ok(line.length <= 998);
  });

  test("without RET a small original comes back whole (message/rfc822)", () => {
    const r = parse(buildDsn(input()).body);
    assert.equal(`${r.returned.type}/${r.returned.subtype}`, "message/rfc822");
    assert.ok(r.returnedBytes.equals(ORIGINAL.subarray(0, ORIGINAL.length - 2)) || r.returnedBytes.equals(ORIGINAL));
    assert.equal(r.returned.envelope?.messageId, "<m1@petrel.test>");
  });

  test("RET=HDRS returns the header only (text/rfc822-headers); so does a large original without RET", () => {
    for (const o of [{ ret: "HDRS" }, { fullMax: 10 }]) {
      const r = parse(buildDsn(input(o)).body);
      assert.equal(`${r.returned.type}/${r.returned.subtype}`, "text/rfc822-headers", JSON.stringify(o));
      const text = r.returnedBytes.toString();
      assert.match(text, /^From: Alice <alice@petrel\.test>\r\n/);
      assert.match(text, /Subject: Lunch/);
      assert.doesNotMatch(text, /lunch\?/);
    }
  });

  test("RET=FULL returns the whole message even when large", () => {
    const r = parse(buildDsn(input({ ret: "FULL", fullMax: 10 })).body);
    assert.equal(`${r.returned.type}/${r.returned.subtype}`, "message/rfc822");
    assert.match(r.returnedBytes.toString(), /Are we still on for lunch\?/);
  });

  test("a delay report: Action delayed, 4.x.x status, Will-Retry-Until, headers only", () => {
    const until = T_ARRIVAL + 5 * 86_400_000;
    const built = buildDsn(input({ recipients: [{ address: "bob@remote.example", action: "delayed", status: statusFor("delayed", "451 4.4.1 Connection timed out"), reply: "451 4.4.1 Connection timed out", lastAttemptAt: T_NOW, willRetryUntil: until }] }));
    const r = parse(built.body);
    assert.equal(r.header.get("subject"), "Delayed Mail (still being retried)");
    const [bob] = r.perRecipient as [Map<string, string>];
    assert.equal(bob.get("action"), "delayed");
    assert.equal(bob.get("status"), "4.4.1");
    assert.equal(new Date(bob.get("will-retry-until")!).getTime(), until);
    assert.equal(`${r.returned.type}/${r.returned.subtype}`, "text/rfc822-headers");
    assert.match(r.text, /only a warning/);
  });

  test("a success report: Action delivered, or relayed", () => {
    const r = parse(buildDsn(input({ recipients: [{ address: "bob@petrel.test", action: "delivered", status: "2.0.0", reply: "250 2.0.0 delivered to 1 mailbox" }, { address: "x@remote.example", action: "relayed", status: "2.0.0", remoteMta: "mx.remote.example", reply: "250 2.0.0 Ok" }] })).body);
    assert.equal(r.header.get("subject"), "Successful Mail Delivery Report");
    assert.deepEqual(r.perRecipient.map((p) => p.get("action")), ["delivered", "relayed"]);
    assert.equal(`${r.returned.type}/${r.returned.subtype}`, "text/rfc822-headers");
  });

  test("UTF-8 addresses make an RFC 6533 report (global types, utf-8 address type, SMTPUTF8)", () => {
    const original = Buffer.from("From: Jörg <jörg@bücher.example>\r\nTo: josé@exämple.test\r\nSubject: Grüße\r\n\r\nHallo\r\n");
    const built = buildDsn(input({ sender: "jörg@bücher.example", original, recipients: [{ address: "josé@exämple.test", orcpt: { type: "utf-8", address: "josé@exämple.test" }, action: "failed", status: "5.1.1", reply: "550 5.1.1 unknown" }] }));
    assert.equal(built.smtputf8, true);
    assert.equal(built.eightBit, true);
    const r = parse(built.body);
    assert.equal(r.header.get("to"), "<jörg@bücher.example>");
    assert.equal(`${r.root.children[1]!.type}/${r.root.children[1]!.subtype}`, "message/global-delivery-status");
    assert.equal(`${r.returned.type}/${r.returned.subtype}`, "message/global");
    const [rcpt] = r.perRecipient as [Map<string, string>];
    assert.equal(rcpt.get("final-recipient"), "utf-8; josé@exämple.test");
    assert.equal(rcpt.get("original-recipient"), "utf-8; josé@exämple.test");
    const hdrs = parse(buildDsn(input({ sender: "jörg@bücher.example", original, ret: "HDRS", recipients: [{ address: "a@b.example", action: "failed", status: "5.0.0" }] })).body);
    assert.equal(`${hdrs.returned.type}/${hdrs.returned.subtype}`, "message/global-headers");
    assert.equal(hdrs.perRecipient[0]!.get("final-recipient"), "rfc822; a@b.example");
  });

  test("never a report to the null reverse-path, never an empty one", () => {
    assert.throws(() => buildDsn(input({ sender: "" })), /null reverse-path/);
    assert.throws(() => buildDsn(input({ recipients: [] })), /at least one recipient/);
  });
});

describe("NOTIFY and status codes", () => {
  test("wantsNotice: default failure and delay; NEVER none; a list as given", () => {
    const kinds = ["failure", "delay", "success"] as const;
    const table: [string[] | undefined, boolean[]][] = [
      [undefined, [true, true, false]],
      [[], [true, true, false]],
      [["NEVER"], [false, false, false]],
      [["SUCCESS"], [false, false, true]],
      [["success", "failure"], [true, false, true]],
      [["DELAY"], [false, true, false]],
    ];
    for (const [notify, want] of table) assert.deepEqual(kinds.map((k) => wantsNotice({ notify }, k)), want, JSON.stringify(notify));
  });

  test("statusFor: the reply's enhanced code when its class fits, else a generic one", () => {
    assert.equal(enhancedCode("550 5.1.1 no such user"), "5.1.1");
    assert.equal(enhancedCode("550-5.7.1 multi\r\n550 5.7.1 line"), "5.7.1");
    assert.equal(enhancedCode("550 no code"), null);
    assert.equal(statusFor("failed", "550 5.1.1 no"), "5.1.1");
    assert.equal(statusFor("failed", "550 no enhanced code"), "5.0.0");
    assert.equal(statusFor("failed", "451 4.4.1 timeout"), "5.4.7");
    assert.equal(statusFor("delayed", "451 4.4.1 timeout"), "4.4.1");
    assert.equal(statusFor("delayed", null), "4.0.0");
    assert.equal(statusFor("delivered", "250 2.0.0 ok"), "2.0.0");
    assert.equal(statusFor("delivered", "250 ok"), "2.0.0");
  });

  test("headerOf stops after the blank line (CRLF or LF)", () => {
    assert.equal(headerOf(Buffer.from("A: 1\r\nB: 2\r\n\r\nbody\r\n")).toString(), "A: 1\r\nB: 2\r\n\r\n");
    assert.equal(headerOf(Buffer.from("A: 1\n\nbody")).toString(), "A: 1\n\n");
    assert.equal(headerOf(Buffer.from("A: 1\r\n")).toString(), "A: 1\r\n");
  });
});
