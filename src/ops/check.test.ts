/** records.ts and check.ts against a resolver fake with the exact records of each case. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { configSchema } from "../config/schema.js";
import { DnsError, type MxRecord, type Resolver } from "../dns/types.js";
import { checkDomain } from "./check.js";
import { domainRecords } from "./records.js";

type Zone = Record<string, { MX?: MxRecord[]; TXT?: string[][]; A?: string[] }>;

function fake(zone: Zone): Resolver {
  const get = <T>(name: string, type: "MX" | "TXT" | "A", rrtype: string): Promise<T[]> => {
    const r = zone[name];
    if (!r) return Promise.reject(new DnsError("NXDOMAIN", name, rrtype));
    const v = r[type] as T[] | undefined;
    return v ? Promise.resolve(v) : Promise.reject(new DnsError("NODATA", name, rrtype));
  };
  return { txt: (n) => get(n, "TXT", "TXT"), mx: (n) => get(n, "MX", "MX"), a: (n) => get(n, "A", "A"), aaaa: (n) => Promise.reject(new DnsError("NODATA", n, "AAAA")), ptr: (n) => Promise.reject(new DnsError("NXDOMAIN", n, "PTR")) };
}

const listen = configSchema.parse({ listen: { pop3s: false } }).listen;
const expected = domainRecords({ domain: "ex.test", hostname: "mx.ex.test", listen, dkimKeys: [], ipv4: "192.0.2.9" });
const status = async (zone: Zone, check: string) => (await checkDomain(fake(zone), expected, ["192.0.2.9"])).checks.find((c) => c.check === check)!;

test("a listener that is off gets the SRV target '.' (RFC 6186 3.4)", () => {
  assert.equal(expected.records.find((r) => r.name === "_pop3s._tcp.ex.test")!.value, "0 0 0 .");
});

test("MX: a null MX and a backup-only MX are WRONG", async () => {
  const base = { "mx.ex.test": { A: ["192.0.2.9"] } };
  assert.match((await status({ ...base, "ex.test": { MX: [{ exchange: "", priority: 0 }] } }, "MX")).message, /null MX/);
  const backup = await status({ ...base, "ex.test": { MX: [{ exchange: "mx.ex.test", priority: 20 }, { exchange: "other.test", priority: 10 }] } }, "MX");
  assert.equal(backup.status, "WRONG");
  assert.match(backup.message, /backup MX/);
  assert.equal((await status({ ...base, "ex.test": { MX: [{ exchange: "MX.EX.TEST.", priority: 5 }] } }, "MX")).status, "OK", "case and trailing dot do not matter");
});

test("SPF: the server named by a:, by a CIDR, or through an include; not by another network", async () => {
  const spf = (v: string) => status({ "ex.test": { TXT: [[v]] } }, "SPF");
  assert.equal((await spf("v=spf1 a:mx.ex.test -all")).status, "OK");
  assert.equal((await spf("v=spf1 ip4:192.0.2.0/28 ~all")).status, "OK");
  assert.equal((await spf("v=spf1 include:_spf.provider.test -all")).status, "OK");
  assert.equal((await spf("v=spf1 ip4:192.0.2.16/28 -all")).status, "WRONG");
  assert.equal((await spf("v=spf10 mx -all")).status, "MISSING", "v=spf10 is not an SPF record");
});

test("DKIM: no key at all is MISSING with the command that makes one", async () => {
  const c = (await checkDomain(fake({}), expected)).checks.find((x) => x.check === "DKIM")!;
  assert.equal(c.status, "MISSING");
  assert.match(c.publish!, /petrel dkim keygen ex\.test/);
});

test("DMARC: p=none is OK with a note; two records are WRONG", async () => {
  assert.match((await status({ "_dmarc.ex.test": { TXT: [["v=DMARC1; p=none"]] } }, "DMARC")).message, /monitoring only/);
  assert.equal((await status({ "_dmarc.ex.test": { TXT: [["v=DMARC1; p=reject"], ["v=DMARC1; p=none"]] } }, "DMARC")).status, "WRONG");
});
