/** What /metrics and `petrel trace` read: queue recipients by state, a message's local deliveries. */
import assert from "node:assert/strict";
import { blobOf, localDelivery, newAccount, newMessage, T0, type Case } from "./fixtures.js";

export function observabilityCases(it: Case): void {
  it("countByState: every state, counted over all messages", async (s) => {
    assert.deepEqual(await s.queue.countByState(), { queued: 0, inflight: 0, deferred: 0, delivered: 0, failed: 0 });
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example", "c@x.example"]), newMessage("Q2", ["d@x.example"], { createdAt: T0 + 1000 })]);
    assert.deepEqual(await s.queue.countByState(), { queued: 4, inflight: 0, deferred: 0, delivered: 0, failed: 0 });
    await s.queue.claimDue(T0, 3, T0 + 60_000, "n1");
    await s.queue.recordOutcomes("Q1", [
      { idx: 0, status: "delivered", reply: "250 ok" },
      { idx: 1, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 5000 },
      { idx: 2, status: "failed", reply: "550 no" },
    ], T0 + 10);
    assert.deepEqual(await s.queue.countByState(), { queued: 1, inflight: 0, deferred: 1, delivered: 1, failed: 1 });
    await s.queue.claimDue(T0 + 2000, 10, T0 + 60_000, "n1");
    assert.deepEqual(await s.queue.countByState(), { queued: 0, inflight: 1, deferred: 1, delivered: 1, failed: 1 });
  });

  it("deliveriesOf: account, mailbox and UID per recipient; nothing for other ids", async (s) => {
    const a = await newAccount(s, "a@example.com");
    const b = await newAccount(s, "b@example.com");
    await s.mailstore.deliver([localDelivery("Q0", 0, blobOf("Subject: zero\r\n\r\n0\r\n"), [a.id])]);
    await s.mailstore.deliver([localDelivery("Q1", 0, blobOf("Subject: one\r\n\r\n1\r\n"), [a.id], { internalDate: T0 + 5 }), localDelivery("Q1", 1, blobOf("Subject: one\r\n\r\n1\r\n"), [b.id], { mailbox: "Archive", internalDate: T0 + 5 })]);
    const d = await s.mailstore.deliveriesOf("Q1");
    assert.deepEqual(
      d.map((x) => [x.rcptIdx, x.account, x.mailbox, x.uid]),
      [
        [0, "a@example.com", "INBOX", 2],
        [1, "b@example.com", "Archive", 1],
      ],
    );
    assert.ok(d.every((x) => typeof x.deliveredAt === "number" && x.deliveredAt > 0));
    assert.deepEqual(await s.mailstore.deliveriesOf("Q9"), []);
  });
}
