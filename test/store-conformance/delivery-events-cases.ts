/** Delivery events (DSNs about our messages): recorded by queue id, listed oldest first, kept on their own. */
import assert from "node:assert/strict";
import { newMessage, T0, type Case } from "./fixtures.js";

export function deliveryEventCases(it: Case): void {
  it("records DSN events by queue id and lists them oldest first", async (s) => {
    assert.deepEqual(await s.deliveryEvents.list("Q1"), []);
    const late = { queueId: "Q1", recipient: "bob@remote.test", action: "failed", status: "5.1.1", diagnostic: "smtp; 550 5.1.1 no such user", remoteMta: "dns; mx.remote.test", at: 2_000 };
    const early = { queueId: "Q1", recipient: "carol@remote.test", action: "delayed", status: "4.4.1", diagnostic: null, remoteMta: null, at: 1_000 };
    await s.deliveryEvents.record([late, early]);
    await s.deliveryEvents.record([{ ...early, queueId: "Q2" }]);
    await s.deliveryEvents.record([]);
    assert.deepEqual(await s.deliveryEvents.list("Q1"), [early, late]);
    assert.deepEqual(await s.deliveryEvents.list("Q2"), [{ ...early, queueId: "Q2" }]);
    assert.deepEqual(await s.deliveryEvents.list("Q3"), []);
  });

  it("a deferral that attempted nothing (notAttempted: busy or over the rate) keeps the attempt count", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example"])]);
    await s.queue.claimDue(T0, 10, T0 + 60_000, "n1");
    await s.queue.recordOutcomes("Q1", [{ idx: 0, status: "deferred", reply: "451 4.4.5 rate", nextAttemptAt: T0 + 5_000, notAttempted: true }, { idx: 1, status: "deferred", reply: "451 4.4.1 down", nextAttemptAt: T0 + 60_000 }], T0);
    await s.queue.claimDue(T0 + 60_000, 10, T0 + 120_000, "n1");
    await s.queue.finish([{ messageId: "Q1", outcomes: [{ idx: 0, status: "deferred", reply: "451 4.4.5 rate", nextAttemptAt: T0 + 65_000, notAttempted: true }, { idx: 1, status: "deferred", reply: "451 4.4.1 down", nextAttemptAt: T0 + 120_000 }] }], T0 + 60_000);
    const e = await s.queue.get("Q1");
    assert.deepEqual(e!.recipients.map((r) => [r.state, r.attempts, r.nextAttemptAt]), [["deferred", 0, T0 + 65_000], ["deferred", 2, T0 + 120_000]]);
  });
}
