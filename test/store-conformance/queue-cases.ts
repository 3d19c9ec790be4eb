/** The durable queue: rows, bodies, and scheduling with leases. */
import assert from "node:assert/strict";
import { newMessage, T0, type Case } from "./fixtures.js";
import type { DueRecipient } from "../../src/store/types.js";

const keys = (rs: readonly DueRecipient[]) => rs.map((r) => `${r.messageId}/${r.idx}`);

export function queueCases(it: Case): void {
  it("insert stores messages with their recipients; get reads them back", async (s) => {
    const envelope = { body: "8BITMIME", smtputf8: true, ret: "HDRS", envid: "ẞ-1", nested: { list: [1, "two", null] } };
    await s.queue.insert([
      newMessage("Q1", [], {
        sender: "",
        size: 1234,
        envelope,
        recipients: [
          { address: "a@x.example", dsn: { notify: ["SUCCESS", "FAILURE"], orcpt: { type: "rfc822", address: "a@x.example" } } },
          { address: "jörg@bücher.example", dsn: {} },
        ],
      }),
    ]);
    assert.deepEqual(await s.queue.get("Q1"), {
      id: "Q1",
      createdAt: T0,
      sender: "",
      size: 1234,
      envelope,
      spooled: false,
      held: false,
      delayNotified: false,
      recipients: [
        { idx: 0, address: "a@x.example", dsn: { notify: ["SUCCESS", "FAILURE"], orcpt: { type: "rfc822", address: "a@x.example" } }, state: "queued", nextAttemptAt: T0, attempts: 0, lastReply: null },
        { idx: 1, address: "jörg@bücher.example", dsn: {}, state: "queued", nextAttemptAt: T0, attempts: 0, lastReply: null },
      ],
    });
    assert.equal(await s.queue.get("nope"), null);
  });

  it("a body is kept in the store, or the message is marked spooled", async (s) => {
    const body = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    await s.queue.insert([newMessage("IN", ["a@x.example"], { body }), newMessage("SP", ["a@x.example"], { body: null })]);
    assert.deepEqual(await s.queue.inlineBody("IN"), body);
    assert.equal((await s.queue.get("IN"))?.spooled, false);
    assert.equal(await s.queue.inlineBody("SP"), null);
    assert.equal((await s.queue.get("SP"))?.spooled, true);
    assert.equal(await s.queue.inlineBody("nope"), null);
  });

  it("list is in creation order and honours limit; count and existing", async (s) => {
    assert.deepEqual(await s.queue.list(), []);
    assert.equal(await s.queue.count(), 0);
    await s.queue.insert([newMessage("Q3", ["c@x.example"], { createdAt: T0 + 2 }), newMessage("Q1", ["a@x.example", "b@x.example"]), newMessage("Q2", ["b@x.example"], { createdAt: T0 + 1 })]);
    const all = await s.queue.list();
    assert.deepEqual(all.map((e) => e.id), ["Q1", "Q2", "Q3"]);
    assert.deepEqual(all.map((e) => e.recipients.map((r) => r.address)), [["a@x.example", "b@x.example"], ["b@x.example"], ["c@x.example"]]);
    assert.deepEqual(all[0], await s.queue.get("Q1"));
    const two = await s.queue.list({ limit: 2 });
    assert.deepEqual(two, all.slice(0, 2));
    assert.equal(await s.queue.count(), 3);
    assert.deepEqual(await s.queue.existing(["Q1", "Q9", "Q3"]), new Set(["Q1", "Q3"]));
    assert.deepEqual(await s.queue.existing([]), new Set());
  });

  it("insert is one transaction: a batch that fails stores nothing", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example"])]);
    await assert.rejects(s.queue.insert([newMessage("Q2", ["a@x.example"]), newMessage("Q1", ["b@x.example"])]));
    assert.equal(await s.queue.get("Q2"), null);
    assert.equal(await s.queue.inlineBody("Q2"), null);
    assert.equal(await s.queue.count(), 1);
    assert.deepEqual((await s.queue.get("Q1"))?.recipients.map((r) => r.address), ["a@x.example"]);
  });

  it("claimDue leases due recipients, once, until the lease expires", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example"], { recipients: [{ address: "a@x.example", dsn: { notify: ["NEVER"] } }, { address: "b@x.example", dsn: {} }] }), newMessage("Q2", ["c@x.example"], { createdAt: T0 + 1000 })]);
    const first = await s.queue.claimDue(T0, 10, T0 + 60_000, "n1");
    assert.deepEqual(first, [
      { messageId: "Q1", idx: 0, address: "a@x.example", dsn: { notify: ["NEVER"] }, state: "inflight", nextAttemptAt: T0, attempts: 0, lastReply: null },
      { messageId: "Q1", idx: 1, address: "b@x.example", dsn: {}, state: "inflight", nextAttemptAt: T0, attempts: 0, lastReply: null },
    ]);
    assert.deepEqual((await s.queue.get("Q1"))?.recipients.map((r) => r.state), ["inflight", "inflight"]);
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 1000, 10, T0 + 61_000, "n2")), ["Q2/0"], "leased recipients are not claimed again");
    assert.deepEqual(await s.queue.claimDue(T0 + 60_000, 10, T0 + 120_000, "n2"), [], "a lease runs until leaseUntil");
    const taken = await s.queue.claimDue(T0 + 60_001, 10, T0 + 120_000, "n2");
    assert.deepEqual(keys(taken), ["Q1/0", "Q1/1"], "an expired lease is taken over");
    assert.ok(taken.every((r) => r.state === "inflight" && r.attempts === 0));
    assert.deepEqual(await s.queue.claimDue(T0 + 61_000, 10, T0 + 200_000, "n1"), []);
  });

  it("claimDue takes at most limit recipients, earliest first", async (s) => {
    await s.queue.insert([4, 2, 0, 3, 1].map((i) => newMessage(`Q${i}`, ["a@x.example"], { createdAt: T0 + i })));
    assert.deepEqual(await s.queue.claimDue(T0 + 100, 0, T0 + 1000, "n1"), []);
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 100, 2, T0 + 1000, "n1")), ["Q0/0", "Q1/0"]);
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 100, 2, T0 + 1000, "n1")), ["Q2/0", "Q3/0"]);
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 100, 2, T0 + 1000, "n1")), ["Q4/0"]);
    assert.deepEqual(await s.queue.claimDue(T0 + 100, 2, T0 + 1000, "n1"), []);
  });

  it("claimDue skips held messages", async (s, b) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example"]), newMessage("Q2", ["b@x.example"])]);
    await b.setHeld("Q1", true);
    assert.equal((await s.queue.get("Q1"))?.held, true);
    assert.deepEqual(keys(await s.queue.claimDue(T0, 10, T0 + 1000, "n1")), ["Q2/0"]);
    await b.setHeld("Q1", false);
    assert.deepEqual(keys(await s.queue.claimDue(T0, 10, T0 + 1000, "n1")), ["Q1/0"]);
  });

  it("releaseLeases gives back one node's leases at once", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example"]), newMessage("Q2", ["c@x.example"], { createdAt: T0 + 1 })]);
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 1, 2, T0 + 60_000, "n1")), ["Q1/0", "Q1/1"]);
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 1, 2, T0 + 60_000, "n2")), ["Q2/0"]);
    assert.equal(await s.queue.releaseLeases("n1"), 2);
    assert.equal(await s.queue.releaseLeases("n1"), 0);
    assert.equal(await s.queue.releaseLeases("n3"), 0);
    assert.deepEqual((await s.queue.get("Q1"))!.recipients.map((r) => [r.state, r.attempts]), [["queued", 0], ["queued", 0]]);
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 2, 10, T0 + 60_000, "n1")), ["Q1/0", "Q1/1"], "claimable before the lease would have ended; n2's lease is kept");
  });

  it("recordOutcomes records delivered, deferred and failed attempts", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example", "c@x.example"])]);
    await s.queue.claimDue(T0, 10, T0 + 1000, "n1");
    await s.queue.recordOutcomes(
      "Q1",
      [
        { idx: 0, status: "delivered", reply: "250 2.0.0 ok" },
        { idx: 1, status: "deferred", reply: "451 4.3.0 later", nextAttemptAt: T0 + 5000 },
        { idx: 2, status: "failed", reply: "550 5.1.1 no such user" },
      ],
      T0 + 10,
    );
    const rs = (await s.queue.get("Q1"))!.recipients;
    assert.deepEqual(rs.map((r) => [r.state, r.attempts, r.lastReply]), [["delivered", 1, "250 2.0.0 ok"], ["deferred", 1, "451 4.3.0 later"], ["failed", 1, "550 5.1.1 no such user"]]);
    assert.equal(rs[1]!.nextAttemptAt, T0 + 5000);
    assert.deepEqual(await s.queue.claimDue(T0 + 4999, 10, T0 + 9000, "n1"), []);
    const retry = await s.queue.claimDue(T0 + 5000, 10, T0 + 9000, "n1");
    assert.deepEqual(retry.map((r) => [r.messageId, r.idx, r.attempts, r.lastReply, r.nextAttemptAt]), [["Q1", 1, 1, "451 4.3.0 later", T0 + 5000]]);
    await s.queue.recordOutcomes("Q1", [{ idx: 1, status: "deferred", reply: "451 again", nextAttemptAt: T0 + 20_000 }], T0 + 5001);
    assert.deepEqual((await s.queue.get("Q1"))!.recipients[1], { idx: 1, address: "b@x.example", dsn: {}, state: "deferred", nextAttemptAt: T0 + 20_000, attempts: 2, lastReply: "451 again" });
    assert.deepEqual(await s.queue.claimDue(T0 + 100_000, 10, T0 + 200_000, "n1").then(keys), ["Q1/1"], "delivered and failed recipients are never claimed");
  });

  it("deleteIfDone deletes a message only when every recipient is done", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example", "b@x.example"])]);
    assert.equal(await s.queue.deleteIfDone("Q1"), false, "queued");
    await s.queue.claimDue(T0, 10, T0 + 1000, "n1");
    assert.equal(await s.queue.deleteIfDone("Q1"), false, "inflight");
    await s.queue.recordOutcomes("Q1", [{ idx: 0, status: "delivered", reply: "250 ok" }, { idx: 1, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 10 }], T0 + 1);
    assert.equal(await s.queue.deleteIfDone("Q1"), false, "deferred");
    await s.queue.recordOutcomes("Q1", [{ idx: 1, status: "failed", reply: "550 no" }], T0 + 2);
    assert.equal(await s.queue.deleteIfDone("Q1"), true);
    assert.equal(await s.queue.get("Q1"), null);
    assert.equal(await s.queue.inlineBody("Q1"), null);
    assert.equal(await s.queue.count(), 0);
    assert.deepEqual(await s.queue.existing(["Q1"]), new Set());
    assert.equal(await s.queue.deleteIfDone("Q1"), false);
    assert.equal(await s.queue.deleteIfDone("nope"), false);
  });

  it("finish records the outcomes of several messages and deletes the finished ones", async (s) => {
    await s.queue.insert([newMessage("Q1", ["a@x.example"]), newMessage("Q2", ["a@x.example", "b@x.example"])]);
    await s.queue.claimDue(T0, 10, T0 + 1000, "n1");
    const deleted = await s.queue.finish(
      [
        { messageId: "Q1", outcomes: [{ idx: 0, status: "delivered", reply: "250 ok" }] },
        { messageId: "Q2", outcomes: [{ idx: 0, status: "failed", reply: "550 no" }, { idx: 1, status: "deferred", reply: "451 later", nextAttemptAt: T0 + 9000 }] },
      ],
      T0 + 5,
    );
    assert.deepEqual(deleted, ["Q1"]);
    assert.equal(await s.queue.get("Q1"), null);
    assert.deepEqual((await s.queue.get("Q2"))!.recipients.map((r) => [r.state, r.attempts, r.nextAttemptAt]), [["failed", 1, T0 + 5], ["deferred", 1, T0 + 9000]]);
    assert.deepEqual(await s.queue.finish([], T0 + 6), []);
  });

  it("nextDue is the earliest next attempt, or lease end, among waiting recipients", async (s, b) => {
    assert.equal(await s.queue.nextDue(), null);
    await s.queue.insert([newMessage("Q1", ["a@x.example"], { createdAt: T0 + 500 }), newMessage("Q2", ["b@x.example"], { createdAt: T0 + 100 })]);
    assert.equal(await s.queue.nextDue(), T0 + 100);
    assert.deepEqual(keys(await s.queue.claimDue(T0 + 100, 10, T0 + 10_000, "n1")), ["Q2/0"]);
    assert.equal(await s.queue.nextDue(), T0 + 500);
    await s.queue.recordOutcomes("Q2", [{ idx: 0, status: "deferred", reply: "451", nextAttemptAt: T0 + 300 }], T0 + 200);
    assert.equal(await s.queue.nextDue(), T0 + 300);
    await s.queue.claimDue(T0 + 600, 10, T0 + 10_000, "n1");
    assert.equal(await s.queue.nextDue(), T0 + 10_000, "when a crashed node's lease can be taken over");
    await s.queue.recordOutcomes("Q2", [{ idx: 0, status: "delivered", reply: "250" }], T0 + 700);
    await s.queue.recordOutcomes("Q1", [{ idx: 0, status: "deferred", reply: "451", nextAttemptAt: T0 + 50_000 }], T0 + 700);
    assert.equal(await s.queue.nextDue(), T0 + 50_000, "done recipients do not wait");
    await b.setHeld("Q1", true);
    assert.equal(await s.queue.nextDue(), null, "a held message waits for no time: the scheduler must not spin on it");
  });
}
