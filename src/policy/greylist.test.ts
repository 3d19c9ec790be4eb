import { test } from "node:test";
import assert from "node:assert/strict";
import { Greylist, type GreylistOptions } from "./greylist.js";
import { MemoryKeyValue } from "../../test/helpers/memory-kv.js";

const MIN = 60_000;
const OPTS: GreylistOptions = { delayMs: MIN, windowMs: 24 * 60 * MIN, passTtlMs: 35 * 24 * 60 * MIN, whitelistAfter: 3, exemptNetworks: ["10.0.0.0/8"], spfWhitelist: ["big.example"] };

function setup(opts: Partial<GreylistOptions> = {}) {
  const clock = { now: 1_700_000_000_000 };
  const kv = new MemoryKeyValue();
  const g = new Greylist(kv, { ...OPTS, ...opts }, () => clock.now);
  return { clock, kv, g };
}

const T = { ip: "192.0.2.10", sender: "a@remote.example", recipient: "u@petrel.test" };

test("first attempt deferred, too early deferred, after the delay passed, then known", async () => {
  const { clock, g } = setup();
  assert.deepEqual(await g.check(T), { action: "defer", reason: "new", retryInSeconds: 60 });
  clock.now += 20_000;
  assert.deepEqual(await g.check(T), { action: "defer", reason: "too-early", retryInSeconds: 40 });
  clock.now += 40_000;
  assert.deepEqual(await g.check(T), { action: "pass", reason: "retried" });
  assert.deepEqual(await g.check(T), { action: "pass", reason: "known" });
  // Another address of the same /24 is the same client; case does not matter.
  assert.deepEqual(await g.check({ ...T, ip: "192.0.2.200", sender: "A@Remote.Example" }), { action: "pass", reason: "known" });
  // A different recipient is a new triplet.
  assert.equal((await g.check({ ...T, recipient: "v@petrel.test" })).action, "defer");
});

test("a retry after the window starts over", async () => {
  const { clock, g } = setup();
  await g.check(T);
  clock.now += OPTS.windowMs + 1;
  assert.deepEqual(await g.check(T), { action: "defer", reason: "new", retryInSeconds: 60 });
});

test("a passed triplet is forgotten passTtl after its last message, and refreshed by mail", async () => {
  const { clock, g } = setup();
  await g.check(T);
  clock.now += MIN;
  await g.check(T);
  clock.now += OPTS.passTtlMs - MIN;
  assert.equal((await g.check(T)).reason, "known", "refreshed");
  clock.now += OPTS.passTtlMs - MIN;
  assert.equal((await g.check(T)).reason, "known");
  clock.now += OPTS.passTtlMs + 1;
  assert.equal((await g.check(T)).reason, "new");
});

test("a network that passed whitelistAfter times is not greylisted any more", async () => {
  const { clock, g } = setup();
  for (const r of ["1", "2", "3"]) await g.check({ ...T, recipient: `${r}@petrel.test` });
  clock.now += MIN;
  for (const r of ["1", "2", "3"]) assert.equal((await g.check({ ...T, recipient: `${r}@petrel.test` })).reason, "retried");
  assert.deepEqual(await g.check({ ...T, sender: "new@other.example", recipient: "x@petrel.test", ip: "192.0.2.99" }), { action: "pass", reason: "network-whitelisted" });
  assert.equal((await g.check({ ...T, ip: "198.51.100.1" })).action, "defer", "other networks are not");
});

test("exempt networks; SPF-whitelisted domains pass only when SPF passes", async () => {
  const { g, kv } = setup();
  assert.deepEqual(await g.check({ ...T, ip: "10.1.2.3" }), { action: "pass", reason: "exempt-network" });
  assert.deepEqual(await g.check({ ...T, sender: "x@big.example", spfPass: async () => true }), { action: "pass", reason: "spf-whitelist" });
  assert.equal((await g.check({ ...T, sender: "x@big.example", spfPass: async () => false })).action, "defer");
  let asked = false;
  await g.check({ ...T, sender: "x@small.example", spfPass: async () => (asked = true) });
  assert.equal(asked, false, "SPF is asked only for whitelisted domains");
  assert.equal(kv.rows.size, 2);
});

test("expired entries are pruned", async () => {
  const { clock, g, kv } = setup();
  await g.check(T);
  clock.now += OPTS.windowMs;
  assert.equal(await g.prune(), 1);
  assert.equal(kv.rows.size, 0);
});
