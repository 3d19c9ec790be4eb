/** DNSBL lookups against a loopback DNS server that states each zone's records. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDnsServer, type TestDnsServer } from "../../test/helpers/dns-server.js";
import { DnsResolver } from "../dns/resolver.js";
import { Dnsbl, type DnsblOptions } from "./dnsbl.js";

let dns: TestDnsServer;
before(async () => {
  dns = await startDnsServer({
    "2.2.0.192.bl.test": { A: ["127.0.0.2"] },
    "2.2.0.192.policy.test": { A: ["127.0.0.10"] },
    "3.2.0.192.policy.test": { A: ["127.0.0.4"] },
    "2.2.0.192.score-a.test": { A: ["127.0.0.2"] },
    "2.2.0.192.score-b.test": { A: ["127.0.0.3"] },
    "4.2.0.192.bl.test": { A: ["127.255.255.254"] },
    "5.2.0.192.bl.test": { A: ["192.0.2.1"] },
    [`1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test`]: { A: ["127.0.0.2"] },
  });
  dns.fail("6.2.0.192.bl.test", "SERVFAIL");
});
after(() => dns.close());

const resolver = () => new DnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 });
const make = (o: Partial<DnsblOptions>) => new Dnsbl(resolver(), { zones: [], scoreThreshold: null, onError: "accept", cacheTtlMs: 60_000, ...o }, () => Date.now());

test("a listed address names the zone; unlisted addresses are not listed", async () => {
  const d = make({ zones: [{ zone: "bl.test", action: "reject", weight: 1 }] });
  const r = await d.check("192.0.2.2");
  assert.equal(r.rejectBy, "bl.test");
  assert.deepEqual(r.listings, [{ zone: "bl.test", codes: ["127.0.0.2"], action: "reject", weight: 1 }]);
  assert.deepEqual(await d.check("192.0.2.9"), { listings: [], score: 0, errors: [] });
  assert.equal((await d.check("::ffff:192.0.2.2")).rejectBy, "bl.test", "IPv4-mapped");
  assert.equal((await d.check("2001:db8::1")).rejectBy, "bl.test", "IPv6 nibbles");
});

test("return codes: a zone's codes filter; error codes and answers outside 127/8 never count", async () => {
  const d = make({ zones: [{ zone: "policy.test", codes: ["127.0.0.4"], action: "reject", weight: 1 }, { zone: "bl.test", action: "reject", weight: 1 }] });
  assert.equal((await d.check("192.0.2.2")).listings.find((l) => l.zone === "policy.test"), undefined, "127.0.0.10 is not in codes");
  assert.equal((await d.check("192.0.2.3")).rejectBy, "policy.test");
  assert.deepEqual((await d.check("192.0.2.4")).listings, [], "127.255.255.254: the list refuses the query");
  assert.deepEqual((await d.check("192.0.2.5")).listings, [], "not in 127.0.0.0/8");
});

test("score zones add their weights; the threshold refuses", async () => {
  const zones = [
    { zone: "score-a.test", action: "score" as const, weight: 2 },
    { zone: "score-b.test", action: "score" as const, weight: 1.5 },
  ];
  const r = await make({ zones }).check("192.0.2.2");
  assert.equal(r.score, 3.5);
  assert.equal(r.rejectBy, undefined);
  assert.equal((await make({ zones, scoreThreshold: 3 }).check("192.0.2.2")).rejectBy, "score-a.test, score-b.test");
  assert.equal((await make({ zones, scoreThreshold: 4 }).check("192.0.2.2")).rejectBy, undefined);
});

test("a failing zone is reported as an error, not as a listing, and its result is not cached", async () => {
  const d = make({ zones: [{ zone: "bl.test", action: "reject", weight: 1 }] });
  assert.deepEqual(await d.check("192.0.2.6"), { listings: [], score: 0, errors: ["bl.test"] });
  dns.set("6.2.0.192.bl.test", { A: ["127.0.0.2"] });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal((await d.check("192.0.2.6")).rejectBy, "bl.test");
});

test("results are cached per address in the process", async () => {
  const d = make({ zones: [{ zone: "bl.test", action: "reject", weight: 1 }] });
  const before = dns.queries.length;
  await Promise.all([d.check("192.0.2.7"), d.check("192.0.2.7")]);
  await d.check("192.0.2.7");
  assert.equal(dns.queries.filter((q, i) => i >= before && q.name === "7.2.0.192.bl.test").length, 1);
});
