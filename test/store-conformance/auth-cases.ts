/** SCRAM keys of accounts, and the rows of the authentication lockout (compare-and-set). */
import assert from "node:assert/strict";
import { newAccount, type Case } from "./fixtures.js";
import type { AuthFailure } from "../../src/store/types.js";

const row = (key: string, over: Partial<AuthFailure> = {}): AuthFailure => ({ key, failures: 1, windowStart: 1000, lastFailureAt: 1000, blockedUntil: null, level: 0, ...over });

export function authCases(it: Case): void {
  it("SCRAM keys: absent by default, set at creation or with the password, removed with null", async (s) => {
    await newAccount(s, "alice@example.com");
    assert.equal((await s.directory.credentials("alice@example.com"))!.scramSha256, undefined);
    await s.directory.addAccount({ address: "bob@example.com", passwordHash: "h", scramSha256: "SCRAM-SHA-256$4096:c2FsdA==$a:b" });
    assert.equal((await s.directory.credentials("Bob@example.com"))!.scramSha256, "SCRAM-SHA-256$4096:c2FsdA==$a:b");
    assert.equal(await s.directory.updateAccount("alice@example.com", { passwordHash: "h2", scramSha256: "SCRAM-SHA-256$4096:eA==$c:d" }), true);
    const c = (await s.directory.credentials("alice@example.com"))!;
    assert.equal(c.passwordHash, "h2");
    assert.equal(c.scramSha256, "SCRAM-SHA-256$4096:eA==$c:d");
    await s.directory.updateAccount("alice@example.com", { scramSha256: null });
    assert.equal((await s.directory.credentials("alice@example.com"))!.scramSha256, undefined);
  });

  it("auth failures: insert once, replace only the expected row, list blocks, remove, prune", async (s) => {
    const f = s.authFailures;
    assert.deepEqual(await f.get(["ip:192.0.2.1"]), []);
    assert.equal(await f.replace(null, row("ip:192.0.2.1")), true);
    assert.equal(await f.replace(null, row("ip:192.0.2.1", { failures: 9 })), false, "a row exists already");
    const two = row("ip:192.0.2.1", { failures: 2, lastFailureAt: 2000 });
    assert.equal(await f.replace(row("ip:192.0.2.1"), two), true);
    assert.equal(await f.replace(row("ip:192.0.2.1"), row("ip:192.0.2.1", { failures: 7 })), false, "stale expectation");
    const blocked = { ...two, failures: 3, lastFailureAt: 3000, blockedUntil: 60_000, level: 1 };
    assert.equal(await f.replace(two, blocked), true);
    assert.equal(await f.replace(two, { ...two, failures: 3 }), false);
    assert.equal(await f.replace(blocked, { ...blocked, blockedUntil: 70_000 }), true, "blockedUntil compared when not null");
    await f.replace(null, row("user:alice@example.com", { blockedUntil: 50_000, level: 1 }));
    await f.replace(null, row("user:bob@example.com", { lastFailureAt: 100 }));
    assert.deepEqual((await f.get(["ip:192.0.2.1", "user:nobody", "user:alice@example.com"])).map((r) => r.key).sort(), ["ip:192.0.2.1", "user:alice@example.com"]);
    assert.deepEqual((await f.get(["ip:192.0.2.1"]))[0], { ...blocked, blockedUntil: 70_000 });
    assert.deepEqual((await f.listBlocked(55_000)).map((r) => r.key), ["ip:192.0.2.1"]);
    assert.deepEqual((await f.listBlocked(0)).map((r) => r.key), ["user:alice@example.com", "ip:192.0.2.1"]);
    assert.equal(await f.prune(500, 10_000), 1, "only the quiet, unblocked row");
    assert.equal(await f.remove(["user:alice@example.com", "user:none"]), 1);
    assert.equal(await f.remove(), 1);
    assert.deepEqual(await f.listBlocked(0), []);
  });

  it("auth failures: concurrent compare-and-set from two nodes, exactly one wins", async (s, b) => {
    const peer = await b.peer();
    await s.authFailures.replace(null, row("ip:1"));
    const results = await Promise.all([s.authFailures.replace(row("ip:1"), row("ip:1", { failures: 2 })), peer.authFailures.replace(row("ip:1"), row("ip:1", { failures: 2, lastFailureAt: 1001 }))]);
    assert.deepEqual(results.sort(), [false, true]);
  });
}
