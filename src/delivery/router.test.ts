/** The router: local domains to the local transport, the rest to the remote one, outcomes merged. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { nullLogger } from "../core/logger.js";
import type { AttemptOutcome, DeliveryJob, Transport } from "../queue/transport.js";
import { createRouter } from "./router.js";

function job(rcpts: string[]): DeliveryJob & { reads: number } {
  const recipients = rcpts.map((address, idx) => ({ address, dsn: {}, idx, state: "inflight" as const, nextAttemptAt: 0, attempts: 0, lastReply: null, messageId: "Q" }));
  const j = {
    reads: 0,
    message: { id: "Q", createdAt: 0, sender: "", size: 1, envelope: {}, spooled: false, held: false, delayNotified: false, recipients },
    recipients,
    body: async () => {
      j.reads++;
      return Buffer.from("x");
    },
  };
  return j;
}

const recording = (status: AttemptOutcome["status"], seen: string[][]): Transport => ({
  async deliver(j) {
    await j.body();
    seen.push(j.recipients.map((r) => r.address));
    return j.recipients.map((r) => ({ idx: r.idx, status, reply: status }));
  },
});

test("local domains (and <Postmaster>) go local, the rest remote; the body is read once", async () => {
  const local: string[][] = [];
  const remote: string[][] = [];
  const router = createRouter({ isLocalDomain: async (d) => d === "petrel.test", local: recording("delivered", local), remote: recording("retry", remote), log: nullLogger });
  const j = job(["a@petrel.test", "b@remote.test", "Postmaster", "c@Petrel.test", "d@other.test"]);
  const out = await router.deliver(j);
  assert.deepEqual(local, [["a@petrel.test", "Postmaster", "c@Petrel.test"]]);
  assert.deepEqual(remote, [["b@remote.test", "d@other.test"]]);
  assert.deepEqual(out.map((o) => [o.idx, o.status]).sort(), [[0, "delivered"], [1, "retry"], [2, "delivered"], [3, "delivered"], [4, "retry"]]);
  assert.equal(j.reads, 1);
});

test("a transport that throws costs only its own recipients a retry", async () => {
  const router = createRouter({ isLocalDomain: async (d) => d === "petrel.test", local: recording("delivered", []), remote: { deliver: () => Promise.reject(new Error("boom")) }, log: nullLogger });
  const out = await router.deliver(job(["a@petrel.test", "b@remote.test"]));
  assert.deepEqual(out.map((o) => [o.idx, o.status]), [[0, "delivered"], [1, "retry"]]);
});

test("no remote transport: remote recipients wait", async () => {
  const router = createRouter({ isLocalDomain: async () => false, local: recording("delivered", []), remote: null, log: nullLogger });
  const [o] = await router.deliver(job(["b@remote.test"]));
  assert.equal(o!.status, "retry");
});
