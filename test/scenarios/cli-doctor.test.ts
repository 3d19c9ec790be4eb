/**
 * `petrel doctor` as a real process: a running server (startChild), a loopback DNS server with
 * the domain's records, reverse DNS and blocklist zones, then problems one by one: a blocklist
 * listing, a missing PTR and DMARC, a stopped server, a bad certificate, a broken config.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { generate } from "selfsigned";
import { startChild, tempDir, type ChildServer } from "../helpers/server.js";
import { json, ok, petrel } from "../helpers/cli.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";

interface Report {
  ok: boolean;
  checks: { section: string; status: string; message: string; fix?: string }[];
}

const D = "example.test";
const HOST = "mx.petrel.test";
const IP = "192.0.2.1";

describe("petrel doctor", () => {
  let child: ChildServer;
  let dns: TestDnsServer;
  let cfg: string;
  let config: Record<string, unknown>;
  const doctor = (...extra: string[]) => petrel(child.dataDir, ["doctor", "--config", cfg, ...extra]);
  const report = async (...extra: string[]) => {
    const r = await doctor("--json", ...extra);
    return { code: r.code, report: JSON.parse(r.stdout) as Report };
  };
  const find = (r: Report, section: string, re: RegExp) => r.checks.find((c) => c.section === section && re.test(c.message));

  let dmarc: { name: string; value: string };
  before(async () => {
    child = await startChild({ domains: [D] });
    dns = await startDnsServer({});
    cfg = join(child.dataDir, "doctor.yaml");
    const listen = { smtp: false, submission: false, submissions: false, imap: false, imaps: false, pop3: false, pop3s: false, http: false, ...Object.fromEntries(Object.entries(child.ports).map(([n, p]) => [n, `127.0.0.1:${p}`])) };
    config = { hostname: HOST, dataDir: child.dataDir, listen, dns: { servers: [dns.server] }, log: { level: "silent" } };
    writeFileSync(cfg, stringify(config));
    await ok(child.dataDir, ["dkim", "keygen", D, "--config", cfg]);
    const recs = await json<{ records: { kind: string; name: string; type: string; value: string }[] }>(child.dataDir, ["dns", "records", D, "--ip", IP, "--config", cfg]);
    const txt = (kind: string) => recs.records.filter((r) => r.kind === kind);
    dns.set(D, { MX: [{ exchange: HOST, priority: 10 }], TXT: [txt("spf")[0]!.value] });
    for (const k of ["dkim", "dmarc", "mta-sts", "tls-rpt"]) for (const r of txt(k)) dns.set(r.name, { TXT: [r.value] });
    dmarc = txt("dmarc")[0]!;
    dns.set(HOST, { A: [IP] });
    dns.set("1.2.0.192.in-addr.arpa", { PTR: [HOST] });
  });
  after(async () => {
    if (child.proc.exitCode === null) {
      child.proc.kill("SIGTERM");
      await child.exited;
    }
    await dns.close();
    rmSync(child.dataDir, { recursive: true, force: true });
  });

  test("a running, well-published server: exit 0, warnings only for the self-signed certificate", async () => {
    const r = await doctor("--ip", IP);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^\[ok  \] config: config .*doctor\.yaml loads$/m);
    for (const l of Object.keys(child.ports)) assert.match(r.stdout, new RegExp(`^\\[ok  \\] listeners: ${l} answers on 127\\.0\\.0\\.1:${child.ports[l]}$`, "m"));
    assert.match(r.stdout, /^\[ok  \] tls: self-signed certificate .*selfsigned\.crt covers mx\.petrel\.test, valid for \d+ more day/m);
    assert.match(r.stdout, /^\[WARN\] tls: the certificate is self-signed.*\n +fix: get one for mx\.petrel\.test \(certbot/m);
    assert.match(r.stdout, /^\[ok  \] dns: example\.test: every record is published$/m);
    assert.match(r.stdout, /^\[ok  \] reverse-dns: 192\.0\.2\.1 <-> mx\.petrel\.test \(forward-confirmed\)$/m);
    for (const z of ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"]) assert.match(r.stdout, new RegExp(`^\\[ok  \\] blocklists: 192\\.0\\.2\\.1 is not on ${z.replace(/\./g, "\\.")}$`, "m"));
    assert.match(r.stdout, /^no problems, 1 warning\(s\)$/m);
    assert.ok(dns.queries.some((q) => q.name === "1.2.0.192.zen.spamhaus.org" && q.type === "A"), "blocklists asked through dns.servers");
  });

  test("without --ip, reverse DNS and blocklists are skipped with a note", async () => {
    const { code, report: r } = await report();
    assert.equal(code, 0);
    assert.equal(find(r, "reverse-dns", /public IP is not known/)?.status, "skip");
    assert.equal(r.checks.filter((c) => c.section === "blocklists").length, 0);
  });

  test("a blocklist listing, a missing PTR and a missing DMARC record: exit 1, each with a fix", async () => {
    dns.set("1.2.0.192.bl.spamcop.net", { A: ["127.0.0.2"] });
    dns.set("1.2.0.192.zen.spamhaus.org", { A: ["127.255.255.254"] });
    dns.remove("1.2.0.192.in-addr.arpa");
    dns.remove(`_dmarc.${D}`);
    try {
      const { code, report: r } = await report("--ip", IP);
      assert.equal(code, 1);
      assert.equal(r.ok, false);
      const listed = find(r, "blocklists", /listed on bl\.spamcop\.net \(127\.0\.0\.2\)/)!;
      assert.equal(listed.status, "fail");
      assert.match(listed.fix!, /removal/);
      assert.equal(find(r, "blocklists", /zen\.spamhaus\.org refused the query/)?.status, "warn", "127.255.255.x is a refusal, not a listing");
      const ptr = find(r, "reverse-dns", /has no PTR record/)!;
      assert.equal(ptr.status, "fail");
      assert.match(ptr.fix!, /PTR record of 192\.0\.2\.1 to mx\.petrel\.test/);
      const dmarc = find(r, "dns", /DMARC MISSING/)!;
      assert.equal(dmarc.status, "fail");
      assert.match(dmarc.fix!, /_dmarc\.example\.test\. 3600 IN TXT "v=DMARC1; p=quarantine/);
      const text = (await doctor("--ip", IP)).stdout;
      assert.match(text, /^\[FAIL\] blocklists: 192\.0\.2\.1 is listed on bl\.spamcop\.net.*\n +fix: /m);
      assert.match(text, /^3 problem\(s\) to fix, \d+ warning\(s\)$/m);
    } finally {
      dns.remove("1.2.0.192.bl.spamcop.net");
      dns.remove("1.2.0.192.zen.spamhaus.org");
      dns.set("1.2.0.192.in-addr.arpa", { PTR: [HOST] });
      dns.set(dmarc.name, { TXT: [dmarc.value] });
    }
  });

  test("an expired certificate that does not name the host fails, with a fix", async () => {
    const dir = tempDir("petrel-doctor-tls-");
    try {
      const day = 86_400_000;
      const pems = await generate([{ name: "commonName", value: "other.test" }], { keySize: 2048, notBeforeDate: new Date(Date.now() - 30 * day), notAfterDate: new Date(Date.now() - day), extensions: [{ name: "subjectAltName", altNames: [{ type: 2, value: "other.test" }] }] });
      const other = await generate([{ name: "commonName", value: HOST }], { keySize: 2048 });
      writeFileSync(join(dir, "cert.pem"), pems.cert);
      writeFileSync(join(dir, "key.pem"), other.private);
      const tlsCfg = join(dir, "tls.yaml");
      writeFileSync(tlsCfg, stringify({ ...config, tls: { cert: join(dir, "cert.pem"), key: join(dir, "key.pem") } }));
      const r = await petrel(child.dataDir, ["doctor", "--config", tlsCfg, "--json"]);
      assert.equal(r.code, 1);
      const rep = JSON.parse(r.stdout) as Report;
      assert.match(find(rep, "tls", /expired on/)!.fix!, /certbot renew/);
      assert.equal(find(rep, "tls", /does not cover mx\.petrel\.test \(it names DNS:other\.test\)/)?.status, "fail");
      assert.equal(find(rep, "tls", /key .* does not belong to/)?.status, "fail");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a config that does not load is reported, exit 1", async () => {
    const bad = join(child.dataDir, "bad.yaml");
    writeFileSync(bad, "smtp:\n  maxRecipients: many\n");
    const r = await petrel(child.dataDir, ["doctor", "--config", bad]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^\[FAIL\] config: .*bad\.yaml: smtp\.maxRecipients: .*\n +fix: fix the config file/m);
  });

  test("a stopped server is reported as not running, with how to start it", async () => {
    child.proc.kill("SIGTERM");
    assert.equal(await child.exited, 0);
    const { code, report: r } = await report("--ip", IP);
    assert.equal(code, 1);
    const down = find(r, "listeners", /^Petrel is not running: nothing answers on 127\.0\.0\.1:\d+ \(smtp\)/)!;
    assert.equal(down.status, "fail");
    assert.match(down.fix!, /systemctl start petrel/);
    assert.equal(find(r, "dns", /every record is published/)?.status, "ok", "the other checks still run");
  });
});
