/**
 * Petrel's SMTP listeners driven by nodemailer's SMTP transport: plain, STARTTLS (requireTLS),
 * implicit TLS, multipart attachments, SMTPUTF8 addresses and DSN options. nodemailer builds
 * the message; the same options given to its stream transport (fixed Date, Message-ID and MIME
 * boundary) give the exact bytes that went over SMTP, which must be what Petrel stored after
 * its Received: header.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import nodemailer, { type SendMailOptions, type SMTPTransportOptions } from "nodemailer";
import { startServer, type TestServer } from "../helpers/server.js";
import { queueIdOf } from "../helpers/smtp-client.js";
import { assertStored, mailParams, sessionFacts } from "../helpers/stored.js";

/** The bytes nodemailer sends for these options (CRLF line ends, before dot-stuffing). */
async function build(mail: SendMailOptions): Promise<Buffer> {
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows" });
  const info = await t.sendMail(mail);
  return info.message as Buffer;
}

let seq = 0;
/** Options that make nodemailer's output deterministic. */
function fixed(mail: SendMailOptions): SendMailOptions {
  seq++;
  return { date: new Date("2026-03-04T05:06:07Z"), messageId: `<fixed-${seq}@client.test>`, baseBoundary: `petrelboundary${seq}`, ...mail } as SendMailOptions;
}

