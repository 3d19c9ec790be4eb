/**
 * SMTP AUTH (RFC 4954) on the submission listeners with real clients: swaks (PLAIN and LOGIN,
 * STARTTLS on submission, implicit TLS on submissions), Python smtplib's login(), nodemailer's
 * auth; wrong passwords (535 5.7.8), AUTH before TLS, "*" to cancel, bad base64 (501), MAIL
 * without AUTH (530 5.7.0), and no AUTH at all on the MX listener.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import nodemailer from "nodemailer";
import { startServer, type TestServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { runPython } from "../helpers/python.js";
import { hashPassword } from "../../src/auth/password.js";
import { scramKeys } from "../../src/auth/sasl/scram.js";

const USER = "alice@petrel.test";
const PASSWORD = "correct horse battery";
const FAST = { ln: 10, r: 8, p: 1 };
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

function swaks(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn("swaks", ["--server", "127.0.0.1", "--ehlo", "client.test", "--timeout", "10", "--from", USER, "--to", "bob@petrel.test", ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 });
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
`;

describe("SMTP AUTH on submission with real clients", () => {
  let server: TestServer;

  before(async () => {
    // Every client here is 127.0.0.1: the lockout (tested in submission-auth-lockout) stays out of the way.
    server = await startServer({ overrides: { auth: { failureDelay: "50ms", lockout: { maxFailures: 1000 } } } });
    await server.petrel.store.directory.addAccount({ address: USER, passwordHash: await hashPassword(PASSWORD, FAST), scramSha256: await scramKeys(PASSWORD) });
    await server.petrel.store.directory.addAccount({ address: "bob@petrel.test", passwordHash: await hashPassword("bob's", FAST) });
  });
  after(async () => server.stop());

  for (const mech of ["PLAIN", "LOGIN"]) {
    test(`swaks AUTH ${mech} after STARTTLS on submission, then the message is queued`, async () => {
      const r = await swaks(["--port", String(server.port("submission")), "--tls", "--auth", mech, "--auth-user", USER, "--auth-password", PASSWORD]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /<~ +235 2\.7\.0 /);
      assert.match(r.out, /<~ +250 2\.0\.0 Ok: queued as/);
    });

    test(`swaks AUTH ${mech} on submissions (implicit TLS)`, async () => {
      const r = await swaks(["--port", String(server.port("submissions")), "--tlsc", "--auth", mech, "--auth-user", USER, "--auth-password", PASSWORD]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /<~ +235 2\.7\.0 /);
    });

    test(`swaks AUTH ${mech} with a wrong password: 535 5.7.8`, async () => {
      const r = await swaks(["--port", String(server.port("submissions")), "--tlsc", "--auth", mech, "--auth-user", "bob@petrel.test", "--auth-password", "not bob's", "--quit-after", "AUTH"]);
      assert.notEqual(r.code, 0);
      assert.match(r.out, /<~\* +535 5\.7\.8 /);
    });
  }

  test("Python smtplib: starttls() + login() picks a mechanism and sends; a wrong password raises SMTPAuthenticationError 535", async () => {
    const res = await runPython<{ features: string; login: number; sent: object; wrong: [number, string] }>(
      SMTPLIB,
      `
s = smtplib.SMTP("127.0.0.1", inp["port"], timeout=15)
s.ehlo("client.test")
s.starttls(context=ctx)
s.ehlo("client.test")
out["features"] = s.esmtp_features.get("auth", "")
out["login"] = s.login(inp["user"], inp["password"])[0]
out["sent"] = s.sendmail(inp["user"], ["bob@petrel.test"], b"Subject: hi\\r\\n\\r\\nhello\\r\\n")
s.quit()
s = smtplib.SMTP_SSL("127.0.0.1", inp["ports"], context=ctx, timeout=15)
try:
    s.login("bob@petrel.test", "wrong")
    out["wrong"] = [0, "logged in"]
except smtplib.SMTPAuthenticationError as e:
    out["wrong"] = [e.smtp_code, e.smtp_error.decode()]
s.quit()
`,
      { port: server.port("submission"), ports: server.port("submissions"), user: USER, password: PASSWORD },
    );
    assert.equal(res.features.trim(), "SCRAM-SHA-256 PLAIN LOGIN");
    assert.equal(res.login, 235);
    assert.deepEqual(res.sent, {});
    assert.equal(res.wrong[0], 535);
    assert.match(res.wrong[1], /^5\.7\.8 /);
  });

  test("nodemailer: auth over STARTTLS (requireTLS) and implicit TLS; a wrong password is EAUTH 535", async () => {
    for (const [port, secure] of [[server.port("submission"), false], [server.port("submissions"), true]] as const) {
      for (const method of ["PLAIN", "LOGIN"]) {
        const t = nodemailer.createTransport({ host: "127.0.0.1", port, secure, requireTLS: !secure, name: "client.test", tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASSWORD, method } });
        const info = await t.sendMail({ from: USER, to: "bob@petrel.test", subject: `nodemailer ${method}`, text: "hello" });
        assert.match(info.response, /^250 2\.0\.0 Ok: queued as/);
        t.close();
      }
    }
    const bad = nodemailer.createTransport({ host: "127.0.0.1", port: server.port("submissions"), secure: true, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: "nope" } });
    await assert.rejects(bad.sendMail({ from: USER, to: "bob@petrel.test", text: "x" }), (e: Error & { code?: string; responseCode?: number }) => e.code === "EAUTH" && e.responseCode === 535);
    bad.close();
  });

  test("before TLS: AUTH is not advertised and is refused (530 5.7.0); MAIL without AUTH is 530 5.7.0", async () => {
    const c = await SmtpClient.open(server.port("submission"));
    const ext = await c.ehlo();
    assert.ok(!ext.some((e) => e.startsWith("AUTH")), ext.join(","));
    assert.ok(ext.includes("STARTTLS"));
    await c.expect(`AUTH PLAIN ${b64(`\0${USER}\0${PASSWORD}`)}`, 530, "5.7.0");
    await c.expect(`MAIL FROM:<${USER}>`, 530, "5.7.0");
    await c.expect("STARTTLS", 220);
    await c.startTls();
    assert.ok((await c.ehlo()).includes("AUTH SCRAM-SHA-256 PLAIN LOGIN"));
    await c.expect(`MAIL FROM:<${USER}>`, 530, "5.7.0");
    await c.expect(`AUTH PLAIN ${b64(`\0${USER}\0${PASSWORD}`)}`, 235, "2.7.0");
    await c.expect("AUTH PLAIN", 503, "5.5.1");
    assert.ok(!(await c.ehlo()).some((e) => e.startsWith("AUTH")), "not offered once authenticated");
    await c.expect(`MAIL FROM:<${USER}>`, 250);
    await c.quit();
  });

  test("the MX listener offers no AUTH, even inside TLS", async () => {
    const c = await SmtpClient.open(server.port("smtp"));
    await c.ehlo();
    await c.expect("STARTTLS", 220);
    await c.startTls();
    assert.ok(!(await c.ehlo()).some((e) => e.startsWith("AUTH")));
    await c.expect(`AUTH PLAIN ${b64(`\0${USER}\0${PASSWORD}`)}`, 503, "5.5.1");
    await c.quit();
  });

  test("the exchange: empty challenge for PLAIN, LOGIN prompts, '*' cancels (501), bad base64 (501), unknown mechanism (504)", async () => {
    const c = await SmtpClient.open(server.port("submissions"), { tls: true });
    await c.ehlo();
    let r = await c.expect("AUTH PLAIN", 334);
    // An empty challenge (RFC 4954 4 wants "334 " with the space; core/reply.ts trims it, and
    // every client here accepts both).
    assert.match(r.raw, /^334 ?\r\n$/);
    await c.expect("*", 501, "5.0.0");
    r = await c.expect("AUTH LOGIN", 334);
    assert.equal(Buffer.from(r.lines[0]!, "base64").toString(), "Username:");
    r = await c.expect(b64(USER), 334);
    assert.equal(Buffer.from(r.lines[0]!, "base64").toString(), "Password:");
    await c.expect("*", 501, "5.0.0");
    await c.expect("AUTH PLAIN not-base64!", 501, "5.5.2");
    await c.expect("AUTH LOGIN", 334);
    await c.expect("%%%", 501, "5.5.2");
    await c.expect("AUTH CRAM-MD5", 504, "5.5.4");
    await c.expect("AUTH SCRAM-SHA-256-PLUS", 504, "5.5.4");
    await c.expect(`AUTH PLAIN ${b64(`someone-else@petrel.test\0${USER}\0${PASSWORD}`)}`, 535, "5.7.8");
    await c.expect(`AUTH PLAIN ${b64(`\0${USER}\0wrong`)}`, 535, "5.7.8");
    // After the failures the session is still usable.
    r = await c.expect("AUTH LOGIN " + b64(USER), 334);
    await c.expect(b64(PASSWORD), 235, "2.7.0");
    await c.quit();
  });
});
