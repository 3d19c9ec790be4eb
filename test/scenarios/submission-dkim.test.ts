/**
 * DKIM signing end to end: nodemailer submits with AUTH on submissions (implicit TLS) and
 * submission (STARTTLS); the queued message carries RSA and Ed25519 signatures that dkimpy
 * verifies with the keys from a loopback DNS server. Also: the Date:/Message-ID: the MSA adds
 * are signed; a spooled (large) message keeps a right size; mail arriving on the MX listener
 * is not signed; a domain without keys is not signed. SQLite, and PostgreSQL when available.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import nodemailer from "nodemailer";
import { startServer, postgresStorage, POSTGRES_URL, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { dkimpyVerify } from "../helpers/dkim-verify.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { hashPassword } from "../../src/auth/password.js";
import { dkimRecordName, dkimRecordValue, generateDkimKeyPair } from "../../src/msgauth/dkim-keys.js";

const USER = "alice@petrel.test";
const PASSWORD = "correct horse battery";

function signatureTags(message: Buffer): Record<string, string>[] {
  const header = message.toString("latin1").split("\r\n\r\n")[0]!.replace(/\r\n[ \t]/g, " ");
  return header
    .split("\r\n")
    .filter((l) => /^DKIM-Signature:/i.test(l))
    .map((l) => Object.fromEntries(l.replace(/^DKIM-Signature:\s*/i, "").split(";").map((t) => t.trim()).filter(Boolean).map((t) => [t.slice(0, t.indexOf("=")), t.slice(t.indexOf("=") + 1).replace(/\s/g, "")])));
}

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`DKIM signing of submitted mail (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL not set" : false }, () => {
    let server: TestServer;
    let dns: TestDnsServer;

    before(async () => {
      dns = await startDnsServer();
      server = await startServer({ overrides: { ...(backend === "postgres" ? postgresStorage() : {}), auth: { failureDelay: "10ms", lockout: { maxFailures: 1000 } } }, domains: ["petrel.test", "nokeys.test"] });
      const store = server.petrel.store;
      for (const address of [USER, "carol@nokeys.test"]) await store.directory.addAccount({ address, passwordHash: await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 }) });
      for (const [algorithm, selector] of [["rsa", "s2026"], ["ed25519", "s2026ed"]] as const) {
        const pair = generateDkimKeyPair(algorithm);
        await store.dkimKeys.add({ domain: "petrel.test", selector, algorithm, ...pair, createdAt: Date.now() });
        dns.set(dkimRecordName(selector, "petrel.test"), { TXT: [dkimRecordValue(algorithm, pair.publicKey)] });
      }
    });
    after(async () => {
      await server?.stop();
      await dns?.close();
    });

    const submit = async (raw: string, secure = true, from = USER) => {
      const t = nodemailer.createTransport({ host: "127.0.0.1", port: server.port(secure ? "submissions" : "submission"), secure, requireTLS: !secure, name: "client.test", tls: { rejectUnauthorized: false }, auth: { user: from, pass: PASSWORD } });
      try {
        const info = await t.sendMail({ envelope: { from, to: ["bob@elsewhere.test"] }, raw });
        const id = /queued as (\S+)/.exec(info.response)![1]!;
        const body = (await server.petrel.queue.body(id))!;
        const entry = (await server.petrel.store.queue.get(id))!;
        assert.equal(entry.size, body.length, "the stored size counts the signatures");
        return { body, entry };
      } finally {
        t.close();
      }
    };

    const RAW = "From: Alice <alice@petrel.test>\r\nTo: bob@elsewhere.test\r\nSubject: signed\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nHello Bob.\r\n";

    test("submissions: RSA and Ed25519 signatures verify; the added Date: and Message-ID: are signed", async () => {
      const { body } = await submit(RAW);
      const tags = signatureTags(body);
      assert.deepEqual(tags.map((t) => [t.a, t.d, t.s, t.c]), [
        ["rsa-sha256", "petrel.test", "s2026", "relaxed/relaxed"],
        ["ed25519-sha256", "petrel.test", "s2026ed", "relaxed/relaxed"],
      ]);
      const h = tags[0]!.h!.split(":").map((x) => x.toLowerCase());
      assert.ok(h.includes("date") && h.includes("message-id"), `h=${tags[0]!.h}`);
      assert.equal(h.filter((x) => x === "from").length, 2, "From oversigned");
      assert.match(body.toString("latin1"), /\r\nDate: .*\r\nMessage-ID: </);
      assert.deepEqual((await dkimpyVerify(body, dns.server)).map((v) => [v.algorithm, v.ok]), [
        ["rsa-sha256", true],
        ["ed25519-sha256", true],
      ]);
      const altered = Buffer.from(body.toString("latin1").replace("Hello Bob.", "Hello Eve."), "latin1");
      assert.deepEqual((await dkimpyVerify(altered, dns.server)).map((v) => v.ok), [false, false]);
    });

    test("submission with STARTTLS: a large message (stored in a spool file) is signed and verifies", async () => {
      const big = RAW + "0123456789 abcdefghij klmnopqrstuvwxyz\r\n".repeat(3000);
      const { body, entry } = await submit(big, false);
      if (backend === "sqlite") assert.equal(entry.spooled, true, "above inlineMaxSize the message is in a spool file");
      assert.deepEqual((await dkimpyVerify(body, dns.server)).map((v) => v.ok), [true, true]);
    });

    test("a local domain without keys is not signed", async () => {
      const { body } = await submit(RAW.replace("alice@petrel.test", "carol@nokeys.test"), true, "carol@nokeys.test");
      assert.ok(!body.toString("latin1").includes("DKIM-Signature"));
    });

    test("mail on the MX listener (not authenticated) is not signed", async () => {
      const c = await SmtpClient.open(server.port("smtp"));
      try {
        await c.ehlo();
        await c.expect(`MAIL FROM:<${USER}>`, 250);
        await c.expect("RCPT TO:<catchall@petrel.test>", 250);
        await c.expect("DATA", 354);
        const reply = await c.expect(`${RAW}.`, 250);
        const id = /queued as (\S+)/.exec(reply.raw)![1]!;
        assert.ok(!(await server.petrel.queue.body(id))!.toString("latin1").includes("DKIM-Signature"));
      } finally {
        await c.quit();
      }
    });
  });
}
