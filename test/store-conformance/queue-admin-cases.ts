/** Queue administration (list filters, hold, release, retry, delete, bounce) and DSNs committed with outcomes. */
import assert from "node:assert/strict";
import { newMessage, T0, type Case } from "./fixtures.js";
import type { DueRecipient } from "../../src/store/types.js";

const keys = (rs: readonly DueRecipient[]) => rs.map((r) => `${r.messageId}/${r.idx}`);

/** A DSN row as the scheduler would prepare it (inline body). */
const notice = (id: string, to: string) => newMessage(id, [to], { sender: "", envelope: { mail: { dsnFor: "Q1" } }, body: Buffer.from(`Subject: DSN ${id}\r\n\r\nreport\r\n`) });

export function queueAdminCases(it: Case): void {
  it("list filters: deferred, failed, held", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example"]), newMessage("Q2", ["c@x.example"], { createdAt: T0 + 1 }), newMessage("Q3", ["d@x.example"], { createdAt: T0 + 2 })]);
    await s.queue.claimDue(T0 + 5, 10, T0 + 1000, "n1");
    await s.queue.finish(
      [
        { messageId: "Q1", outcomes: [{ idx: 0, status: "failed", reply: "550 5.1.1 no" }, { idx: 1, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 9000 }] },
        { messageId: "Q2", outcomes: [{ idx: 0, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 9000 }] },
        { messageId: "Q3", outcomes: [{ idx: 0, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 9000 }] },
      ],
      T0 + 6,
    );
    assert.equal(await s.queue.setHeld("Q3", true), true);
    const ids = async (filter?: "deferred" | "failed" | "held") => (await s.queue.list({ filter })).map((e) => e.id);
    assert.deepEqual(await ids(), ["Q1", "Q2", "Q3"]);
    assert.deepEqual(await ids("deferred"), ["Q1", "Q2", "Q3"]);
    assert.deepEqual(await ids("failed"), ["Q1"]);
    assert.deepEqual(await ids("held"), ["Q3"]);
    const [q1] = await s.queue.list({ filter: "failed" });
    assert.deepEqual(q1, await s.queue.get("Q1"), "a filtered entry has all its recipients");
    assert.deepEqual((await s.queue.list({ filter: "deferred", limit: 1 })).map((e) => e.id), ["Q1"]);
  });

  it("setHeld holds and releases; false for an unknown message", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example"])]);
    assert.equal(await s.queue.setHeld("Q1", true), true);
    assert.equal((await s.queue.get("Q1"))!.held, true);
    assert.deepEqual(await s.queue.claimDue(T0, 10, T0 + 1000, "n1"), []);
    assert.equal(await s.queue.setHeld("Q1", false), true);
    assert.equal((await s.queue.get("Q1"))!.held, false);
    assert.deepEqual(keys(await s.queue.claimDue(T0, 10, T0 + 1000, "n1")), ["Q1/0"]);
    assert.equal(await s.queue.setHeld("nope", true), false);
  });

  it("retryNow makes waiting recipients due now: one message, or all", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example"]), newMessage("Q2", ["c@x.example"])]);
    await s.queue.claimDue(T0, 10, T0 + 1000, "n1");
    await s.queue.finish(
      [
        { messageId: "Q1", outcomes: [{ idx: 0, status: "delivered", reply: "250 ok" }, { idx: 1, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 3_600_000 }] },
        { messageId: "Q2", outcomes: [{ idx: 0, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 3_600_000 }] },
      ],
      T0 + 1,
    );
    assert.deepEqual(await s.queue.claimDue(T0 + 100, 10, T0 + 1000, "n1"), []);
    assert.equal(await s.queue.retryNow("Q1", T0 + 100), 1, "the delivered recipient is not made due");
    assert.equal((await s.queue.get("Q1"))!.recipients[1]!.nextAttemptAt, T0 + 100);
    assert.equal(await s.queue.nextDue(), T0 + 100);
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 100, 10, T0 + 1000, "n1")), ["Q1/1"]);
    assert.equal(await s.queue.retryNow("nope", T0 + 100), 0);
    assert.equal(await s.queue.retryNow(null, T0 + 200), 1, "Q1/1 is inflight: only Q2 waits");
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 200, 10, T0 + 1000, "n1")), ["Q2/0"]);
  });

  it("remove deletes a message with its recipients and body, and says whether it was spooled", async (s) => {
    await s.queue.insert([newMessage("IN", ["a@x.example"]), newMessage("SP", ["b@x.example"], { body: null })]);
    assert.deepEqual(await s.queue.remove("IN"), { spooled: false });
    assert.deepEqual(await s.queue.remove("SP"), { spooled: true });
    assert.equal(await s.queue.remove("IN"), null);
    assert.equal(await s.queue.get("IN"), null);
    assert.equal(await s.queue.inlineBody("IN"), null);
    assert.equal(await s.queue.count(), 0);
    assert.deepEqual(await s.queue.claimDue(T0, 10, T0 + 1000, "n1"), []);
  });

  it("bounce fails the waiting recipients and queues the DSN in one transaction", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example", "c@x.example"])]);
    assert.deepEqual(keys(await s.queue.claimDue(T0, 1, T0 + 1000, "n1")), ["Q1/0"]);
    // Q1/0 is being delivered: a bounce that names it changes nothing.
    assert.deepEqual(await s.queue.bounce("Q1", [0, 1], "550 5.0.0 Deleted by the administrator", T0 + 5, [notice("D0", "sender@remote.example")]), { status: "changed", deleted: false });
    assert.equal(await s.queue.get("D0"), null);
    assert.deepEqual(await s.queue.bounce("Q1", [1, 2], "550 5.0.0 Deleted by the administrator", T0 + 5, [notice("D1", "sender@remote.example")]), { status: "bounced", deleted: false });
    const q1 = (await s.queue.get("Q1"))!;
    assert.deepEqual(q1.recipients.map((r) => [r.state, r.lastReply]), [["inflight", null], ["failed", "550 5.0.0 Deleted by the administrator"], ["failed", "550 5.0.0 Deleted by the administrator"]]);
    const dsn = (await s.queue.get("D1"))!;
    assert.equal(dsn.sender, "");
    assert.deepEqual(dsn.recipients.map((r) => [r.address, r.state]), [["sender@remote.example", "queued"]]);
    assert.match((await s.queue.inlineBody("D1"))!.toString(), /Subject: DSN D1/);
    assert.deepEqual(await s.queue.bounce("Q1", [1], "550 5.0.0 x", T0 + 6, []), { status: "changed", deleted: false }, "already failed");
    assert.deepEqual(await s.queue.bounce("nope", [0], "550 5.0.0 x", T0 + 6, []), { status: "unknown", deleted: false });
  });

  it("bounce deletes the message when nothing is left to do", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example"])]);
    await s.queue.claimDue(T0, 10, T0 + 1000, "n1");
    await s.queue.finish([{ messageId: "Q1", outcomes: [{ idx: 0, status: "delivered", reply: "250 ok" }, { idx: 1, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 9000 }] }], T0 + 1);
    assert.deepEqual(await s.queue.bounce("Q1", [1], "550 5.0.0 Deleted by the administrator", T0 + 5, [notice("D1", "sender@remote.example")]), { status: "bounced", deleted: true });
    assert.equal(await s.queue.get("Q1"), null);
    assert.deepEqual((await s.queue.list()).map((e) => e.id), ["D1"]);
  });

  it("finish commits the DSNs and the delay flag with the outcomes; none for a message deleted meanwhile", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example"]), newMessage("Q2", ["c@x.example"])]);
    assert.equal((await s.queue.get("Q1"))!.delayNotified, false);
    await s.queue.claimDue(T0, 10, T0 + 1000, "n1");
    assert.deepEqual(await s.queue.remove("Q2"), { spooled: false });
    const deleted = await s.queue.finish(
      [
        { messageId: "Q1", outcomes: [{ idx: 0, status: "failed", reply: "550 5.1.1 no" }, { idx: 1, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 9000 }], notices: [notice("D1", "sender@remote.example")], delayNotice: notice("W1", "sender@remote.example") },
        { messageId: "Q2", outcomes: [{ idx: 0, status: "failed", reply: "550 5.1.1 no" }], notices: [notice("D2", "sender@remote.example")] },
      ],
      T0 + 5,
    );
    assert.deepEqual(deleted, []);
    const q1 = (await s.queue.get("Q1"))!;
    assert.equal(q1.delayNotified, true);
    assert.deepEqual(q1.recipients.map((r) => r.state), ["failed", "deferred"]);
    assert.equal((await s.queue.get("D1"))!.sender, "");
    assert.equal((await s.queue.get("W1"))!.sender, "", "the delay DSN");
    assert.deepEqual((await s.queue.get("D1"))!.envelope, { mail: { dsnFor: "Q1" } });
    assert.equal(await s.queue.get("D2"), null, "Q2 was deleted by the administrator: no DSN");
    assert.deepEqual((await s.queue.list()).map((e) => e.id), ["D1", "Q1", "W1"]);
    // The DSNs are due at once and go through the queue like any message.
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 10, 10, T0 + 1000, "n1")).sort(), ["D1/0", "W1/0"]);
    // A second attempt that also decided on a delay DSN: the message is marked already, none is added.
    await s.queue.finish([{ messageId: "Q1", outcomes: [{ idx: 1, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 20_000 }], delayNotice: notice("W2", "sender@remote.example") }], T0 + 11);
    assert.equal(await s.queue.get("W2"), null);
  });
}
