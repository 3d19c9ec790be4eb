/** The MX guard's stages and exemptions, over a resolver fake with the exact records and an in-memory store. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { InboundGuard, type InboundOptions } from "./antiabuse.js";
import { DnsError, type Resolver } from "../dns/types.js";
import { nullLogger } from "../core/logger.js";
import type { Address } from "../core/address.js";
import { MemoryKeyValue } from "../../test/helpers/memory-kv.js";

/** A: 2.2.0.192.bl.test listed; 3.2.0.192.bl.test SERVFAIL; everything else NXDOMAIN. PTR: none. */
const resolver: Resolver = {
  async a(name) {
    if (name === "2.2.0.192.bl.test") return ["127.0.0.2"];
    if (name === "3.2.0.192.bl.test") throw new DnsError("SERVFAIL", name, "A");
    throw new DnsError("NXDOMAIN", name, "A");
  },
  async aaaa(name) {
    throw new DnsError("NXDOMAIN", name, "AAAA");
  },
  async ptr(name) {
    throw new DnsError("NXDOMAIN", name, "PTR");
  },
  async txt(name) {
    throw new DnsError("NXDOMAIN", name, "TXT");
  },
  async mx(name) {
    throw new DnsError("NXDOMAIN", name, "MX");
  },
};

function guard(o: Partial<InboundOptions> = {}) {
  const opts: InboundOptions = {
    hostname: "mx.petrel.test",
    localNetworks: ["10.0.0.0/8"],
    clientChecks: true,
    rateLimits: { connectionsPerMinute: 1, messagesPerMinutePerIp: null, messagesPerMinutePerSenderDomain: null },
    dnsbl: { zones: [{ zone: "bl.test", action: "reject", weight: 1 }], stage: "rcpt", scoreThreshold: null, onError: "accept", cacheTtlMs: 0 },
    greylist: { enabled: true, delayMs: 60_000, windowMs: 3_600_000, passTtlMs: 86_400_000, whitelistAfter: 0, exemptNetworks: [], spfWhitelist: [] },
    ...o,
  };
  return new InboundGuard(opts, { kv: new MemoryKeyValue(), resolver, log: nullLogger, now: () => 1_700_000_000_000, isLocalDomain: async (d) => d === "petrel.test" });
}

const view = (id: string, remoteAddress: string, extra: { listener?: string; authUser?: string } = {}) => ({ id, listener: "smtp", remoteAddress, ...extra });
const addr = (local: string, domain: string): Address => ({ local, domain, quoted: false, utf8: false });
const rcpt = addr("bob", "petrel.test");
const from = addr("a", "remote.test");

test("listed client: 554 at RCPT, postmaster through (then greylisted like anyone); facts kept", async () => {
  const g = guard();
  const s = view("s1", "192.0.2.2");
  assert.equal(await g.connect(s), undefined);
  await g.helo(s, "[192.0.2.99]");
  assert.equal((await g.rcpt(s, from, rcpt))?.code, 554);
  assert.equal((await g.rcpt(s, from, addr("PostMaster", "petrel.test")))?.code, 451);
  const facts = g.facts("s1")!;
  assert.equal(facts.dnsbl?.listings[0]?.zone, "bl.test");
  assert.deepEqual(facts.helo, { name: "[192.0.2.99]", findings: ["ip-literal-mismatch"] });
  assert.equal(facts.greylist, "new");
});

test("authenticated sessions, the submission listeners and local networks are not checked", async () => {
  const g = guard();
  for (const s of [view("a", "192.0.2.2", { authUser: "alice@petrel.test" }), view("b", "192.0.2.2", { listener: "submission" }), view("c", "10.1.1.1")]) {
    assert.equal(await g.connect(s), undefined);
    assert.equal(await g.connect(s), undefined, "no connection limit either");
    assert.equal(await g.rcpt(s, from, rcpt), undefined);
    assert.equal(g.facts(s.id), undefined);
  }
});

test("connection rate: 421 4.7.0 over the limit", async () => {
  const g = guard();
  assert.equal(await g.connect(view("x1", "192.0.2.50")), undefined);
  const r = await g.connect(view("x2", "192.0.2.50"));
  assert.deepEqual([r?.code, r?.enhanced], [421, "4.7.0"]);
});

test("a blocklist that fails: accepted by default, 451 4.7.1 with onError tempfail", async () => {
  const s = view("t", "192.0.2.3");
  const lenient = guard({ greylist: null });
  await lenient.connect(s);
  assert.equal(await lenient.rcpt(s, from, rcpt), undefined);
  const strict = guard({ greylist: null, dnsbl: { zones: [{ zone: "bl.test", action: "reject", weight: 1 }], stage: "rcpt", scoreThreshold: null, onError: "tempfail", cacheTtlMs: 0 } });
  await strict.connect(s);
  const r = await strict.rcpt(s, from, rcpt);
  assert.deepEqual([r?.code, r?.enhanced], [451, "4.7.1"]);
});
