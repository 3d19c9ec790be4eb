/**
 * MTA-STS (RFC 8461) end to end: a second Petrel is the remote MTA (with a certificate from a
 * test CA for mx1.remote.test, and a self-signed one for mx2.self.test), a loopback DNS server
 * serves the MX and _mta-sts records, a local HTTPS server the policies; the sender trusts the
 * test CA (outbound.caFile) and fetches policies from that server (outbound.mtaSts.port).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { rmSync } from "node:fs";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { memoryLogger, type LogEntry } from "../helpers/memory-log.js";
import { makeCa } from "../helpers/test-ca.js";
import { mailbox, message, queueMessage, SHORT_TIMEOUTS, startPolicyServer, stsPolicy, waitForMail, waitForOutcome, type PolicyServer } from "../helpers/outbound-fixture.js";
import { TlsReportData } from "../../src/delivery/remote/tls-report.js";
import { waitFor } from "../helpers/wait.js";

const CATCH = (d: string) => `catchall@${d}`;

describe("MTA-STS: outbound delivery under a domain's policy", () => {
  let dns: TestDnsServer;
  let remote: TestServer;
  let sender: TestServer;
  let policies: PolicyServer;
  let log: LogEntry[];
  const dir = tempDir("petrel-mtasts-");

  before(async () => {
    const ca = makeCa(dir);
    const mx1 = ca.issue("mx1", ["mx1.remote.test"]);
    const web = ca.issue("web", ["mta-sts.sts.test", "mta-sts.badmx.test", "mta-sts.self.test", "mta-sts.testing.test", "mta-sts.change.test", "mta-sts.plain.test"]);
    // A self-signed certificate for mx2.self.test (no CA vouches for it).
    const selfKey = join(dir, "self.key");
    const selfCert = join(dir, "self.crt");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", selfKey, "-out", selfCert, "-days", "30", "-subj", "/CN=mx2.self.test", "-addext", "subjectAltName=DNS:mx2.self.test"], { stdio: "ignore" });
    policies = await startPolicyServer(web);
    const zone: Record<string, object> = { "mx1.remote.test": { A: ["127.0.0.1"] }, "mx2.self.test": { A: ["127.0.0.1"] } };
    for (const d of ["sts.test", "badmx.test", "self.test", "testing.test", "change.test", "plain.test"]) {
      zone[`mta-sts.${d}`] = { A: ["127.0.0.1"] };
      zone[`_mta-sts.${d}`] = { TXT: ["v=STSv1; id=20261130a"] };
      zone[d] = { MX: [{ exchange: d === "self.test" || d === "testing.test" ? "mx2.self.test" : "mx1.remote.test", priority: 10 }] };
    }
    dns = await startDnsServer(zone as never);
    policies.policies.set("sts.test", stsPolicy("enforce", ["mx1.remote.test"]));
    policies.policies.set("badmx.test", stsPolicy("enforce", ["mx.elsewhere.test", "*.other.test"]));
    policies.policies.set("self.test", stsPolicy("enforce", ["*.self.test"]));
    policies.policies.set("testing.test", stsPolicy("testing", ["mx2.self.test"]));
    policies.policies.set("change.test", stsPolicy("enforce", ["mx1.remote.test"]));
    remote = await startServer({
      domains: ["sts.test", "badmx.test", "self.test", "testing.test", "change.test", "plain.test"],
      deliver: true,
      overrides: { tls: { cert: mx1.cert, key: mx1.key, certificates: [{ hostnames: ["mx2.self.test"], cert: selfCert, key: selfKey }] } },
    });
    const l = memoryLogger();
    log = l.entries;
    sender = await startServer({
      deliver: true,
      log: l,
      overrides: {
        dns: { servers: [dns.server] },
        outbound: { port: remote.port("smtp"), timeouts: SHORT_TIMEOUTS, connectTimeout: "2s", idleConnectionTime: "1s", caFile: ca.certFile, mtaSts: { port: policies.port, fetchTimeout: "3s" } },
        delivery: { retryDelays: ["1h"] },
      },
    });
  });

  after(async () => {
    if (process.env.OUTBOUND_DEBUG) for (const e of log) if (String(e.event ?? "").match(/outbound|delivery|mta-sts/)) console.error(JSON.stringify(e));
    await sender?.stop();
    await remote?.stop();
    await policies?.close();
    await dns?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("enforce, matching MX, certificate valid for it: delivered over verified TLS", async () => {
    await queueMessage(sender, "a@petrel.test", ["x@sts.test"], message("enforce ok"));
    await waitForMail(remote, CATCH("sts.test"));
    const session = log.find((e) => e.event === "outbound-session" && String(e.server).startsWith("mx1.remote.test"));
    assert.equal(session?.verified, true);
    // The policy is cached in the store (shared by nodes, survives restarts).
    const cached = await sender.petrel.store.keyValue.get(["mta-sts:sts.test"], Date.now());
    const policy = JSON.parse(cached["mta-sts:sts.test"]!.value);
    assert.equal(policy.id, "20261130a");
    assert.equal(policy.mode, "enforce");
    assert.deepEqual(policy.mx, ["mx1.remote.test"]);
    const s = await waitFor("TLS-RPT data", async () => (await new TlsReportData(sender.petrel.store.keyValue).summary(TlsReportData.day(Date.now()), "sts.test"))[0]);
    assert.equal(s.policyType, "sts");
    assert.ok(s.success >= 1);
  });

  test("enforce, MX not in the policy: deferred 4.7.5, no connection at all", async () => {
    const before = log.filter((e) => e.event === "outbound-session").length;
    await queueMessage(sender, "a@petrel.test", ["x@badmx.test"], message("enforce mx mismatch"));
    const d = await waitForOutcome(log, "x@badmx.test", "deferred");
    assert.match(String(d.reply), /^451 4\.7\.5 No MX host of badmx\.test matches its MTA-STS policy/);
    assert.equal(log.filter((e) => e.event === "outbound-session").length, before);
    assert.equal((await mailbox(remote, CATCH("badmx.test"))).length, 0);
    const s = await waitFor("TLS-RPT data", async () => (await new TlsReportData(sender.petrel.store.keyValue).summary(TlsReportData.day(Date.now()), "badmx.test"))[0]);
    assert.equal(s.failures["validation-failure"], 1);
  });

  test("enforce, self-signed certificate: deferred 4.7.5, never sent in plain text", async () => {
    await queueMessage(sender, "a@petrel.test", ["x@self.test"], message("enforce self signed"));
    const d = await waitForOutcome(log, "x@self.test", "deferred");
    assert.match(String(d.reply), /^451 4\.7\.5 mx2\.self\.test\[127\.0\.0\.1\]:\d+: MTA-STS policy of self\.test not met: .*SELF_SIGNED/);
    assert.ok(!log.some((e) => e.event === "outbound-tls-fallback"), "no plain-text fallback");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await mailbox(remote, CATCH("self.test"))).length, 0);
    const s = await waitFor("TLS-RPT data", async () => (await new TlsReportData(sender.petrel.store.keyValue).summary(TlsReportData.day(Date.now()), "self.test"))[0]);
    assert.equal(s.failures["certificate-not-trusted"], 1);
  });

  test("testing mode: delivered anyway (opportunistic TLS), the failure recorded for TLS-RPT", async () => {
    await queueMessage(sender, "a@petrel.test", ["x@testing.test"], message("testing mode"));
    await waitForMail(remote, CATCH("testing.test"));
    const s = await waitFor("TLS-RPT data", async () => (await new TlsReportData(sender.petrel.store.keyValue).summary(TlsReportData.day(Date.now()), "testing.test"))[0]);
    assert.equal(s.policyType, "sts");
    assert.equal(s.success, 0);
    assert.equal(s.failures["certificate-not-trusted"], 1);
    assert.equal(s.policy?.mode, "testing");
    assert.ok((await new TlsReportData(sender.petrel.store.keyValue).domains(TlsReportData.day(Date.now()))).includes("testing.test"));
  });

  test("no policy published: delivered, counted as no-policy-found", async () => {
    dns.remove("_mta-sts.plain.test");
    await queueMessage(sender, "a@petrel.test", ["x@plain.test"], message("no policy"));
    await waitForMail(remote, CATCH("plain.test"));
    assert.equal(policies.hits.get("plain.test") ?? 0, 0);
    const s = await waitFor("TLS-RPT data", async () => (await new TlsReportData(sender.petrel.store.keyValue).summary(TlsReportData.day(Date.now()), "plain.test"))[0]);
    assert.equal(s.policyType, "no-policy-found");
    assert.equal(s.success, 1);
  });

  test("the policy is cached while its id stays; a new id is fetched again", async () => {
    await queueMessage(sender, "a@petrel.test", ["x@change.test"], message("change 1"));
    await waitForMail(remote, CATCH("change.test"), 1);
    await queueMessage(sender, "a@petrel.test", ["x@change.test"], message("change 2"));
    await waitForMail(remote, CATCH("change.test"), 2);
    assert.equal(policies.hits.get("change.test"), 1, "the cached policy served the second message");
    // The domain moves its MX elsewhere and publishes a new policy under a new id.
    policies.policies.set("change.test", stsPolicy("enforce", ["mx.new.test"]));
    dns.set("_mta-sts.change.test", { TXT: ["v=STSv1; id=20261130b"] });
    sender.petrel.outboundResolver.clearCache();
    await queueMessage(sender, "a@petrel.test", ["y@change.test"], message("change 3"));
    const d = await waitForOutcome(log, "y@change.test", "deferred");
    assert.match(String(d.reply), /^451 4\.7\.5 /);
    assert.equal(policies.hits.get("change.test"), 2);
    const cached = await sender.petrel.store.keyValue.get(["mta-sts:change.test"], Date.now());
    assert.equal(JSON.parse(cached["mta-sts:change.test"]!.value).id, "20261130b");
  });
});
