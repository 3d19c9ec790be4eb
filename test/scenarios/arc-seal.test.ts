/**
 * ARC sealing (RFC 8617) of forwarded mail: a message arrives at the forwarder's MX (inbound
 * authentication on: it adds Authentication-Results), an alias forwards it to a second Petrel,
 * and the copy there carries an ARC set by petrel.test whose ARC-Authentication-Results is the
 * forwarder's Authentication-Results. mailauth's ARC verifier and Python dkimpy's arc_verify
 * check the chain against the keys in the loopback DNS server.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { authenticate } from "mailauth";
import { startServer, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { dkimpyArcVerify } from "../helpers/dkim-verify.js";
import { arcSeal } from "../../src/msgauth/arc-seal.js";
import { SHORT_TIMEOUTS, waitForMail } from "../helpers/outbound-fixture.js";
import { DnsResolver } from "../../src/dns/resolver.js";
import { mailauthResolver } from "../../src/dns/mailauth.js";
import { dkimRecordValue, generateDkimKeyPair } from "../../src/msgauth/dkim-keys.js";

/** Debian's interpreter, the one python3-dkim is installed for. */
const PYTHON = "/usr/bin/python3";

async function sendOverSmtp(port: number, from: string, to: string, data: Buffer): Promise<void> {
  const c = await SmtpClient.open(port);
  await c.expect("EHLO client.origin.test", 250);
  await c.expect(`MAIL FROM:<${from}>`, 250);
  await c.expect(`RCPT TO:<${to}>`, 250);
  await c.expect("DATA", 354);
  c.write(Buffer.concat([data, Buffer.from(".\r\n")]));
  const r = await c.reply();
  assert.equal(r.code, 250);
  await c.quit();
}

describe("ARC sealing of forwarded mail", () => {
  let dns: TestDnsServer;
  let forwarder: TestServer;
  let remote: TestServer;
  const petrelKey = generateDkimKeyPair("rsa");
  const listKey = generateDkimKeyPair("rsa");

  before(async () => {
    dns = await startDnsServer({
      "target.test": { MX: [{ exchange: "mx.remote.test", priority: 10 }] },
      "mx.remote.test": { A: ["127.0.0.1"] },
      "origin.test": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
      "petrel.test": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
      "s1._domainkey.petrel.test": { TXT: [dkimRecordValue("rsa", petrelKey.publicKey)] },
      "l1._domainkey.list.test": { TXT: [dkimRecordValue("rsa", listKey.publicKey)] },
    });
    remote = await startServer({ domains: ["target.test"], catchAll: false, deliver: true });
    await remote.petrel.store.directory.addAccount({ address: "ok@target.test", passwordHash: "!" });
    forwarder = await startServer({
      deliver: true,
      overrides: { dns: { servers: [dns.server] }, inbound: { authentication: true, localNetworks: [] }, outbound: { port: remote.port("smtp"), timeouts: SHORT_TIMEOUTS, connectTimeout: "2s" }, delivery: { retryDelays: ["1h"] } },
    });
    await forwarder.petrel.store.dkimKeys.add({ domain: "petrel.test", selector: "s1", algorithm: "rsa", privateKey: petrelKey.privateKey, publicKey: petrelKey.publicKey, createdAt: Date.now() });
    await forwarder.petrel.store.directory.addAlias("fwd@petrel.test", ["ok@target.test"]);
  });

  after(async () => {
    await forwarder?.stop();
    await remote?.stop();
    await dns?.close();
  });

  const verifyWithMailauth = async (blob: Buffer) => {
    const resolver = mailauthResolver(new DnsResolver({ servers: [dns.server] }));
    return authenticate(blob, { resolver: resolver as never, ip: "127.0.0.1", helo: "mx.petrel.test", sender: "x@petrel.test", mta: "verifier.test" });
  };

  test("a first ARC set (cv=none) that copies our Authentication-Results; mailauth and dkimpy verify it", async () => {
    const raw = Buffer.from("From: <orig@origin.test>\r\nTo: <fwd@petrel.test>\r\nSubject: arc one\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <arc1@origin.test>\r\n\r\nHello through a forwarder.\r\n");
    await sendOverSmtp(forwarder.port("smtp"), "orig@origin.test", "fwd@petrel.test", raw);
    const [blob] = await waitForMail(remote, "ok@target.test", 1);
    const text = blob!.toString();
    assert.match(text, /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none; d=petrel\.test; s=s1;/m);
    const aar = /^ARC-Authentication-Results: i=1; (mx\.petrel\.test;[^]*?)\r\n(?=\S)/m.exec(text)?.[1];
    assert.ok(aar, "ARC-Authentication-Results present");
    assert.match(aar!, /spf=pass/);
    const ar = /^Authentication-Results: (mx\.petrel\.test;[^]*?)\r\n(?=\S)/m.exec(text)?.[1];
    assert.equal(aar, ar, "the AAR copies the forwarder's Authentication-Results");
    const res = await verifyWithMailauth(blob!);
    assert.equal(res.arc && res.arc.status.result, "pass", JSON.stringify(res.arc && res.arc.status));
    if (existsSync(PYTHON)) {
      const py = await dkimpyArcVerify(blob!, dns.server);
      assert.equal(py.cv, "pass", py.reason);
    }
  });

  test("a message with an ARC set already (by list.test): sealed as i=2 with cv=pass, the chain verifies", async () => {
    const base = Buffer.from("Authentication-Results: list.test; spf=pass smtp.mailfrom=orig@origin.test\r\nFrom: <orig@origin.test>\r\nTo: <fwd@petrel.test>\r\nSubject: arc two\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <arc2@origin.test>\r\n\r\nHello through two forwarders.\r\n");
    // The first hop's set (dkimpy cannot sign ARC here without python3-authres: mailauth's sealer).
    const first = await arcSeal(base, { key: { domain: "list.test", selector: "l1", privateKey: listKey.privateKey }, authservId: "list.test", resolver: mailauthResolver(new DnsResolver({ servers: [dns.server] })) });
    assert.ok(first.sealed);
    const listSealed = Buffer.concat([first.headers, base]);
    assert.match(listSealed.toString(), /^ARC-Seal: i=1/m);
    await sendOverSmtp(forwarder.port("smtp"), "orig@origin.test", "fwd@petrel.test", listSealed);
    const [, blob] = await waitForMail(remote, "ok@target.test", 2);
    const text = blob!.toString();
    assert.match(text, /^ARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=pass; d=petrel\.test; s=s1;/m);
    const res = await verifyWithMailauth(blob!);
    assert.equal(res.arc && res.arc.status.result, "pass", JSON.stringify(res.arc && res.arc.status));
    assert.equal(res.arc && res.arc.i, 2);
    if (existsSync(PYTHON)) {
      const py = await dkimpyArcVerify(blob!, dns.server);
      assert.equal(py.cv, "pass", py.reason);
    }
  });
});
