/**
 * Greylisting on the MX listener through real SMTP (RFC 6647), with a 1 s delay: the first
 * attempt of a triplet gets 451 4.7.1 at RCPT, a retry before the delay too, a retry after it
 * 250 (and the message is queued), the same triplet then passes at once, also after a restart
 * on the same data (the state is in the store); an authenticated submission is never greylisted.
 * Loopback is one of inbound.localNetworks by default (exempt): these tests empty that list.
 * DNS (loopback server): SPF records of big.test (allows 127.0.0.0/24) and fake.test (does
 * not), both on greylist.spfWhitelist; inbound.clientChecks is off, no DNSBL.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { rmSync } from "node:fs";
import { POSTGRES_URL, postgresStorage, startServer, tempDir, testConfig, type TestServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { Petrel } from "../../src/app/petrel.js";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import { nullLogger } from "../../src/core/logger.js";
import { hashPassword } from "../../src/auth/password.js";

const run = promisify(execFile);
const PASSWORD = "correct horse battery";
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MESSAGE = "From: a@remote.example\r\nSubject: grey\r\n\r\nhello\r\n.";

for (const backend of ["sqlite", ...(POSTGRES_URL ? ["postgres"] : [])]) describe(`anti-abuse: greylisting (${backend})`, () => {
  let server: TestServer;
  let restarted: Petrel | undefined;
  let dns: TestDnsServer;
  let overrides: Partial<ConfigInput>;

  before(async () => {
    dns = await startDnsServer({ "big.test": { TXT: ["v=spf1 ip4:127.0.0.0/24 -all"] }, "fake.test": { TXT: ["v=spf1 ip4:192.0.2.0/24 -all"] } });
    overrides = {
      greylist: { enabled: true, delay: "1s", spfWhitelist: ["big.test", "fake.test"] },
      inbound: { localNetworks: [], clientChecks: false },
      dns: { servers: [dns.server] },
      auth: { failureDelay: "10ms" },
      ...(backend === "postgres" ? postgresStorage() : {}),
    };
    server = await startServer({ overrides });
    await server.petrel.store.directory.addAccount({ address: "alice@petrel.test", passwordHash: await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 }) });
  });
  after(async () => {
    await restarted?.stop();
    await server.stop();
    await dns.close();
  });

  async function mx(port = server.port("smtp")): Promise<SmtpClient> {
    const c = await SmtpClient.open(port);
    await c.expect("EHLO client.remote.example", 250);
    return c;
  }

  test("first attempt 451 4.7.1, too early 451, after the delay 250, then 250 at once", async () => {
    const c = await mx();
    await c.expect("MAIL FROM:<a@remote.example>", 250);
    const first = await c.expect("RCPT TO:<bob@petrel.test>", 451, "4.7.1");
    assert.match(first.lines.join(" "), /Greylisted.*try again in 1 seconds/);
    await c.expect("RCPT TO:<bob@petrel.test>", 451, "4.7.1");
    await sleep(1100);
    await c.expect("RCPT TO:<bob@petrel.test>", 250);
    await c.expect("DATA", 354);
    await c.expect(MESSAGE, 250);
    // Same triplet, new transaction and new connection: no wait.
    await c.expect("MAIL FROM:<a@remote.example>", 250);
    await c.expect("RCPT TO:<Bob@petrel.test>", 250);
    await c.expect("QUIT", 221);
    const d = await mx();
    await d.expect("MAIL FROM:<A@Remote.Example>", 250);
    await d.expect("RCPT TO:<bob@petrel.test>", 250);
    // Another recipient, or another sender, is a new triplet.
    await d.expect("RCPT TO:<carol@petrel.test>", 451, "4.7.1");
    await d.expect("RSET", 250);
    await d.expect("MAIL FROM:<other@remote.example>", 250);
    await d.expect("RCPT TO:<bob@petrel.test>", 451, "4.7.1");
    await d.expect("QUIT", 221);
    assert.equal(await server.petrel.store.queue.count(), 1);
  });

  test("swaks sees the temporary refusal", async () => {
    const r = await run("swaks", ["--server", `127.0.0.1:${server.port("smtp")}`, "--from", "swaks@remote.example", "--to", "dave@petrel.test", "--helo", "client.remote.example", "--timeout", "10"]).then(
      () => ({ code: 0, out: "" }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );
    assert.equal(r.code, 24, "swaks: every recipient refused");
    assert.match(r.out, /<\*\* 451 4\.7\.1 Greylisted/);
  });

  test("a sender of an spfWhitelist domain skips greylisting when SPF passes, not otherwise", async () => {
    const c = await mx();
    await c.expect("MAIL FROM:<news@big.test>", 250);
    await c.expect("RCPT TO:<bob@petrel.test>", 250);
    await c.expect("RCPT TO:<carol@petrel.test>", 250);
    await c.expect("RSET", 250);
    await c.expect("MAIL FROM:<news@fake.test>", 250);
    await c.expect("RCPT TO:<bob@petrel.test>", 451, "4.7.1");
    await c.expect("QUIT", 221);
  });

  test("an authenticated submission is not greylisted", async () => {
    const c = await SmtpClient.open(server.port("submissions"), { tls: true });
    await c.expect("EHLO client.test", 250);
    await c.expect(`AUTH PLAIN ${b64(`\0alice@petrel.test\0${PASSWORD}`)}`, 235);
    await c.expect("MAIL FROM:<alice@petrel.test>", 250);
    await c.expect("RCPT TO:<erin@petrel.test>", 250);
    await c.expect("QUIT", 221);
  });

  test("nodes share the state: a triplet first seen on one node passes on another after the delay", { skip: backend !== "postgres" && "one node per SQLite store" }, async () => {
    const other = { ...configSchema.parse(testConfig(tempDir(), overrides)), hostname: "mx2.petrel.test" };
    const node2 = await Petrel.start({ config: other, development: false, log: nullLogger, deliver: false });
    try {
      const c = await mx();
      await c.expect("MAIL FROM:<roamer@remote.example>", 250);
      await c.expect("RCPT TO:<bob@petrel.test>", 451, "4.7.1");
      await c.expect("QUIT", 221);
      const d = await mx(node2.port("smtp"));
      await d.expect("MAIL FROM:<roamer@remote.example>", 250);
      await d.expect("RCPT TO:<bob@petrel.test>", 451, "4.7.1");
      await sleep(1100);
      await d.expect("RCPT TO:<bob@petrel.test>", 250);
      await d.expect("QUIT", 221);
    } finally {
      await node2.stop();
      rmSync(other.dataDir, { recursive: true, force: true });
    }
  });

  test("the state survives a restart on the same data", async () => {
    await server.petrel.stop();
    const config = { ...configSchema.parse(testConfig(server.dataDir, overrides)), hostname: "mx.petrel.test" };
    restarted = await Petrel.start({ config, development: false, log: nullLogger, deliver: false });
    await sleep(1100);
    const c = await mx(restarted.port("smtp"));
    await c.expect("MAIL FROM:<a@remote.example>", 250);
    await c.expect("RCPT TO:<bob@petrel.test>", 250);
    // carol's first attempt was before the restart: its time still counts.
    await c.expect("RCPT TO:<carol@petrel.test>", 250);
    await c.expect("RCPT TO:<frank@petrel.test>", 451, "4.7.1");
    await c.expect("QUIT", 221);
  });
});
