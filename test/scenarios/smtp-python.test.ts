/**
 * Petrel's SMTP listeners driven by Python's smtplib: plain, STARTTLS, SMTP_SSL, several
 * messages in one session, SMTPUTF8 addresses, DSN parameters and 8BITMIME bodies. Each test
 * runs a short script (`python3 -c`) that gets its input as JSON on stdin and prints JSON.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { runPython } from "../helpers/python.js";
import { startServer, type TestServer } from "../helpers/server.js";
import { queueIdOf } from "../helpers/smtp-client.js";
import { assertStored, mailParams, sessionFacts, storedMessage } from "../helpers/stored.js";

/** Shared by every script: input, an unverified TLS context, and send() that keeps each reply. */
const PRELUDE = `
import base64, json, smtplib, ssl, sys
inp = json.loads(sys.stdin.read())
PORT = inp["ports"]["smtp"]
SUBMISSIONS = inp["ports"]["submissions"]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {}

def msg(name):
    return base64.b64decode(inp["messages"][name])

def reply(r):
    return [r[0], r[1].decode("utf-8")]

def send(s, sender, rcpts, data, mail_options=()):
    """What SMTP.sendmail does, one step at a time; rcpts are addresses or (address, options)."""
    res = {"mail": reply(s.mail(sender, list(mail_options))), "rcpt": []}
    if res["mail"][0] != 250:
        s.rset()
        return res
    for r in rcpts:
        addr, opts = (r, []) if isinstance(r, str) else r
        res["rcpt"].append(reply(s.rcpt(addr, list(opts))))
    if not any(r[0] == 250 for r in res["rcpt"]):
        s.rset()
        return res
    res["data"] = reply(s.data(data))
    return res
`;

const python = (script: string, input: object) => runPython(PRELUDE, script, input, 20_000);

type Reply = [number, string];
interface Sent {
  mail: Reply;
  rcpt: Reply[];
  data?: Reply;
}


function accepted(s: Sent): string {
  assert.equal(s.mail[0], 250, `MAIL: ${s.mail[1]}`);
  for (const r of s.rcpt) assert.equal(r[0], 250, `RCPT: ${r[1]}`);
  assert.ok(s.data, "DATA was sent");
  assert.equal(s.data[0], 250, `DATA: ${s.data[1]}`);
  assert.match(s.data[1], /^2\.0\.0 Ok: queued as /);
  return queueIdOf(s.data[1]);
}

