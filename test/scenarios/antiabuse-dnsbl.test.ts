/**
 * DNS blocklists on the MX listener (RFC 5782) against a loopback DNS server: the test client
 * connects from 127.0.0.x, so the zones list x.0.0.127.<zone>. Listed: 554 5.7.1 naming the
 * zone, at RCPT (postmaster@ and abuse@ still reachable) or at the greeting; a zone's return-code
 * filter; score zones; FCrDNS and HELO findings in the log. Submission is never checked.
 *
 * DNS: bl.test lists 127.0.0.1 (127.0.0.2); codes.test answers 127.0.0.3 for 127.0.0.2 (not in
 * its codes) and 127.0.0.4 for 127.0.0.3 (in its codes); 127.0.0.1 has the PTR
 * client.remote.test, which resolves back to it; 127.0.0.2's PTR forged.test does not.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { memoryLogger } from "../helpers/memory-log.js";
import { waitFor } from "../helpers/wait.js";
import type { ConfigInput } from "../../src/config/schema.js";

let dns: TestDnsServer;
before(async () => {
  dns = await startDnsServer({
    "1.0.0.127.bl.test": { A: ["127.0.0.2"], TXT: ["listed for testing"] },
    "2.0.0.127.codes.test": { A: ["127.0.0.3"] },
    "3.0.0.127.codes.test": { A: ["127.0.0.4"] },
    "1.0.0.127.score.test": { A: ["127.0.0.2"] },
    "1.0.0.127.in-addr.arpa": { PTR: ["client.remote.test"] },
    "client.remote.test": { A: ["127.0.0.1"] },
    "2.0.0.127.in-addr.arpa": { PTR: ["forged.test"] },
    "forged.test": { A: ["192.0.2.1"] },
  });
});
after(() => dns.close());

const config = (dnsbl: ConfigInput["dnsbl"]): Partial<ConfigInput> => ({ dns: { servers: [dns.server] }, inbound: { localNetworks: [] }, dnsbl, smtp: { submissionRequiresAuth: false } });

describe("anti-abuse: DNSBL at RCPT", () => {
  let server: TestServer;
  const log = memoryLogger();
  before(async () => {
    server = await startServer({ log, overrides: config({ zones: [{ zone: "bl.test" }, { zone: "codes.test", codes: ["127.0.0.4"] }, { zone: "score.test", action: "score", weight: 2.5 }] }) });
  });
  after(() => server.stop());

  test("a listed client: 554 5.7.1 naming the zone; postmaster@ and abuse@ still get through", async () => {
    const c = await SmtpClient.open(server.port("smtp"));
    await c.expect("EHLO client.remote.test", 250);
    await c.expect("MAIL FROM:<spammer@remote.test>", 250);
    const r = await c.expect("RCPT TO:<bob@petrel.test>", 554, "5.7.1");
    assert.match(r.lines.join(" "), /client \[127\.0\.0\.1\] blocked using bl\.test/);
    await c.expect("RCPT TO:<postmaster@petrel.test>", 250);
    await c.expect("RCPT TO:<Abuse@petrel.test>", 250);
    await c.expect("RCPT TO:<postmaster>", 250);
    await c.expect("DATA", 354);
    await c.expect("Subject: unblock me\r\n\r\nplease\r\n.", 250);
    await c.expect("QUIT", 221);
  });

  test("return codes: an answer outside a zone's codes is not a listing, one inside is", async () => {
    const c = await SmtpClient.open(server.port("smtp"), { localAddress: "127.0.0.2" });
    await c.expect("EHLO client.remote.test", 250);
    await c.expect("MAIL FROM:<a@remote.test>", 250);
    await c.expect("RCPT TO:<bob@petrel.test>", 250);
    await c.expect("QUIT", 221);
    const d = await SmtpClient.open(server.port("smtp"), { localAddress: "127.0.0.3" });
    await d.expect("EHLO client.remote.test", 250);
    await d.expect("MAIL FROM:<a@remote.test>", 250);
    const r = await d.expect("RCPT TO:<bob@petrel.test>", 554, "5.7.1");
    assert.match(r.lines.join(" "), /\[127\.0\.0\.3\] blocked using codes\.test/);
    await d.expect("QUIT", 221);
  });

  test("the log has the listings with the score, FCrDNS and HELO findings", async () => {
    await waitFor("the FCrDNS results", async () => log.entries.some((e) => e.event === "fcrdns" && e.remote === "127.0.0.2"));
    const listed = log.entries.find((e) => e.event === "dnsbl" && e.remote === "127.0.0.1")!;
    assert.deepEqual(listed.listings, ["bl.test=127.0.0.2", "score.test=127.0.0.2"]);
    assert.equal(listed.score, 2.5);
    assert.deepEqual(log.entries.find((e) => e.event === "fcrdns" && e.remote === "127.0.0.1")?.status, "pass");
    assert.deepEqual(log.entries.find((e) => e.event === "fcrdns" && e.remote === "127.0.0.2")?.status, "fail");
    const c = await SmtpClient.open(server.port("smtp"), { localAddress: "127.0.0.2" });
    await c.expect("EHLO petrel.test", 250);
    await c.expect("QUIT", 221);
    const helo = log.entries.find((e) => e.event === "helo-check");
    assert.deepEqual(helo?.findings, ["ours"]);
  });

  test("the submission listener is not checked", async () => {
    const c = await SmtpClient.open(server.port("submission"));
    await c.expect("EHLO client.remote.test", 250);
    await c.expect("MAIL FROM:<a@remote.test>", 250);
    await c.expect("RCPT TO:<bob@petrel.test>", 250);
    await c.expect("QUIT", 221);
  });
});

describe("anti-abuse: DNSBL at connect, and by score", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ overrides: config({ stage: "connect", zones: [{ zone: "bl.test", action: "score", weight: 1 }, { zone: "score.test", action: "score", weight: 2 }], scoreThreshold: 3 }) });
  });
  after(() => server.stop());

  test("a client whose score reaches the threshold gets 554 5.7.1 as greeting; others are served", async () => {
    const c = await SmtpClient.connect(server.port("smtp"));
    const greeting = await c.reply();
    assert.equal(greeting.code, 554);
    assert.equal(greeting.enhanced, "5.7.1");
    assert.match(greeting.lines.join(" "), /blocked using bl\.test, score\.test/);
    await c.closed;
    await (await SmtpClient.open(server.port("smtp"), { localAddress: "127.0.0.2" })).expect("QUIT", 221);
  });
});
