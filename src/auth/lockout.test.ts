import { test } from "node:test";
import assert from "node:assert/strict";
import { afterFailure, ipKey, Lockout, userKey, type LockoutPolicy } from "./lockout.js";
import type { AuthFailure } from "../store/types.js";
import { MemoryAuthFailures } from "../../test/helpers/memory-auth-failures.js";
import { nullLogger } from "../core/logger.js";

const P: LockoutPolicy = { enabled: true, maxFailures: 3, windowMs: 60_000, blockMs: 10_000, maxBlockMs: 35_000 };

test("afterFailure: N failures in the window block; blocks double up to the maximum", () => {
  let r: AuthFailure | null = null;
  r = afterFailure(r, "k", 0, P);
  r = afterFailure(r, "k", 1000, P);
  assert.equal(r.blockedUntil, null);
  assert.equal(r.failures, 2);
  r = afterFailure(r, "k", 2000, P);
  assert.equal(r.blockedUntil, 12_000);
  assert.equal(r.level, 1);
  // Failures while blocked change nothing.
  assert.equal(afterFailure(r, "k", 5000, P), r);
  // After the block: a new window; the next block lasts twice as long, then the maximum.
  for (const t of [13_000, 14_000]) r = afterFailure(r, "k", t, P);
  assert.equal(r.blockedUntil, null);
  r = afterFailure(r, "k", 15_000, P);
  assert.equal(r.blockedUntil, 15_000 + 20_000);
  for (const t of [36_000, 37_000, 38_000]) r = afterFailure(r, "k", t, P);
  assert.equal(r.blockedUntil, 38_000 + 35_000);
  assert.equal(r.level, 3);
});

test("afterFailure: failures spread wider than the window never block; a long quiet time resets the doubling", () => {
  let r: AuthFailure | null = null;
  for (let t = 0; t < 10; t++) r = afterFailure(r, "k", t * 40_000, P);
  assert.equal(r!.blockedUntil, null);
  const blocked: AuthFailure = { key: "k", failures: 3, windowStart: 0, lastFailureAt: 0, blockedUntil: 10_000, level: 3 };
  let n = afterFailure(blocked, "k", 100_000, P);
  n = afterFailure(n, "k", 100_001, P);
  n = afterFailure(n, "k", 100_002, P);
  assert.equal(n.level, 1);
  assert.equal(n.blockedUntil, 100_002 + 10_000);
});

test("keys: IPv4-mapped IPv6 counts as the IPv4 address; user names case-insensitively", () => {
  assert.equal(ipKey("::ffff:192.0.2.1"), "ip:192.0.2.1");
  assert.equal(ipKey("2001:db8::1"), "ip:2001:db8::1");
  assert.equal(userKey(" Alice@Example.COM"), "user:alice@example.com");
});

test("Lockout: blocks, success clears a user's count but not an IP's", async () => {
  let now = 1_000_000;
  const clock = { now: () => now, setTimer: () => ({ cancel() {} }) };
  const store = new MemoryAuthFailures();
  const l = new Lockout(store, P, clock, nullLogger);
  const keys = ["ip:192.0.2.1", "user:alice@x.test"];
  await l.failure(keys, {});
  await l.failure(keys, {});
  await l.success("alice@x.test");
  assert.equal(store.rows.get("user:alice@x.test"), undefined);
  assert.equal(store.rows.get("ip:192.0.2.1")!.failures, 2);
  await l.failure(keys, {});
  assert.equal((await l.blocked(keys))!.key, "ip:192.0.2.1");
  assert.equal(await l.blocked(["user:alice@x.test"]), null);
  now += 10_001;
  assert.equal(await l.blocked(keys), null);
  const off = new Lockout(store, { ...P, enabled: false }, clock, nullLogger);
  for (let i = 0; i < 5; i++) await off.failure(["ip:x"], {});
  assert.equal(store.rows.get("ip:x"), undefined);
});

test("Lockout: concurrent failures are all counted (compare-and-set retries)", async () => {
  const clock = { now: () => 5000, setTimer: () => ({ cancel() {} }) };
  const store = new MemoryAuthFailures();
  const l = new Lockout(store, { ...P, maxFailures: 100 }, clock, nullLogger);
  await Promise.all(Array.from({ length: 6 }, () => l.failure(["ip:1"], {})));
  assert.equal(store.rows.get("ip:1")!.failures, 6);
});
