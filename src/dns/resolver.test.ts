/**
 * The Resolver against a real DNS server on loopback (test/helpers/dns-server.ts): every test
 * states its records.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDnsServer, type TestDnsServer } from "../../test/helpers/dns-server.js";
import { DnsResolver, reverseName } from "./resolver.js";
import { mailauthResolver } from "./mailauth.js";
import { DnsError } from "./types.js";
import type { Clock } from "../core/clock.js";

const LONG = "v=DKIM1; k=rsa; p=" + "A".repeat(600);
let dns: TestDnsServer;

before(async () => {
  dns = await startDnsServer({
    "example.test": { A: ["192.0.2.1"], AAAA: ["2001:db8::1"], MX: [{ exchange: "mx2.example.test", priority: 20 }, { exchange: "mx1.example.test", priority: 10 }], TXT: ["v=spf1 -all", ["part one ", "part two"]] },
    "long._domainkey.example.test": { TXT: [LONG] },
    "www.example.test": { CNAME: "example.test" },
    "1.2.0.192.in-addr.arpa": { PTR: ["mail.example.test"] },
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": { PTR: ["six.example.test"] },
  });
});
after(() => dns.close());

const fresh = (extra: ConstructorParameters<typeof DnsResolver>[0] = {}) => new DnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1, ...extra });

test("A, AAAA, MX, TXT and PTR answers", async () => {
  const r = fresh();
  assert.deepEqual(await r.a("example.test"), ["192.0.2.1"]);
  assert.deepEqual(await r.aaaa("Example.TEST."), ["2001:db8::1"]);
  const mx = await r.mx("example.test");
  assert.deepEqual(mx.map((m) => [m.priority, m.exchange]).sort(), [[10, "mx1.example.test"], [20, "mx2.example.test"]]);
  const txt = await r.txt("example.test");
  assert.deepEqual(txt.map((t) => t.join("")).sort(), ["part one part two", "v=spf1 -all"]);
  assert.deepEqual(await r.ptr("192.0.2.1"), ["mail.example.test"]);
  assert.deepEqual(await r.ptr("2001:db8::1"), ["six.example.test"]);
});

test("a long TXT record arrives as 255-octet strings (over TCP when UDP is too small)", async () => {
  const r = fresh();
  const [record] = await r.txt("long._domainkey.example.test");
  assert.ok(record!.length >= 3 && record!.every((s) => s.length <= 255));
  assert.equal(record!.join(""), LONG);
});

test("TCP only: every UDP answer truncated", async () => {
  const tcpOnly = await startDnsServer({ "t.test": { TXT: ["over tcp"] } }, { truncateUdp: true });
  try {
    const r = new DnsResolver({ servers: [tcpOnly.server], timeoutMs: 1000, tries: 1 });
    assert.deepEqual(await r.txt("t.test"), [["over tcp"]]);
    assert.ok(tcpOnly.queries.some((q) => q.transport === "tcp"));
  } finally {
    await tcpOnly.close();
  }
});

test("CNAME is followed", async () => {
  assert.deepEqual(await fresh().a("www.example.test"), ["192.0.2.1"]);
});

test("NXDOMAIN and NODATA are distinct, definite answers", async () => {
  const r = fresh();
  await assert.rejects(r.txt("nothing.example.test"), (e: unknown) => e instanceof DnsError && e.code === "NXDOMAIN" && !e.temporary);
  await assert.rejects(r.mx("long._domainkey.example.test"), (e: unknown) => e instanceof DnsError && e.code === "NODATA" && !e.temporary);
  // An empty non-terminal exists: NODATA, not NXDOMAIN.
  await assert.rejects(r.txt("_domainkey.example.test"), (e: unknown) => e instanceof DnsError && e.code === "NODATA");
});

test("SERVFAIL and no answer are temporary failures", async () => {
  dns.fail("broken.test", "SERVFAIL");
  dns.fail("silent.test", "timeout");
  const r = fresh();
  await assert.rejects(r.txt("broken.test"), (e: unknown) => e instanceof DnsError && e.code === "SERVFAIL" && e.temporary);
  await assert.rejects(r.txt("silent.test"), (e: unknown) => e instanceof DnsError && e.code === "TIMEOUT" && e.temporary);
});

test("the cache keeps answers for their TTL, then asks again; changes are seen after expiry", async () => {
  let now = 1_000_000;
  const clock: Clock = { now: () => now, setTimer: () => ({ cancel() {} }) };
  const r = fresh({ clock, otherTtl: 60, maxTtl: 3600 });
  dns.set("cached.test", { A: ["192.0.2.7"], TXT: ["one"] });
  const count = (type: string) => dns.queries.filter((q) => q.name === "cached.test" && q.type === type).length;
  assert.deepEqual(await r.a("cached.test"), ["192.0.2.7"]);
  assert.deepEqual(await r.txt("cached.test"), [["one"]]);
  dns.set("cached.test", { A: ["192.0.2.8"], TXT: ["two"] });
  assert.deepEqual(await r.a("cached.test"), ["192.0.2.7"], "A cached (TTL 300)");
  assert.deepEqual(await r.txt("cached.test"), [["one"]], "TXT cached (otherTtl 60)");
  assert.equal(count("A"), 1);
  now += 61_000;
  assert.deepEqual(await r.txt("cached.test"), [["two"]], "TXT expired");
  assert.deepEqual(await r.a("cached.test"), ["192.0.2.7"], "A still within its 300 s TTL");
  now += 240_000;
  assert.deepEqual(await r.a("cached.test"), ["192.0.2.8"]);
  assert.equal(count("A"), 2);
});

test("negative answers are cached briefly; temporary failures never", async () => {
  let now = 0;
  const clock: Clock = { now: () => now, setTimer: () => ({ cancel() {} }) };
  const r = fresh({ clock, negativeTtl: 30 });
  await assert.rejects(r.txt("later.test"), { code: "NXDOMAIN" });
  dns.set("later.test", { TXT: ["here"] });
  await assert.rejects(r.txt("later.test"), { code: "NXDOMAIN" });
  now += 31_000;
  assert.deepEqual(await r.txt("later.test"), [["here"]]);
  dns.fail("flaky.test", "SERVFAIL");
  await assert.rejects(r.txt("flaky.test"), { code: "SERVFAIL" });
  dns.set("flaky.test", { TXT: ["ok"] });
  assert.deepEqual(await r.txt("flaky.test"), [["ok"]]);
});

test("concurrent lookups of one name share one query", async () => {
  dns.set("shared.test", { TXT: ["x"] });
  const r = fresh();
  await Promise.all([r.txt("shared.test"), r.txt("shared.test"), r.txt("SHARED.test")]);
  assert.equal(dns.queries.filter((q) => q.name === "shared.test").length, 1);
});

test("mailauth adapter: node:dns shapes and error codes", async () => {
  const resolve = mailauthResolver(fresh({ cacheSize: 0 }));
  assert.deepEqual(await resolve("example.test", "A"), ["192.0.2.1"]);
  assert.deepEqual(await resolve("1.2.0.192.in-addr.arpa", "PTR"), ["mail.example.test"]);
  await assert.rejects(resolve("nothing.example.test", "TXT"), { code: "ENOTFOUND" });
  await assert.rejects(resolve("long._domainkey.example.test", "MX"), { code: "ENODATA" });
  await assert.rejects(resolve("broken.test", "TXT"), { code: "ESERVFAIL" });
});

test("reverse names (RFC 1035 3.5, RFC 3596 2.5)", () => {
  assert.equal(reverseName("192.0.2.1"), "1.2.0.192.in-addr.arpa");
  assert.equal(reverseName("2001:db8::1"), "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  assert.equal(reverseName("::ffff:192.0.2.1"), "1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
});
