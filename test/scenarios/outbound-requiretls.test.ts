/**
 * REQUIRETLS (RFC 8689) end to end: a message queued with REQUIRETLS goes only over TLS with a
 * certificate valid for the MX name, to a server that announces REQUIRETLS (and the parameter
 * is passed on); else it fails with 5.7.10, and the sender gets a DSN.
 * The remote Petrel has a test-CA certificate for mx1.remote.test and a self-signed one for
 * mx2.self.test; a small TLS server on 127.0.0.2 (same port) has a valid certificate but no
 * REQUIRETLS.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { memoryLogger, type LogEntry } from "../helpers/memory-log.js";
import { makeCa } from "../helpers/test-ca.js";
import { mailbox, message, queueMessage, SHORT_TIMEOUTS, waitForMail, waitForOutcome } from "../helpers/outbound-fixture.js";

/** STARTTLS with this certificate, EHLO without REQUIRETLS; records the MAIL lines. */
async function startNoRequireTls(host: string, port: number, tls: { cert: string; key: string }): Promise<{ mails: string[]; close(): Promise<void> }> {
  const mails: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((raw) => {
    sockets.add(raw);
    raw.on("close", () => sockets.delete(raw));
    raw.on("error", () => undefined);
    let sock: Socket = raw;
    let secure = false;
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("latin1");
      let nl;
      while ((nl = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === "EHLO") sock.write(`250-noreq.test\r\n${secure ? "" : "250-STARTTLS\r\n"}250 8BITMIME\r\n`);
        else if (cmd === "STAR") {
          sock.write("220 go ahead\r\n");
          raw.off("data", onData);
          const t = new TLSSocket(raw, { isServer: true, cert: readFileSync(tls.cert), key: readFileSync(tls.key) });
          t.on("error", () => undefined);
          t.on("data", onData);
          sock = t;
          secure = true;
        } else if (cmd === "MAIL") {
          mails.push(line);
          sock.write("250 ok\r\n");
        } else if (cmd === "QUIT") sock.end("221 bye\r\n");
        else sock.write("250 ok\r\n");
      }
    };
    raw.on("data", onData);
    raw.write("220 noreq.test ESMTP\r\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    mails,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe("REQUIRETLS: outbound delivery of messages that demand TLS", () => {
  let dns: TestDnsServer;
  let remote: TestServer;
  let sender: TestServer;
  let noreq: Awaited<ReturnType<typeof startNoRequireTls>>;
  let log: LogEntry[];
  let remoteLog: LogEntry[];
  const dir = tempDir("petrel-requiretls-");

  before(async () => {
    const ca = makeCa(dir);
    const mx1 = ca.issue("mx1", ["mx1.remote.test"]);
    const mx3 = ca.issue("mx3", ["mx3.noreq.test"]);
    const selfKey = join(dir, "self.key");
    const selfCert = join(dir, "self.crt");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", selfKey, "-out", selfCert, "-days", "30", "-subj", "/CN=mx2.self.test", "-addext", "subjectAltName=DNS:mx2.self.test"], { stdio: "ignore" });
    dns = await startDnsServer({
      "mx1.remote.test": { A: ["127.0.0.1"] },
      "mx2.self.test": { A: ["127.0.0.1"] },
      "mx3.noreq.test": { A: ["127.0.0.2"] },
      "verified.test": { MX: [{ exchange: "mx1.remote.test", priority: 10 }] },
      "selfsigned.test": { MX: [{ exchange: "mx2.self.test", priority: 10 }] },
      "noreq.test": { MX: [{ exchange: "mx3.noreq.test", priority: 10 }] },
    });
    const rl = memoryLogger();
    remoteLog = rl.entries;
    remote = await startServer({
      domains: ["verified.test", "selfsigned.test"],
      deliver: true,
      log: rl,
      overrides: { tls: { cert: mx1.cert, key: mx1.key, certificates: [{ hostnames: ["mx2.self.test"], cert: selfCert, key: selfKey }] } },
    });
    noreq = await startNoRequireTls("127.0.0.2", remote.port("smtp"), mx3);
    const l = memoryLogger();
    log = l.entries;
    sender = await startServer({
      deliver: true,
      log: l,
      overrides: {
        dns: { servers: [dns.server] },
        outbound: { port: remote.port("smtp"), timeouts: SHORT_TIMEOUTS, connectTimeout: "2s", idleConnectionTime: "1s", caFile: ca.certFile },
        delivery: { retryDelays: ["1h"] },
      },
    });
  });

  after(async () => {
    if (process.env.OUTBOUND_DEBUG) for (const e of log) if (String(e.event ?? "").match(/outbound|delivery/)) console.error(JSON.stringify(e));
    await sender?.stop();
    await noreq?.close();
    await remote?.stop();
    await dns?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("verified TLS to a server with REQUIRETLS: delivered, REQUIRETLS passed on", async () => {
    await queueMessage(sender, "a@petrel.test", ["x@verified.test"], message("requiretls ok"), { requireTls: true });
    await waitForMail(remote, "catchall@verified.test");
    const mail = remoteLog.find((e) => e.event === "mail" && e.from === "a@petrel.test");
    assert.equal(mail?.requireTls, true, "the remote saw MAIL FROM with REQUIRETLS");
  });

  test("an unverifiable (self-signed) certificate: failed 5.7.10, nothing sent", async () => {
    await queueMessage(sender, "a@petrel.test", ["x@selfsigned.test"], message("requiretls self signed"), { requireTls: true });
    const f = await waitForOutcome(log, "x@selfsigned.test", "failed");
    assert.match(String(f.reply), /^550 5\.7\.10 mx2\.self\.test\[127\.0\.0\.1\]:\d+: REQUIRETLS: .*SELF_SIGNED/);
    assert.ok(!log.some((e) => e.event === "outbound-tls-fallback"));
    assert.equal((await mailbox(remote, "catchall@selfsigned.test")).length, 0);
    // The sender is told (the DSN goes to the local sender's mailbox).
    const [dsn] = await waitForMail(sender, "catchall@petrel.test");
    assert.match(dsn!.toString(), /5\.7\.10/);
  });

  test("a verified server without REQUIRETLS: failed 5.7.10, no MAIL sent", async () => {
    await queueMessage(sender, "a@petrel.test", ["x@noreq.test"], message("requiretls no support"), { requireTls: true });
    const f = await waitForOutcome(log, "x@noreq.test", "failed");
    assert.match(String(f.reply), /^550 5\.7\.10 mx3\.noreq\.test\[127\.0\.0\.2\]:\d+ does not support REQUIRETLS/);
    assert.equal(noreq.mails.length, 0);
  });

  test("a message forwarded by an alias keeps REQUIRETLS", async () => {
    await sender.petrel.store.directory.addAlias("fwd@petrel.test", ["z@selfsigned.test"]);
    await queueMessage(sender, "a@petrel.test", ["fwd@petrel.test"], message("requiretls forwarded"), { requireTls: true });
    const f = await waitForOutcome(log, "z@selfsigned.test", "failed");
    assert.match(String(f.reply), /^550 5\.7\.10 /);
  });

  test("without REQUIRETLS the same server takes the message (no parameter)", async () => {
    await queueMessage(sender, "a@petrel.test", ["y@noreq.test"], message("plain to noreq"));
    await waitForOutcome(log, "y@noreq.test", "delivered");
    assert.equal(noreq.mails.length, 1);
    assert.doesNotMatch(noreq.mails[0]!, /REQUIRETLS/);
  });
});
