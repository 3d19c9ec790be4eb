/** MX routing (RFC 5321 5.1, RFC 7505) against a resolver fake with exactly the records each test states. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DnsError, type MxRecord, type Resolver } from "../../dns/types.js";
import { hostAddresses, routeDomain, sortMx } from "./mx.js";

type Zone = Record<string, { MX?: MxRecord[]; A?: string[]; AAAA?: string[]; fail?: "SERVFAIL" | "TIMEOUT" }>;

function fakeResolver(zone: Zone): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const get = <K extends "MX" | "A" | "AAAA">(type: K, name: string) => {
    asked.push(`${type} ${name}`);
    const z = zone[name];
    if (!z) return Promise.reject(new DnsError("NXDOMAIN", name, type));
    if (z.fail) return Promise.reject(new DnsError(z.fail, name, type));
    const v = z[type];
    if (!v || v.length === 0) return Promise.reject(new DnsError("NODATA", name, type));
    return Promise.resolve(v as NonNullable<Zone[string][K]>);
  };
  return {
    asked,
    mx: (n) => get("MX", n),
    a: (n) => get("A", n),
    aaaa: (n) => get("AAAA", n),
    txt: () => Promise.resolve([]),
    ptr: () => Promise.resolve([]),
  };
}

describe("routeDomain", () => {
  test("MX hosts by preference", async () => {
    const r = await routeDomain("example.test", fakeResolver({ "example.test": { MX: [{ exchange: "b.example.test", priority: 20 }, { exchange: "a.example.test.", priority: 10 }] } }));
    assert.deepEqual(r, { kind: "hosts", hosts: [{ name: "a.example.test" }, { name: "b.example.test" }] });
  });

  test("equal preferences in random order (both orders occur)", () => {
    const recs = [{ exchange: "x", priority: 10 }, { exchange: "y", priority: 10 }, { exchange: "z", priority: 5 }];
    const seen = new Set<string>();
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 50; i++) seen.add(sortMx(recs, random).map((r) => r.exchange).join(","));
    assert.deepEqual([...seen].sort(), ["z,x,y", "z,y,x"]);
  });

  test("no MX record: the domain itself (implicit MX)", async () => {
    const r = await routeDomain("example.test", fakeResolver({ "example.test": { A: ["192.0.2.1"] } }));
    assert.deepEqual(r, { kind: "hosts", hosts: [{ name: "example.test" }] });
  });

  test("null MX: fail at once with 5.1.10 (RFC 7505)", async () => {
    const r = await routeDomain("example.test", fakeResolver({ "example.test": { MX: [{ exchange: "", priority: 0 }], A: ["192.0.2.1"] } }));
    assert.equal(r.kind, "fail");
    assert.match((r as { reply: string }).reply, /^556 5\.1\.10 /);
  });

  test("our own name among the MX hosts: only the preferred ones; none left is a loop (RFC 5321 5.1)", async () => {
    const zone = { "example.test": { MX: [{ exchange: "primary.test", priority: 10 }, { exchange: "Me.Petrel.test", priority: 20 }, { exchange: "other.test", priority: 30 }] }, "mine.test": { MX: [{ exchange: "me.petrel.test", priority: 10 }] } };
    assert.deepEqual(await routeDomain("example.test", fakeResolver(zone), Math.random, "me.petrel.test"), { kind: "hosts", hosts: [{ name: "primary.test" }] });
    const loop = await routeDomain("mine.test", fakeResolver(zone), Math.random, "me.petrel.test");
    assert.equal(loop.kind, "fail");
    assert.match((loop as { reply: string }).reply, /^554 5\.4\.6 /);
  });

  test("NXDOMAIN fails; SERVFAIL and timeouts are retried", async () => {
    assert.equal((await routeDomain("nope.test", fakeResolver({}))).kind, "fail");
    assert.equal((await routeDomain("x.test", fakeResolver({ "x.test": { fail: "SERVFAIL" } }))).kind, "retry");
    assert.equal((await routeDomain("x.test", fakeResolver({ "x.test": { fail: "TIMEOUT" } }))).kind, "retry");
  });

  test("IDN domains are looked up as A-labels; address literals need no DNS", async () => {
    const res = fakeResolver({ "xn--bcher-kva.example": { MX: [{ exchange: "mx.example", priority: 1 }] } });
    assert.equal((await routeDomain("bücher.example", res)).kind, "hosts");
    assert.deepEqual(res.asked, ["MX xn--bcher-kva.example"]);
    assert.deepEqual(await routeDomain("[192.0.2.7]", res), { kind: "hosts", hosts: [{ name: "192.0.2.7", addresses: ["192.0.2.7"] }] });
    assert.deepEqual(await routeDomain("[IPv6:2001:db8::1]", res), { kind: "hosts", hosts: [{ name: "2001:db8::1", addresses: ["2001:db8::1"] }] });
  });
});

describe("hostAddresses", () => {
  test("IPv4 then IPv6; none is an empty list; DNS trouble with nothing found throws", async () => {
    const res = fakeResolver({ "mx.test": { A: ["192.0.2.1"], AAAA: ["2001:db8::1"] }, "v6.test": { AAAA: ["2001:db8::2"] }, "bad.test": { fail: "SERVFAIL" } });
    assert.deepEqual(await hostAddresses({ name: "mx.test" }, res), ["192.0.2.1", "2001:db8::1"]);
    assert.deepEqual(await hostAddresses({ name: "v6.test" }, res), ["2001:db8::2"]);
    assert.deepEqual(await hostAddresses({ name: "gone.test" }, res), []);
    await assert.rejects(hostAddresses({ name: "bad.test" }, res), DnsError);
  });
});
