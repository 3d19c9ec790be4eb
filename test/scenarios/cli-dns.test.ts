/**
 * `petrel dns records|check` as real processes, against a loopback DNS server (dns.servers)
 * serving the right records, then missing and wrong ones.
 */
import { describe, test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { tempDir } from "../helpers/server.js";
import { json, ok, petrel } from "../helpers/cli.js";
import { startDnsServer, type DnsRecords, type TestDnsServer } from "../helpers/dns-server.js";

interface Rec {
  kind: string;
  name: string;
  type: string;
  value: string;
  required: boolean;
}
interface Records {
  domain: string;
  hostname: string;
  records: Rec[];
  mtaStsPolicy: { url: string; content: string };
  notes: string[];
}
interface Check {
  check: string;
  name: string;
  status: string;
  required: boolean;
  found: string[];
  message: string;
  publish?: string;
}
interface Result {
  domain: string;
  ok: boolean;
  checks: Check[];
}

const D = "example.test";
const HOST = "mail.example.test";

describe("petrel dns", () => {
  let dir: string;
  let cfg: string;
  let dns: TestDnsServer;
  let recs: Records;
  const run = (args: string[]) => petrel(dir, [...args, "--config", cfg]);

  /** The zone as `petrel dns records` says it should be (MX, A, TXT records). */
  function publishAll(): void {
    const names = new Map<string, DnsRecords>();
    const at = (n: string) => names.get(n) ?? (names.set(n, {}), names.get(n)!);
    for (const r of recs.records) {
      if (r.type === "MX") at(r.name).MX = [{ priority: Number(r.value.split(" ")[0]), exchange: r.value.split(" ")[1]!.replace(/\.$/, "") }];
      if (r.type === "A") (at(r.name).A ??= []).push(r.value);
      if (r.type === "TXT") (at(r.name).TXT ??= []).push(r.value);
    }
    // Other TXT records at the apex are normal (site verification) and are not SPF.
    at(D).TXT!.push("google-site-verification=abc");
    for (const [n, r] of names) dns.set(n, r);
  }
  const byName = (r: Result, check: string) => r.checks.find((c) => c.check === check)!;
  const check = async (): Promise<{ code: number; result: Result; text: string }> => {
    const j = await run(["dns", "check", D, "--ip", "192.0.2.1", "--json"]);
    const t = await run(["dns", "check", D, "--ip", "192.0.2.1"]);
    assert.equal(j.code, t.code, "text and JSON agree on the exit code");
    return { code: j.code, result: JSON.parse(j.stdout) as Result, text: t.stdout };
  };

  before(async () => {
    dir = tempDir("petrel-cli-dns-");
    dns = await startDnsServer({});
    cfg = join(dir, "petrel.yaml");
    writeFileSync(cfg, stringify({ hostname: HOST, dataDir: dir, dns: { servers: [dns.server] }, log: { level: "silent" } }));
    await ok(dir, ["domain", "add", D, "--config", cfg]);
    await ok(dir, ["dkim", "keygen", D, "--config", cfg]);
    recs = await json<Records>(dir, ["dns", "records", D, "--ip", "192.0.2.1", "--config", cfg]);
  });
  after(async () => {
    await dns.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const r of recs.records) dns.remove(r.name);
    publishAll();
  });

  test("records: MX, A, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, RFC 6186 SRV, autoconfig, PTR", async () => {
    const kinds = (k: string) => recs.records.filter((r) => r.kind === k);
    assert.deepEqual(kinds("mx").map((r) => [r.name, r.value]), [[D, `10 ${HOST}.`]]);
    assert.deepEqual(kinds("address").map((r) => [r.name, r.type, r.value]), [[HOST, "A", "192.0.2.1"]]);
    assert.equal(kinds("spf")[0]!.value, "v=spf1 mx ip4:192.0.2.1 -all");
    const shown = await json<{ record: { name: string; value: string } }[]>(dir, ["dkim", "show", D, "--config", cfg]);
    assert.deepEqual(kinds("dkim").map((r) => [r.name, r.value]), shown.map((k) => [k.record.name, k.record.value]));
    assert.equal(kinds("dmarc")[0]!.value, `v=DMARC1; p=quarantine; rua=mailto:postmaster@${D}`);
    assert.match(kinds("mta-sts")[0]!.value, /^v=STSv1; id=[0-9a-f]{20}$/);
    assert.equal(kinds("tls-rpt")[0]!.value, `v=TLSRPTv1; rua=mailto:postmaster@${D}`);
    assert.match(recs.mtaStsPolicy.content, /^version: STSv1\nmode: testing\nmx: mail\.example\.test\nmax_age: \d+\n$/);
    assert.equal(recs.mtaStsPolicy.url, `https://mta-sts.${D}/.well-known/mta-sts.txt`);
    assert.deepEqual(kinds("srv").map((r) => [r.name, r.value]), [
      [`_submissions._tcp.${D}`, `0 1 465 ${HOST}.`],
      [`_submission._tcp.${D}`, `10 1 587 ${HOST}.`],
      [`_imaps._tcp.${D}`, `0 1 993 ${HOST}.`],
      [`_imap._tcp.${D}`, `10 1 143 ${HOST}.`],
      [`_pop3s._tcp.${D}`, `20 1 995 ${HOST}.`],
    ]);
    assert.deepEqual(kinds("autoconfig").map((r) => [r.name, r.type, r.value]), [[`autoconfig.${D}`, "CNAME", `${HOST}.`], [`autodiscover.${D}`, "CNAME", `${HOST}.`]]);
    assert.deepEqual(kinds("ptr").map((r) => [r.name, r.value]), [["1.2.0.192.in-addr.arpa", `${HOST}.`]]);
    assert.deepEqual(recs.records.filter((r) => r.required).map((r) => r.kind), ["mx", "spf", "dkim", "dmarc"]);

    const zone = (await run(["dns", "records", D])).stdout;
    assert.match(zone, /^example\.test\. 3600 IN MX 10 mail\.example\.test\.$/m);
    assert.match(zone, /^example\.test\. 3600 IN TXT "v=spf1 mx -all"$/m, "without --ip: the MX only");
    assert.match(zone, /^petrel\d{6}\._domainkey\.example\.test\. 3600 IN TXT "v=DKIM1; k=rsa; p=[^"]{200,}" "[^"]+"$/m, "a 2048-bit key is split into strings");
    assert.match(zone, /^_dmarc\.example\.test\. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@example\.test"$/m);
    assert.match(zone, /^_imaps\._tcp\.example\.test\. 3600 IN SRV 0 1 993 mail\.example\.test\.$/m);
    assert.match(zone, /^;   mode: testing$/m);
    assert.match(zone, /note: .*A \(and AAAA.*--ip/);
    assert.doesNotMatch(zone, /PRIVATE KEY/);
  });

  test("records: errors for a domain that is not local and for a bad --ip", async () => {
    const r = await run(["dns", "records", "nowhere.test"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nowhere\.test is not a local domain \(add it with: petrel domain add nowhere\.test\)/);
    assert.match((await run(["dns", "records", D, "--ip", "2001:db8::1"])).stderr, /not an IPv4 address/);
  });

  test("check: everything published gives OK for each record and exit 0 (the long DKIM TXT comes split)", async () => {
    const { code, result, text } = await check();
    assert.equal(code, 0, text);
    assert.equal(result.ok, true);
    assert.deepEqual(result.checks.map((c) => [c.check.replace(/\d{6}/, "N"), c.status]), [
      ["MX", "OK"],
      ["A/AAAA", "OK"],
      ["SPF", "OK"],
      ["DKIM petrelN", "OK"],
      ["DMARC", "OK"],
      ["MTA-STS", "OK"],
      ["TLS-RPT", "OK"],
    ]);
    assert.match(text, /^example\.test: the required records are published$/m);
    assert.match(text, /^  OK      DKIM petrel\d{6} .*published key matches$/m);
    assert.ok(dns.queries.some((q) => q.type === "TXT" && q.name.includes("_domainkey")), "asked the configured DNS server");
  });

  test("check: missing DMARC and TLS-RPT; only the required one fails the exit code", async () => {
    dns.remove(`_smtp._tls.${D}`);
    let r = await check();
    assert.equal(r.code, 0, "TLS-RPT is recommended, not required");
    assert.equal(byName(r.result, "TLS-RPT").status, "MISSING");
    assert.match(r.text, /MISSING TLS-RPT .*\(recommended\)/);
    dns.remove(`_dmarc.${D}`);
    r = await check();
    assert.equal(r.code, 1);
    const dmarc = byName(r.result, "DMARC");
    assert.equal(dmarc.status, "MISSING");
    assert.equal(dmarc.publish, `_dmarc.${D}. 3600 IN TXT "v=DMARC1; p=quarantine; rua=mailto:postmaster@${D}"`);
    assert.match(r.text, /^  MISSING DMARC .*\n +publish: _dmarc\.example\.test\. 3600 IN TXT "v=DMARC1; p=quarantine/m);
  });

  test("check: two SPF records are WRONG (RFC 7208 permerror); so is +all, and an SPF without the server", async () => {
    dns.set(D, { MX: [{ exchange: HOST, priority: 10 }], TXT: ["v=spf1 mx -all", "v=spf1 include:_spf.other.test ~all"] });
    let r = await check();
    assert.equal(r.code, 1);
    assert.equal(byName(r.result, "SPF").status, "WRONG");
    assert.match(byName(r.result, "SPF").message, /2 SPF records/);
    assert.equal(byName(r.result, "SPF").found.length, 2);
    dns.set(D, { MX: [{ exchange: HOST, priority: 10 }], TXT: ["v=spf1 +all"] });
    assert.match(byName((await check()).result, "SPF").message, /\+all/);
    dns.set(D, { MX: [{ exchange: HOST, priority: 10 }], TXT: ["v=spf1 ip4:198.51.100.0/24 -all"] });
    assert.match(byName((await check()).result, "SPF").message, /does not name the server/);
    dns.set(D, { MX: [{ exchange: HOST, priority: 10 }], TXT: ["v=spf1 ip4:192.0.2.0/24 -all"] });
    assert.equal(byName((await check()).result, "SPF").status, "OK", "a network holding --ip names the server");
  });

  test("check: MX pointing elsewhere is WRONG with the MX to publish", async () => {
    dns.set(D, { MX: [{ exchange: "mx.other.test", priority: 10 }], TXT: [recs.records.find((x) => x.kind === "spf")!.value] });
    const r = await check();
    assert.equal(r.code, 1);
    const mx = byName(r.result, "MX");
    assert.equal(mx.status, "WRONG");
    assert.match(mx.message, /MX points to mx\.other\.test, not to mail\.example\.test/);
    assert.equal(mx.publish, `${D}. 3600 IN MX 10 ${HOST}.`);
    assert.deepEqual(mx.found, ["10 mx.other.test"]);
  });

  test("check: a published DKIM key that differs from ours is WRONG; one split at odd places is OK", async () => {
    const dkim = recs.records.find((x) => x.kind === "dkim")!;
    const other = dkim.value.replace(/p=(.{10})/, "p=AAAAAAAAAA");
    dns.set(dkim.name, { TXT: [other] });
    let r = await check();
    assert.equal(r.code, 1);
    const c = r.result.checks.find((x) => x.check.startsWith("DKIM"))!;
    assert.equal(c.status, "WRONG");
    assert.match(c.message, /differs from the server's key/);
    assert.match(r.text, /publish: petrel\d{6}\._domainkey\.example\.test\. 3600 IN TXT "v=DKIM1; k=rsa; p=/);
    // Strings of 7, 100 and the rest octets: resolvers join them (RFC 6376 3.6.2.2).
    dns.set(dkim.name, { TXT: [[dkim.value.slice(0, 7), dkim.value.slice(7, 107), dkim.value.slice(107)]] });
    r = await check();
    assert.equal(r.code, 0, r.text);
  });

  test("check: a DNS failure is ERROR (nothing concluded) and fails the check", async () => {
    dns.fail(`_dmarc.${D}`, "SERVFAIL");
    const r = await check();
    assert.equal(r.code, 1);
    assert.equal(byName(r.result, "DMARC").status, "ERROR");
    assert.match(byName(r.result, "DMARC").message, /lookup failed \(SERVFAIL\)/);
  });
});