describe("Python smtplib", () => {
  let server: TestServer;
  let ports: Record<string, number>;
  before(async () => {
    server = await startServer({ overrides: { smtp: { submissionRequiresAuth: false } } });
    ports = { smtp: server.port("smtp"), submissions: server.port("submissions") };
  });
  after(async () => {
    await server.stop();
  });

  const b64 = (m: Buffer | string) => Buffer.from(m).toString("base64");

  test("plain: SMTP.sendmail to a local address", async () => {
    const message = "From: a@client.test\r\nTo: u@petrel.test\r\nSubject: python plain\r\n\r\nHello from smtplib.\r\n.A line that starts with a dot\r\n";
    const before = new Set((await server.petrel.store.queue.list()).map((e) => e.id));
    const res = await python(
      `
with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test") as s:
    out["refused"] = s.sendmail("a@client.test", ["u@petrel.test"], msg("m"))
`,
      { ports, messages: { m: b64(message) } },
    );
    assert.deepEqual(res.refused, {});
    const added = (await server.petrel.store.queue.list()).filter((e) => !before.has(e.id));
    assert.equal(added.length, 1);
    await assertStored(server, added[0]!.id, { content: message, protocol: "ESMTP", sender: "a@client.test", recipients: ["u@petrel.test"] });
  });

  test("STARTTLS: starttls() then EHLO again; stored as ESMTPS", async () => {
    const message = "Subject: python starttls\r\n\r\nencrypted\r\n";
    const res = await python(
      `
with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test") as s:
    s.ehlo()
    out["before"] = s.has_extn("starttls")
    out["starttls"] = reply(s.starttls(context=ctx))
    s.ehlo()
    out["after"] = s.has_extn("starttls")
    out["requiretls"] = s.has_extn("requiretls")
    out["version"] = s.sock.version()
    out["sent"] = send(s, "a@client.test", ["u@petrel.test"], msg("m"))
`,
      { ports, messages: { m: b64(message) } },
    );
    assert.equal(res.before, true);
    assert.deepEqual(res.starttls, [220, "2.0.0 Ready to start TLS"]);
    assert.equal(res.after, false, "STARTTLS is not offered again inside TLS");
    assert.equal(res.requiretls, true);
    const id = accepted(res.sent as Sent);
    const m = await assertStored(server, id, { content: message, protocol: "ESMTPS" });
    assert.match(m.received, new RegExp(`\\(using ${String(res.version).replace(".", "\\.")} with cipher `));
  });

  test("SMTP_SSL (implicit TLS) on the submissions port", async () => {
    const message = "Subject: python smtps\r\n\r\nimplicit\r\n";
    const res = await python(
      `
with smtplib.SMTP_SSL("127.0.0.1", SUBMISSIONS, local_hostname="client.test", context=ctx) as s:
    s.ehlo()
    out["starttls"] = s.has_extn("starttls")
    out["sent"] = send(s, "a@client.test", ["u@petrel.test"], msg("m"))
    out["relay"] = send(s, "a@client.test", ["u@elsewhere.test"], b"")
`,
      { ports, messages: { m: b64(message) } },
    );
    assert.equal(res.starttls, false);
    const m = await assertStored(server, accepted(res.sent as Sent), { content: message, protocol: "ESMTPS" });
    assert.equal(sessionFacts(m.entry).listener, "submissions");
    // Without AUTH, relay control applies on submissions too.
    const relay = res.relay as Sent;
    assert.equal(relay.rcpt[0]![0], 554);
    assert.match(relay.rcpt[0]![1], /^5\.7\.1 /);
  });

  test("several messages in one session, each with its own queue id", async () => {
    const messages = { m0: b64("Subject: 0\r\n\r\nfirst\r\n"), m1: b64("Subject: 1\r\n\r\nsecond\r\n"), m2: b64("Subject: 2\r\n\r\nthird\r\n") };
    const res = await python(
      `
with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test") as s:
    s.ehlo()
    out["sent"] = [send(s, "a@client.test", ["r%d@petrel.test" % i], msg("m%d" % i)) for i in range(3)]
    out["noop"] = reply(s.noop())
`,
      { ports, messages },
    );
    const sent = res.sent as Sent[];
    const ids = sent.map(accepted);
    assert.equal(new Set(ids).size, 3);
    for (let i = 0; i < 3; i++) {
      await assertStored(server, ids[i]!, { content: Buffer.from(messages[`m${i}` as keyof typeof messages], "base64"), recipients: [`r${i}@petrel.test`] });
    }
    assert.deepEqual(res.noop, [250, "2.0.0 Ok"]);
  });

  test("SMTPUTF8: non-ASCII sender and recipient, UTF-8 headers, UTF8SMTP in Received:", async () => {
    const message = Buffer.from("From: 发件人 <发件人@client.test>\r\nTo: 用户@petrel.test\r\nSubject: 你好\r\n\r\n正文\r\n", "utf8");
    const res = await python(
      `
with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test") as s:
    s.ehlo()
    out["smtputf8"] = s.has_extn("smtputf8")
    out["sent"] = send(s, "发件人@client.test", ["用户@petrel.test"], msg("m"), ["SMTPUTF8", "BODY=8BITMIME"])
`,
      { ports, messages: { m: b64(message) } },
    );
    assert.equal(res.smtputf8, true);
    const m = await assertStored(server, accepted(res.sent as Sent), { content: message, protocol: "UTF8SMTP", sender: "发件人@client.test", recipients: ["用户@petrel.test"] });
    assert.match(m.received, /\tfor <用户@petrel\.test>;/);
    assert.equal(mailParams(m.entry).smtputf8, true);
    assert.equal(mailParams(m.entry).body, "8BITMIME");
  });

  test("a non-ASCII address without SMTPUTF8 gets 553 5.6.7, at MAIL and at RCPT", async () => {
    const before = await server.petrel.store.queue.count();
    const res = await python(
      `
with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test") as s:
    s.ehlo()
    s.command_encoding = "utf-8"  # let smtplib put UTF-8 on the wire without declaring SMTPUTF8
    out["mail"] = reply(s.docmd("MAIL", "FROM:<用户@petrel.test>"))
    out["mail_ascii"] = reply(s.docmd("MAIL", "FROM:<a@client.test>"))
    out["rcpt"] = reply(s.docmd("RCPT", "TO:<用户@petrel.test>"))
    out["data"] = reply(s.docmd("DATA"))
`,
      { ports, messages: {} },
    );
    assert.equal((res.mail as Reply)[0], 553);
    assert.match((res.mail as Reply)[1], /^5\.6\.7 /);
    assert.equal((res.mail_ascii as Reply)[0], 250);
    assert.equal((res.rcpt as Reply)[0], 553);
    assert.match((res.rcpt as Reply)[1], /^5\.6\.7 /);
    assert.equal((res.data as Reply)[0], 554, "no valid recipient");
    assert.equal(await server.petrel.store.queue.count(), before);
  });

  test("DSN parameters (RET, ENVID, NOTIFY, ORCPT) are decoded and stored", async () => {
    const message = "Subject: dsn\r\n\r\nplease tell me\r\n";
    const res = await python(
      `
with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test") as s:
    s.ehlo()
    out["dsn"] = s.has_extn("dsn")
    out["sent"] = send(s, "a@client.test", [
        ("one@petrel.test", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Original+2BTag@petrel.test"]),
        ("two@petrel.test", ["NOTIFY=NEVER"]),
        ("three@petrel.test", ["NOTIFY=delay", "ORCPT=utf-8;\\\\x{7528}\\\\x{6237}@petrel.test"]),
        "four@petrel.test",
    ], msg("m"), ["RET=HDRS", "ENVID=QQ+2B314+3Dabc"])
    out["bad"] = [
        reply(s.docmd("MAIL", "FROM:<a@client.test> RET=BOGUS")),
        reply(s.docmd("MAIL", "FROM:<a@client.test> ENVID=bad+zz")),
        reply(s.docmd("MAIL", "FROM:<a@client.test> ENVID=id+0D+0ABcc:+20victim@evil.test")),
        reply(s.docmd("MAIL", "FROM:<a@client.test> ENVID=latin1+E9")),
        reply(s.docmd("MAIL", "FROM:<a@client.test> FOO=bar")),
        reply(s.docmd("MAIL", "FROM:<a@client.test> ENVID=caf+C3+A9")),
        reply(s.docmd("RCPT", "TO:<u@petrel.test> NOTIFY=NEVER,SUCCESS")),
        reply(s.docmd("RCPT", "TO:<u@petrel.test> ORCPT=nosemicolon")),
        reply(s.docmd("RCPT", "TO:<u@petrel.test> NOTIFY=SOMETIMES")),
        reply(s.docmd("RCPT", "TO:<u@petrel.test> ORCPT=rfc822;u@petrel.test+0D+0AX-Injected:+20yes")),
        reply(s.docmd("RCPT", "TO:<u@petrel.test> ORCPT=rfc822;+E7+94+A8+E6+88+B7@petrel.test")),
    ]
    out["second"] = reply(s.data(msg("m")))
`,
      { ports, messages: { m: b64(message) } },
    );
    assert.equal(res.dsn, true);
    const m = await assertStored(server, accepted(res.sent as Sent), { content: message, recipients: ["one@petrel.test", "two@petrel.test", "three@petrel.test", "four@petrel.test"] });
    assert.equal(mailParams(m.entry).ret, "HDRS");
    assert.equal(mailParams(m.entry).envid, "QQ+314=abc");
    assert.deepEqual(
      m.entry.recipients.map((r) => r.dsn),
      [
        { notify: ["SUCCESS", "FAILURE"], orcpt: { type: "rfc822", address: "Original+Tag@petrel.test" } },
        { notify: ["NEVER"] },
        { notify: ["DELAY"], orcpt: { type: "utf-8", address: "用户@petrel.test" } },
        {},
      ],
    );
    assert.deepEqual(
      (res.bad as Reply[]).map((r) => `${r[0]} ${r[1].slice(0, 5)}`),
      ["501 5.5.4", "501 5.5.4", "501 5.5.4", "501 5.5.4", "555 5.5.4", "250 2.1.0", "501 5.5.4", "501 5.5.4", "501 5.5.4", "501 5.5.4", "250 2.1.5"],
    );
    // xtext "+HH" octets are UTF-8: "caf+C3+A9" is "café", and the ORCPT is "用户@petrel.test".
    const second = await storedMessage(server, queueIdOf((res.second as Reply)[1]));
    assert.equal(mailParams(second.entry).envid, "café");
    assert.deepEqual(second.entry.recipients.map((r) => r.dsn), [{ orcpt: { type: "rfc822", address: "用户@petrel.test" } }]);
  });

  test("8BITMIME: UTF-8 body bytes are preserved byte for byte, dot-stuffing undone", async () => {
    const message = Buffer.concat([
      Buffer.from("Subject: =?utf-8?q?8bit?=\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", "latin1"),
      Buffer.from("Ünïcödé ✓ — «quotes» 🐦\r\n.dot at the start\r\n..two dots\r\n", "utf8"),
      Buffer.from([0xc3, 0xa9, 0x0d, 0x0a]),
    ]);
    const res = await python(
      `
with smtplib.SMTP("127.0.0.1", PORT, local_hostname="client.test") as s:
    s.ehlo()
    out["8bitmime"] = s.has_extn("8bitmime")
    out["sent"] = send(s, "a@client.test", ["u@petrel.test"], msg("m"), ["BODY=8BITMIME"])
`,
      { ports, messages: { m: b64(message) } },
    );
    assert.equal(res["8bitmime"], true);
    const m = await assertStored(server, accepted(res.sent as Sent), { content: message });
    assert.equal(mailParams(m.entry).body, "8BITMIME");
    assert.equal(mailParams(m.entry).smtputf8, false);
  });
});
