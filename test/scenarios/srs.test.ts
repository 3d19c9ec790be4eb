/**
 * SRS end to end with two Petrels that forward to each other ("forwarder" hosts petrel.test,
 * "remote" hosts target.test and origin.test; a loopback DNS server points every domain's MX
 * at 127.0.0.1, and each sends MX mail to the other's port):
 *
 *   orig@origin.test ──> fwd@petrel.test (forwarder: alias, SRS0) ──> bounce@target.test
 *   (remote: an alias to a null-MX domain, SRS1) ── fails ──> DSN to SRS1@target.test
 *   ── remote reverses it ──> SRS0@petrel.test ── forwarder reverses it ──> orig@origin.test
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { startServer, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { message, queueMessage, SHORT_TIMEOUTS, waitForMail } from "../helpers/outbound-fixture.js";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("SRS: forwarding rewrites the sender; bounces find their way back", () => {
  let dns: TestDnsServer;
  let forwarder: TestServer;
  let remote: TestServer;

  before(async () => {
    dns = await startDnsServer({
      "petrel.test": { MX: [{ exchange: "mx.fwd.test", priority: 10 }] },
      "target.test": { MX: [{ exchange: "mx.remote.test", priority: 10 }] },
      "origin.test": { MX: [{ exchange: "mx.remote.test", priority: 10 }] },
      "nowhere.test": { MX: [{ exchange: ".", priority: 0 }] },
      "mx.fwd.test": { A: ["127.0.0.1"] },
      "mx.remote.test": { A: ["127.0.0.1"] },
    });
    const remotePort = await freePort();
    const common = { dns: { servers: [dns.server] }, delivery: { retryDelays: ["1s"] } };
    forwarder = await startServer({ deliver: true, overrides: { ...common, outbound: { port: remotePort, timeouts: SHORT_TIMEOUTS, connectTimeout: "2s", idleConnectionTime: "1s" } } });
    remote = await startServer({
      domains: ["target.test", "origin.test"],
      catchAll: false,
      deliver: true,
      overrides: { ...common, listen: { smtp: `127.0.0.1:${remotePort}` }, outbound: { port: forwarder.port("smtp"), timeouts: SHORT_TIMEOUTS, connectTimeout: "2s", idleConnectionTime: "1s" } },
    });
    const fdir = forwarder.petrel.store.directory;
    await fdir.addAlias("fwd@petrel.test", ["ok@target.test"]);
    await fdir.addAlias("fwdbounce@petrel.test", ["bounce@target.test"]);
    const rdir = remote.petrel.store.directory;
    for (const a of ["ok@target.test", "orig@origin.test"]) await rdir.addAccount({ address: a, passwordHash: "!" });
    // The remote forwards again, to a domain that takes no mail: its bounce goes back along the SRS path.
    await rdir.addAlias("bounce@target.test", ["x@nowhere.test"]);
  });

  after(async () => {
    await forwarder?.stop();
    await remote?.stop();
    await dns?.close();
  });

  test("the forwarded copy arrives with an SRS0 envelope sender at the forwarding domain", async () => {
    await queueMessage(forwarder, "orig@origin.test", ["fwd@petrel.test"], message("forward me", "orig@origin.test", "fwd@petrel.test"));
    await waitForMail(remote, "ok@target.test");
    const account = (await remote.petrel.store.directory.getAccount("ok@target.test"))!;
    const box = (await remote.petrel.store.mailstore.getMailbox(account.id, "INBOX"))!;
    const [stored] = await remote.petrel.store.mailstore.listMessages(box.id);
    const returnPath = /^Return-Path: <([^>]*)>/m.exec(stored!.prefix.toString())?.[1];
    assert.match(returnPath ?? "", /^SRS0=[A-Z2-7]{8}=[A-Z2-7]{2}=origin\.test=orig@petrel\.test$/);
    // The forwarder takes bounces to that address (RCPT), and refuses a forged one.
    const c = await SmtpClient.open(forwarder.port("smtp"));
    await c.expect("EHLO client.test", 250);
    await c.expect("MAIL FROM:<>", 250);
    await c.expect(`RCPT TO:<${returnPath}>`, 250);
    await c.expect(`RCPT TO:<${returnPath!.replace(/^SRS0=[A-Z2-7]{8}/, "SRS0=AAAAAAAA")}>`, 550, "5.1.1");
    await c.expect("RCPT TO:<SRS0=AAAAAAAA=AB=origin.test=orig@petrel.test>", 550, "5.1.1");
    await c.expect("RCPT TO:<SRS0=garbage@petrel.test>", 550, "5.1.1");
    await c.quit();
  });

  test("the remote's bounce goes back through both forwarders to the original sender", async () => {
    await queueMessage(forwarder, "orig@origin.test", ["fwdbounce@petrel.test"], message("bounce me", "orig@origin.test", "fwdbounce@petrel.test"));
    const [dsn] = await waitForMail(remote, "orig@origin.test", 1);
    const text = dsn!.toString();
    // The remote's DSN went to its SRS1 address, then to the forwarder's SRS0 address, then here.
    assert.match(text, /^To: <SRS1=[A-Z2-7]{8}=petrel\.test==[A-Z2-7]{8}=[A-Z2-7]{2}=origin\.test=orig@target\.test>/m);
    assert.match(text, /for <SRS0=[A-Z2-7]{8}=[A-Z2-7]{2}=origin\.test=orig@petrel\.test>/);
    assert.match(text, /5\.1\.10/, "the null MX failure is reported");
    assert.match(text, /Subject: bounce me/, "the DSN carries the original message or its header");
  });
});