describe("nodemailer", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ overrides: { smtp: { submissionRequiresAuth: false } } });
  });
  after(async () => {
    await server.stop();
  });

  function transport(opts: Partial<SMTPTransportOptions> = {}) {
    return nodemailer.createTransport({ host: "127.0.0.1", port: server.port("smtp"), secure: false, name: "client.test", connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 5000, ...opts });
  }

  async function sendAndCheck(opts: Partial<SMTPTransportOptions>, mail: SendMailOptions, protocol: string) {
    const m = fixed(mail);
    const expected = await build(m);
    const t = transport(opts);
    try {
      const info = await t.sendMail(m);
      assert.match(info.response, /^250 2\.0\.0 Ok: queued as /);
      const stored = await assertStored(server, queueIdOf(info.response), { content: expected, protocol });
      return { info, stored, expected };
    } finally {
      t.close();
    }
  }

  test("plain (no TLS): the message nodemailer built is stored byte for byte", async () => {
    const { info, stored } = await sendAndCheck(
      { ignoreTLS: true },
      { from: "Alice <alice@client.test>", to: "Bob <bob@petrel.test>", subject: "nodemailer plain", text: "Hello\n.line with a leading dot\n", html: "<p>Hello</p>" },
      "ESMTP",
    );
    assert.deepEqual(info.accepted, ["bob@petrel.test"]);
    assert.equal(stored.entry.sender, "alice@client.test");
    assert.deepEqual(stored.entry.recipients.map((r) => r.address), ["bob@petrel.test"]);
    assert.match(stored.content.toString(), /\r\n\.line with a leading dot\r\n/);
  });

  test("STARTTLS with requireTLS", async () => {
    const { stored } = await sendAndCheck({ requireTLS: true, tls: { rejectUnauthorized: false } }, { from: "a@client.test", to: "u@petrel.test", subject: "starttls", text: "over TLS" }, "ESMTPS");
    assert.match(stored.received, /\(using TLSv1\.[23] with cipher /);
    assert.equal(sessionFacts(stored.entry).listener, "smtp");
  });

  test("implicit TLS (secure: true) on the submissions port", async () => {
    const { stored } = await sendAndCheck(
      { port: server.port("submissions"), secure: true, tls: { rejectUnauthorized: false } },
      { from: "a@client.test", to: "u@petrel.test", subject: "implicit TLS", text: "hi" },
      "ESMTPS",
    );
    assert.equal(sessionFacts(stored.entry).listener, "submissions");
  });

  test("attachments (multipart/mixed): stored byte for byte, binary content intact", async () => {
    const binary = Buffer.from(Array.from({ length: 4096 }, (_v, i) => (i * 37) & 0xff));
    const { stored } = await sendAndCheck(
      { ignoreTLS: true },
      {
        from: "a@client.test",
        to: "u@petrel.test",
        subject: "attachments ✓",
        text: "See the attachments.",
        attachments: [
          { filename: "all-bytes.bin", content: binary, contentType: "application/octet-stream" },
          { filename: "notes-ü.txt", content: "première ligne\n.deuxième\n", contentType: "text/plain; charset=utf-8" },
          { filename: "dots.txt", content: ".\n..\n.x\n", contentType: "text/plain", encoding: "utf8", contentTransferEncoding: "7bit" },
        ],
      },
      "ESMTP",
    );
    const text = stored.content.toString("latin1");
    assert.match(text, /^Content-Type: multipart\/mixed; boundary="--_NmP-petrelboundary\d+-Part_1"\r\n/m);
    // The binary attachment decodes to exactly what was attached.
    const part = /filename=all-bytes\.bin\r\n\r\n([A-Za-z0-9+/=\r\n]+?)\r\n----_NmP/.exec(text);
    assert.ok(part, "binary part found");
    assert.ok(Buffer.from(part[1]!.replace(/\r\n/g, ""), "base64").equals(binary));
    // A 7bit part made of dots went through dot-stuffing and came back as it was.
    assert.match(text, /\r\n\r\n\.\r\n\.\.\r\n\.x\r\n\r\n----_NmP/);
  });

  test("a large attachment is spooled to a file and stored byte for byte", async () => {
    const big = Buffer.alloc(400 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
    const { stored } = await sendAndCheck({ ignoreTLS: true }, { from: "a@client.test", to: "u@petrel.test", subject: "big", text: "big one", attachments: [{ filename: "big.bin", content: big }] }, "ESMTP");
    assert.equal(stored.entry.spooled, true);
  });

  test("SMTPUTF8: non-ASCII sender and recipient", async () => {
    const { stored } = await sendAndCheck(
      { ignoreTLS: true },
      { from: "Ünïcode <发件人@client.test>", to: "用户@petrel.test", subject: "SMTPUTF8 ✓", text: "正文" },
      "UTF8SMTP",
    );
    assert.equal(stored.entry.sender, "发件人@client.test");
    assert.deepEqual(stored.entry.recipients.map((r) => r.address), ["用户@petrel.test"]);
    assert.equal(mailParams(stored.entry).smtputf8, true);
    assert.match(stored.received, /\tfor <用户@petrel\.test>;/);
  });

  test("DSN options: RET, ENVID, NOTIFY and ORCPT are stored", async () => {
    const { stored } = await sendAndCheck(
      { ignoreTLS: true },
      {
        from: "a@client.test",
        to: ["one@petrel.test", "two@petrel.test"],
        subject: "dsn",
        text: "tell me",
        dsn: { id: "envelope id+1=2", return: "headers", notify: ["success", "failure"], recipient: "original@petrel.test" },
      },
      "ESMTP",
    );
    assert.equal(mailParams(stored.entry).ret, "HDRS");
    assert.equal(mailParams(stored.entry).envid, "envelope id+1=2");
    for (const r of stored.entry.recipients) {
      assert.deepEqual(r.dsn, { notify: ["SUCCESS", "FAILURE"], orcpt: { type: "rfc822", address: "original@petrel.test" } });
    }
  });

  test("DSN options with non-ASCII values (xtext octets are UTF-8)", async () => {
    const { stored } = await sendAndCheck(
      { ignoreTLS: true },
      { from: "a@client.test", to: "用户@petrel.test", subject: "dsn utf8", text: "x", dsn: { id: "ïd-1", return: "full", notify: "delay", recipient: "用户@petrel.test" } },
      "UTF8SMTP",
    );
    assert.equal(mailParams(stored.entry).ret, "FULL");
    assert.equal(mailParams(stored.entry).envid, "ïd-1");
    assert.deepEqual(stored.entry.recipients[0]!.dsn, { notify: ["DELAY"], orcpt: { type: "rfc822", address: "用户@petrel.test" } });
  });

  test("a refused recipient is reported as rejected; the others get the message", async () => {
    const { info, stored } = await sendAndCheck({ ignoreTLS: true }, { from: "a@client.test", to: ["in@petrel.test", "out@elsewhere.test"], subject: "partial", text: "x" }, "ESMTP");
    assert.deepEqual(info.accepted, ["in@petrel.test"]);
    assert.deepEqual(info.rejected, ["out@elsewhere.test"]);
    assert.match(String(info.rejectedErrors?.[0]?.response), /^554 5\.7\.1 /);
    assert.deepEqual(stored.entry.recipients.map((r) => r.address), ["in@petrel.test"]);
  });

  test("every recipient refused: sendMail fails with 554 5.7.1 and nothing is queued", async () => {
    const before = await server.petrel.store.queue.count();
    const t = transport({ ignoreTLS: true });
    try {
      await assert.rejects(t.sendMail({ from: "a@client.test", to: "out@elsewhere.test", subject: "x", text: "x" }), (e: Error & { responseCode?: number; response?: string }) => {
        assert.equal(e.responseCode, 554);
        assert.match(String(e.response), /5\.7\.1/);
        return true;
      });
    } finally {
      t.close();
    }
    assert.equal(await server.petrel.store.queue.count(), before);
  });
});
