/** The expiring key-value store (greylisting state): expiry, put-if-absent, counters, pruning. */
import assert from "node:assert/strict";
import { T0, type Case } from "./fixtures.js";

export function keyValueCases(it: Case): void {
  it("put then get; absent keys are left out; an expired key reads as absent", async (s) => {
    await s.keyValue.put("a", "one", T0 + 1000, T0);
    await s.keyValue.put("b", "two", T0 + 10, T0);
    assert.deepEqual(await s.keyValue.get(["a", "b", "c"], T0), { a: { value: "one", counter: 0, expiresAt: T0 + 1000 }, b: { value: "two", counter: 0, expiresAt: T0 + 10 } });
    assert.deepEqual(await s.keyValue.get(["a", "b"], T0 + 10), { a: { value: "one", counter: 0, expiresAt: T0 + 1000 } });
    // put replaces value and expiry
    await s.keyValue.put("a", "uno", T0 + 5000, T0 + 1);
    assert.deepEqual((await s.keyValue.get(["a"], T0 + 2000)).a, { value: "uno", counter: 0, expiresAt: T0 + 5000 });
  });

  it("putIfAbsent: the first write wins until it expires, then a new one does", async (s) => {
    assert.deepEqual(await s.keyValue.putIfAbsent("t", "first", T0 + 100, T0), { value: "first", counter: 0, expiresAt: T0 + 100 });
    assert.deepEqual(await s.keyValue.putIfAbsent("t", "second", T0 + 200, T0 + 50), { value: "first", counter: 0, expiresAt: T0 + 100 });
    assert.deepEqual(await s.keyValue.putIfAbsent("t", "third", T0 + 300, T0 + 100), { value: "third", counter: 0, expiresAt: T0 + 300 });
  });

  it("increment counts from zero, keeps the later expiry, and restarts after expiry", async (s) => {
    assert.equal(await s.keyValue.increment("n", 1, T0 + 100, T0), 1);
    assert.equal(await s.keyValue.increment("n", 2, T0 + 50, T0 + 1), 3);
    assert.deepEqual((await s.keyValue.get(["n"], T0 + 60)).n, { value: "", counter: 3, expiresAt: T0 + 100 });
    assert.equal(await s.keyValue.increment("n", 1, T0 + 400, T0 + 60), 4);
    assert.equal((await s.keyValue.get(["n"], T0 + 300)).n?.expiresAt, T0 + 400);
    assert.equal(await s.keyValue.increment("n", 1, T0 + 900, T0 + 400), 1, "expired: a new count");
    // put keeps a live counter
    await s.keyValue.put("n", "v", T0 + 1000, T0 + 401);
    assert.deepEqual((await s.keyValue.get(["n"], T0 + 402)).n, { value: "v", counter: 1, expiresAt: T0 + 1000 });
  });

  it("increments from two nodes at once are all counted; putIfAbsent has one winner", async (s, b) => {
    const peer = await b.peer();
    const stores = [s, peer];
    const counts = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 2]!.keyValue.increment("shared", 1, T0 + 1000, T0)));
    assert.equal(Math.max(...counts), 20);
    assert.equal((await s.keyValue.get(["shared"], T0)).shared?.counter, 20);
    const put = await Promise.all(Array.from({ length: 6 }, (_, i) => stores[i % 2]!.keyValue.putIfAbsent("once", `v${i}`, T0 + 1000, T0)));
    assert.equal(new Set(put.map((e) => e.value)).size, 1);
  });

  it("delete and prune", async (s) => {
    await s.keyValue.put("a", "1", T0 + 10, T0);
    await s.keyValue.put("b", "2", T0 + 20, T0);
    await s.keyValue.put("c", "3", T0 + 30, T0);
    assert.equal(await s.keyValue.delete(["a", "zz"]), 1);
    assert.equal(await s.keyValue.prune(T0 + 20), 1, "b expired at T0+20");
    assert.deepEqual(Object.keys(await s.keyValue.get(["a", "b", "c"], T0)), ["c"]);
    assert.equal(await s.keyValue.prune(T0 + 20), 0);
  });
}
