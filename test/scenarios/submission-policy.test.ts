/**
 * Sender policy on authenticated submission, with real clients (swaks, Python smtplib,
 * nodemailer): a user sends as themselves (and +tag), as an alias that reaches them, and as
 * their send-as entries (set with `petrel user send-as`); as someone else MAIL gets 553 5.7.1,
 * a forged From:/Sender: gets 550 5.7.1 at end of data. RFC 6409 8: a submitted message
 * without Date: or Message-ID: gets them, after our Received:, counted in the stored size.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import nodemailer from "nodemailer";
import { startServer, type TestServer } from "../helpers/server.js";
import { SmtpClient, queueIdOf } from "../helpers/smtp-client.js";
import { runPython } from "../helpers/python.js";
import { storedMessage } from "../helpers/stored.js";
import { ok } from "../helpers/cli.js";
import { hashPassword } from "../../src/auth/password.js";

const ALICE = "alice@petrel.test";
const PASSWORD = "correct horse battery";
const FAST = { ln: 10, r: 8, p: 1 };
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

function swaks(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("swaks", ["--server", "127.0.0.1", "--ehlo", "client.test", "--timeout", "10", ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out }));
  });
}

const SMTPLIB = `
import json, smtplib, ssl, sys
inp = json.loads(sys.stdin.read())
ctx = ssl._create_unverified_context()
out = {}
def send(mail_from, rcpts, msg):
    s = smtplib.SMTP("127.0.0.1", inp["port"], local_hostname="client.test", timeout=10)
    s.starttls(context=ctx)
    s.login(inp["user"], inp["password"])
    try:
        refused = s.sendmail(mail_from, rcpts, msg.encode("utf-8"))
        return {"ok": True, "refused": {k: list(v) for k, v in refused.items()}}
    except smtplib.SMTPSenderRefused as e:
        return {"ok": False, "stage": "mail", "code": e.smtp_code, "text": e.smtp_error.decode()}
    except smtplib.SMTPDataError as e:
        return {"ok": False, "stage": "data", "code": e.smtp_code, "text": e.smtp_error.decode()}
    except smtplib.SMTPRecipientsRefused as e:
        return {"ok": False, "stage": "rcpt", "refused": {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}}
    finally:
        s.quit()
`;

type SendResult = { ok: boolean; stage?: string; code?: number; text?: string };

describe("submission: sender policy", () => {
  let server: TestServer;

  const smtplib = (mailFrom: string, msg: string, rcpts = ["bob@petrel.test"]) =>
    runPython<{ r: SendResult }>(SMTPLIB, `out["r"] = send(inp["from"], inp["rcpts"], inp["msg"])`, { port: server.port("submission"), user: ALICE, password: PASSWORD, from: mailFrom, rcpts, msg }).then((o) => o.r);

  const mailer = () =>
    nodemailer.createTransport({ host: "127.0.0.1", port: server.port("submissions"), secure: true, name: "client.test", tls: { rejectUnauthorized: false }, auth: { user: ALICE, pass: PASSWORD }, connectionTimeout: 5000, socketTimeout: 5000 });

  before(async () => {
    server = await startServer({ overrides: { auth: { failureDelay: "10ms", lockout: { maxFailures: 1000 } } } });
    const dir = server.petrel.store.directory;
    await dir.addAccount({ address: ALICE, passwordHash: await hashPassword(PASSWORD, FAST) });
    await dir.addAccount({ address: "bob@petrel.test", passwordHash: await hashPassword("bob's", FAST) });
    await dir.addAlias("info@petrel.test", [ALICE]);
    await dir.addAlias("sales@petrel.test", ["info@petrel.test", "bob@petrel.test"]);
    await dir.addAlias("support@petrel.test", ["bob@petrel.test"]);
    // The CLI against the running server's data: the server sees it within the cache's second.
    await ok(server.dataDir, ["user", "send-as", ALICE, "add", "boss@example.org", "@shared.example"]);
    await new Promise((r) => setTimeout(r, 1100));
  });
  after(async () => server.stop());

  test("petrel user send-as list shows the entries (text and JSON); remove takes one away", async () => {
    assert.equal(await ok(server.dataDir, ["user", "send-as", ALICE, "list"]), "boss@example.org\n@shared.example\n");
    await ok(server.dataDir, ["user", "send-as", ALICE, "add", "temp@example.org"]);
    await ok(server.dataDir, ["user", "send-as", ALICE, "remove", "temp@example.org"]);
    assert.deepEqual(JSON.parse(await ok(server.dataDir, ["user", "send-as", ALICE, "list", "--json"])), ["boss@example.org", "@shared.example"]);
  });

  test("swaks: as oneself (PLAIN over STARTTLS) is queued; as bob MAIL gets 553 5.7.1", async () => {
    const self = await swaks(["--port", String(server.port("submission")), "--tls", "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", PASSWORD, "--from", ALICE, "--to", "bob@petrel.test"]);
    assert.equal(self.code, 0, self.out);
    assert.match(self.out, /<~ {2}250 2\.0\.0 Ok: queued as /);
    const other = await swaks(["--port", String(server.port("submission")), "--tls", "--auth", "LOGIN", "--auth-user", ALICE, "--auth-password", PASSWORD, "--from", "bob@petrel.test", "--to", "x@example.org"]);
    assert.notEqual(other.code, 0);
    assert.match(other.out, /<~\* 553 5\.7\.1 Sender address <bob@petrel\.test> is not yours to use/);
  });

  test("smtplib: own +tag, an alias that reaches the user (also nested), send-as entries and @domain, and <> are accepted", async () => {
    for (const from of ["alice+lists@petrel.test", "info@petrel.test", "sales@petrel.test", "boss@example.org", "anyone@shared.example"]) {
      const r = await smtplib(from, `From: <${from}>\r\nSubject: as ${from}\r\n\r\nhi\r\n`);
      assert.deepEqual(r, { ok: true, refused: {} }, from);
    }
    const bounce = await smtplib("", `From: <${ALICE}>\r\nSubject: null sender\r\n\r\nhi\r\n`);
    assert.equal(bounce.ok, true);
  });

  test("smtplib: an alias of someone else, another account, a catch-all address: 553 5.7.1 at MAIL", async () => {
    for (const from of ["support@petrel.test", "bob@petrel.test", "nobody@petrel.test", "alice@example.org"]) {
      const r = await smtplib(from, "Subject: x\r\n\r\nhi\r\n");
      assert.deepEqual([r.ok, r.stage, r.code], [false, "mail", 553], from);
      assert.match(r.text!, /^5\.7\.1 /);
    }
  });

  test("nodemailer: a forged From: gets 550 5.7.1 at end of data, and nothing is queued", async () => {
    const before = await server.petrel.store.queue.count();
    await assert.rejects(mailer().sendMail({ envelope: { from: ALICE, to: ["bob@petrel.test"] }, from: "Bob <bob@petrel.test>", to: "bob@petrel.test", subject: "forged", text: "hi" }), (e: Error & { responseCode?: number; response?: string }) => {
      assert.equal(e.responseCode, 550);
      assert.match(e.response!, /^550 5\.7\.1 From: header address <bob@petrel\.test> is not yours to use/);
      return true;
    });
    assert.equal(await server.petrel.store.queue.count(), before);
    const good = await mailer().sendMail({ envelope: { from: ALICE, to: ["bob@petrel.test"] }, from: "Info <info@petrel.test>", to: "bob@petrel.test", subject: "as info", text: "hi" });
    assert.match(good.response, /^250 /);
  });

  test("several From: addresses and Sender: are all checked", async () => {
    const two = await smtplib(ALICE, `From: ${ALICE}, bob@petrel.test\r\nSender: ${ALICE}\r\nSubject: two\r\n\r\nhi\r\n`);
    assert.deepEqual([two.ok, two.stage, two.code], [false, "data", 550]);
    const sender = await smtplib(ALICE, `From: ${ALICE}\r\nSender: Bob <bob@petrel.test>\r\nSubject: sender\r\n\r\nhi\r\n`);
    assert.deepEqual([sender.ok, sender.stage, sender.code], [false, "data", 550]);
    assert.match(sender.text!, /^5\.7\.1 Sender: header address <bob@petrel\.test>/);
    const ok2 = await smtplib(ALICE, `From: ${ALICE}, boss@example.org\r\nSender: ${ALICE}\r\nSubject: both mine\r\n\r\nhi\r\n`);
    assert.equal(ok2.ok, true);
  });

  test("RFC 6409 8: missing Date: and Message-ID: are added after Received:; size counts them", async () => {
    const c = await SmtpClient.open(server.port("submission"));
    await c.expect("EHLO client.test", 250);
    await c.expect("STARTTLS", 220);
    await c.startTls();
    await c.expect("EHLO client.test", 250);
    await c.expect(`AUTH PLAIN ${b64(`\0${ALICE}\0${PASSWORD}`)}`, 235);
    await c.expect(`MAIL FROM:<${ALICE}>`, 250);
    await c.expect("RCPT TO:<bob@petrel.test>", 250);
    await c.expect("DATA", 354);
    c.write(`From: ${ALICE}\r\nSubject: bare\r\n\r\nbody\r\n.\r\n`);
    const id = queueIdOf(await c.reply());
    await c.quit();
    const m = await storedMessage(server, id);
    const content = m.content.toString();
    assert.match(content, new RegExp(`^Date: \\w{3}, \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}\\r\\nMessage-ID: <${id}@mx\\.petrel\\.test>\\r\\nFrom: ${ALICE}\\r\\nSubject: bare\\r\\n\\r\\nbody\\r\\n$`));
    assert.equal(m.entry.size, m.body.length);
  });

  test("a message with its own Date: and Message-ID: keeps them, unchanged", async () => {
    const msg = `Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <mine@client.test>\r\nFrom: ${ALICE}\r\nSubject: complete\r\n\r\nbody\r\n`;
    const file = join(server.dataDir, "complete.eml");
    // With --no-data-fixup swaks adds only the CRLF after the last line: the file ends with ".".
    writeFileSync(file, `${msg}.`);
    const r = await swaks(["--port", String(server.port("submissions")), "--tlsc", "--auth", "PLAIN", "--auth-user", ALICE, "--auth-password", PASSWORD, "--from", ALICE, "--to", "bob@petrel.test", "--data", `@${file}`, "--no-data-fixup"]);
    assert.equal(r.code, 0, r.out);
    const id = /queued as (\S+)/.exec(r.out)![1]!;
    const m = await storedMessage(server, id);
    assert.equal(m.content.toString(), msg);
  });

  test("MX intake (port 25, no AUTH) is not touched: no fields added, no sender check", async () => {
    const c = await SmtpClient.open(server.port("smtp"));
    await c.expect("EHLO client.test", 250);
    await c.expect("MAIL FROM:<bob@petrel.test>", 250);
    await c.expect(`RCPT TO:<${ALICE}>`, 250);
    await c.expect("DATA", 354);
    c.write("From: bob@petrel.test\r\nSubject: from outside\r\n\r\nhi\r\n.\r\n");
    const id = queueIdOf(await c.reply());
    await c.quit();
    assert.equal((await storedMessage(server, id)).content.toString(), "From: bob@petrel.test\r\nSubject: from outside\r\n\r\nhi\r\n");
  });
});
