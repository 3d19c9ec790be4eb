/** Submission settings of accounts (send-as, sending limits) and the sending counters. */
import assert from "node:assert/strict";
import { newAccount, type Case } from "./fixtures.js";

export function sendingCases(it: Case): void {
  it("a new account has no send-as entries and no limit overrides", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    assert.deepEqual(a.sendAs, []);
    assert.deepEqual(a.sendLimits, {});
  });

  it("send-as and limit overrides are stored and read back, null meaning unlimited", async (s) => {
    await newAccount(s, "alice@example.com");
    assert.equal(await s.directory.updateAccount("alice@example.com", { sendAs: ["boss@example.com", "@example.org"], sendLimits: { messagesPerDay: 10, recipientsPerHour: null } }), true);
    const a = (await s.directory.getAccount("Alice@example.com"))!;
    assert.deepEqual(a.sendAs, ["boss@example.com", "@example.org"]);
    assert.deepEqual(a.sendLimits, { messagesPerDay: 10, recipientsPerHour: null });
    assert.deepEqual((await s.directory.getAccountById(a.id))!.sendAs, a.sendAs);
    assert.deepEqual((await s.directory.listAccounts("example.com")).find((x) => x.id === a.id)!.sendLimits, a.sendLimits);
    // Other fields are left alone.
    assert.equal(a.enabled, true);
  });

  it("counters start at zero, add up per bucket and per account", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const b = await newAccount(s, "bob@example.com");
    assert.deepEqual(await s.sendCounters.get(a.id, ["h:2026-11-30T09", "d:2026-11-30"]), { "h:2026-11-30T09": { messages: 0, recipients: 0 }, "d:2026-11-30": { messages: 0, recipients: 0 } });
    await s.sendCounters.charge(a.id, ["h:2026-11-30T09", "d:2026-11-30"], 1, 3);
    await s.sendCounters.charge(a.id, ["h:2026-11-30T10", "d:2026-11-30"], 1, 2);
    await s.sendCounters.charge(b.id, ["h:2026-11-30T10", "d:2026-11-30"], 1, 1);
    assert.deepEqual(await s.sendCounters.get(a.id, ["h:2026-11-30T10", "d:2026-11-30"]), { "h:2026-11-30T10": { messages: 1, recipients: 2 }, "d:2026-11-30": { messages: 2, recipients: 5 } });
    assert.deepEqual((await s.sendCounters.get(b.id, ["d:2026-11-30"]))["d:2026-11-30"], { messages: 1, recipients: 1 });
  });

  it("prune keeps only the listed buckets", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.sendCounters.charge(a.id, ["h:2026-11-29T23", "d:2026-11-29"], 1, 1);
    await s.sendCounters.charge(a.id, ["h:2026-11-30T00", "d:2026-11-30"], 1, 1);
    assert.equal(await s.sendCounters.prune(["h:2026-11-30T00", "d:2026-11-30"]), 2);
    const left = await s.sendCounters.get(a.id, ["h:2026-11-29T23", "d:2026-11-29", "d:2026-11-30"]);
    assert.equal(left["d:2026-11-29"]!.messages, 0);
    assert.equal(left["h:2026-11-29T23"]!.messages, 0);
    assert.equal(left["d:2026-11-30"]!.messages, 1);
  });

  it("removing an account removes its counters", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.sendCounters.charge(a.id, ["d:2026-11-30"], 1, 1);
    await s.directory.removeAccount("alice@example.com");
    const b = await newAccount(s, "alice@example.com");
    assert.equal((await s.sendCounters.get(b.id, ["d:2026-11-30"]))["d:2026-11-30"]!.messages, 0);
  });
}
