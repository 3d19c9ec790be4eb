import { test } from "node:test";
import assert from "node:assert/strict";
import { Authenticator } from "./authenticator.js";
import { hashPassword } from "./password.js";
import { scramKeys } from "./sasl/scram.js";
import { MemoryAuthFailures } from "../../test/helpers/memory-auth-failures.js";
import type { Account, Credentials } from "../store/types.js";
import { nullLogger } from "../core/logger.js";

const FAST = { ln: 10, r: 8, p: 1 };

async function setup() {
  const account: Account = { id: 7, address: "alice@x.test", displayName: null, quota: null, usedBytes: 0, enabled: true, createdAt: 0 } as Account;
  const creds: Record<string, Credentials> = {
    "alice@x.test": { account, passwordHash: await hashPassword("pw", FAST), scramSha256: await scramKeys("pw") },
    "old@x.test": { account: { ...account, id: 8, address: "old@x.test" }, passwordHash: await hashPassword("pw", FAST) },
  };
  let now = 1_000_000;
  const timers: number[] = [];
  const clock = { now: () => now, setTimer: (ms: number, fn: () => void) => (timers.push(ms), fn(), { cancel() {} }) };
  const lookups: string[] = [];
  const directory = { credentials: async (u: string) => (lookups.push(u), creds[u.toLowerCase()] ?? null) };
  const store = new MemoryAuthFailures();
  const auth = new Authenticator(directory, store, { lockout: { enabled: true, maxFailures: 3, windowMs: 60_000, blockMs: 30_000, maxBlockMs: 3_600_000 }, failureDelayMs: 500 }, clock, nullLogger);
  return { auth, store, lookups, timers, advance: (ms: number) => (now += ms) };
}

const req = (user: string, pw: string, remoteIp = "192.0.2.1") => ({ user, password: pw, remoteIp, protocol: "test" });

test("password: the account for the right password; null for wrong, unknown, disabled", async () => {
  const { auth } = await setup();
  assert.equal((await auth.password(req("alice@x.test", "pw")))?.id, 7);
  assert.equal((await auth.password(req("Alice@X.test", "pw")))?.id, 7);
  assert.equal(await auth.password(req("alice@x.test", "PW")), null);
  assert.equal(await auth.password(req("nobody@x.test", "pw", "192.0.2.2")), null);
  assert.equal(await auth.password(req("not an address", "pw", "192.0.2.3")), null);
});

test("lockout: N failures for one account block it from every IP; blocked logins skip the check", async () => {
  const { auth, store, lookups, advance } = await setup();
  for (let i = 0; i < 3; i++) assert.equal(await auth.password(req("alice@x.test", "bad", `198.51.100.${i}`)), null);
  assert.ok(store.rows.get("user:alice@x.test")!.blockedUntil);
  lookups.length = 0;
  assert.equal(await auth.password(req("alice@x.test", "pw", "203.0.113.9")), null, "right password, but blocked");
  assert.deepEqual(lookups, [], "no directory lookup while blocked");
  advance(30_001);
  assert.equal((await auth.password(req("alice@x.test", "pw", "203.0.113.9")))?.id, 7);
});

test("lockout: N failures from one IP block every user from it; a success does not unblock it", async () => {
  const { auth, store } = await setup();
  await auth.password(req("a@x.test", "bad"));
  await auth.password(req("b@x.test", "bad"));
  assert.equal((await auth.password(req("alice@x.test", "pw")))?.id, 7);
  assert.equal(store.rows.get("ip:192.0.2.1")!.failures, 2, "the success left the IP's count");
  await auth.password(req("c@x.test", "bad"));
  assert.equal(await auth.password(req("alice@x.test", "pw")), null);
  assert.equal((await auth.password(req("alice@x.test", "pw", "192.0.2.99")))?.id, 7);
});

test("SCRAM lookups: real keys for accounts that have them, fake ones otherwise; outcomes count", async () => {
  const { auth, store } = await setup();
  const real = await auth.scram({ user: "alice@x.test", remoteIp: "192.0.2.1", protocol: "test" });
  assert.equal(await real.finish(true), "alice@x.test");
  const old = await auth.scram({ user: "old@x.test", remoteIp: "192.0.2.1", protocol: "test" });
  const nobody = await auth.scram({ user: "nobody@x.test", remoteIp: "192.0.2.1", protocol: "test" });
  assert.equal(old.credentials.iterations, real.credentials.iterations);
  assert.equal(await old.finish(true), null, "no SCRAM keys: a valid-looking proof cannot succeed");
  assert.equal(await nobody.finish(false), null);
  assert.equal(store.rows.get("ip:192.0.2.1")!.failures, 2);
  const again = await auth.scram({ user: "nobody@x.test", remoteIp: "192.0.2.1", protocol: "test" });
  assert.deepEqual(again.credentials.salt, nobody.credentials.salt);
});

test("SASL mechanisms through the Authenticator; delayFailure waits out the rest of the delay", async () => {
  const { auth, timers, advance } = await setup();
  assert.deepEqual(auth.mechanisms(), ["SCRAM-SHA-256", "PLAIN", "LOGIN"]);
  assert.equal(auth.start("CRAM-MD5", { remoteIp: "x", protocol: "t" }), undefined);
  const m = auth.start("plain", { remoteIp: "192.0.2.1", protocol: "t" })!;
  assert.deepEqual(await m.step(Buffer.from("\0alice@x.test\0pw")), { user: "alice@x.test" });
  const started = auth.now();
  advance(200);
  await auth.delayFailure(started);
  assert.deepEqual(timers, [300]);
  advance(1000);
  await auth.delayFailure(started);
  assert.deepEqual(timers, [300]);
});
