/**
 * The scheduler's DSNs over a real (SQLite) queue store and a scripted transport: a failure DSN
 * commits with the outcome, and a failed commit leaves neither (the retry makes both, once);
 * one delay DSN per message; a DSN is never answered with a DSN.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "../store/sqlite/index.js";
import type { FinishItem, QueueEntry, Store } from "../store/types.js";
import { systemClock } from "../core/clock.js";
import { nullLogger } from "../core/logger.js";
import { Queue } from "./queue.js";
import { Scheduler, type SchedulerOptions } from "./scheduler.js";
import type { AttemptOutcome, DeliveryJob, Transport } from "./transport.js";

type Script = (job: DeliveryJob) => AttemptOutcome["status"];

async function setup(script: Script, o: Partial<SchedulerOptions> = {}, inlineMax = 1 << 20) {
  const dir = mkdtempSync(join(tmpdir(), "petrel-scheduler-"));
  const store: Store = openSqliteStore(dir);
  const queue = new Queue(store.queue, { spoolDir: join(dir, "spool"), inlineMax }, systemClock, nullLogger);
  await queue.start();
  /** Every DSN the transport was handed (envelope.mail.dsnFor), delivered at once. */
  const dsns: { job: DeliveryJob; body: string }[] = [];
  const transport: Transport = {
    async deliver(job) {
      if ((job.message.envelope as { mail?: { dsnFor?: string } }).mail?.dsnFor) {
        dsns.push({ job, body: (await job.body()).toString() });
        return job.recipients.map((r) => ({ idx: r.idx, status: "delivered", reply: "250 2.0.0 ok" }));
      }
      const status = script(job);
      const reply = status === "failed" ? "550 5.1.1 no such user" : status === "retry" ? "451 4.4.1 try later" : "250 2.0.0 ok";
      return job.recipients.map((r) => ({ idx: r.idx, status, reply, remoteMta: "mx.remote.example" }));
    },
  };
  const opts: SchedulerOptions = { node: "n1", concurrency: 4, claimBatch: 100, leaseMs: 300, idlePollMs: 20, retry: { delaysMs: [20], maxQueueTimeMs: 60_000 }, notices: { hostname: "mx.petrel.test", delayWarningMs: 0 }, ...o };
  const scheduler = new Scheduler(store.queue, queue, transport, opts, systemClock, nullLogger);
  return {
    store,
    queue,
    scheduler,
    dsns,
    dir,
    async submit(sender: string, rcpts: string[], notify?: string[]) {
      const m = queue.receive({ sender, recipients: rcpts.map((address) => ({ address, dsn: notify ? { notify } : {} })), mail: {} });
      await m.write([Buffer.from("Subject: test\r\n\r\n" + "body\r\n".repeat(50))]);
      await m.commit({});
      scheduler.wake();
      return m.id;
    },
    async done() {
      await scheduler.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("Scheduler DSNs", () => {
  test("a failure: one DSN for every recipient that failed, committed with the outcome", async () => {
    const t = await setup(() => "failed");
    try {
      t.scheduler.start();
      const id = await t.submit("alice@petrel.test", ["a@remote.example", "b@remote.example"]);
      await until("the DSN", () => t.dsns.length === 1);
      assert.equal(await t.store.queue.get(id), null);
      const [dsn] = t.dsns;
      assert.deepEqual(dsn!.job.recipients.map((r) => r.address), ["alice@petrel.test"]);
      assert.match(dsn!.body, /Final-Recipient: rfc822; a@remote\.example[\s\S]*Final-Recipient: rfc822; b@remote\.example/);
      assert.match(dsn!.body, /Remote-MTA: dns; mx\.remote\.example/);
      assert.match(dsn!.body, /Diagnostic-Code: smtp; 550 5\.1\.1 no such user/);
      assert.deepEqual((dsn!.job.message.envelope as { mail: { dsnFor: string } }).mail.dsnFor, id);
      await until("an empty queue", async () => (await t.store.queue.count()) === 0);
      assert.equal(t.dsns.length, 1, "the DSN itself is not answered");
    } finally {
      await t.done();
    }
  });

  test("a commit that fails leaves neither outcome nor DSN (nor its spool file); the retry sends it once", async () => {
    // inlineMax 0: the DSN is prepared in a spool file before the commit.
    const t = await setup(() => "failed", {}, 0);
    try {
      const finish = t.store.queue.finish.bind(t.store.queue);
      let failures = 1;
      t.store.queue.finish = async (batch: readonly FinishItem[], now: number) => {
        if (failures > 0 && batch.some((b) => (b.notices?.length ?? 0) > 0)) {
          failures--;
          throw new Error("disk full");
        }
        return finish(batch, now);
      };
      const id = await t.submit("alice@petrel.test", ["a@remote.example"]);
      t.scheduler.start();
      // The failed commit: the recipient stays leased (inflight), no DSN row, no DSN spool file.
      await until("the failed commit", () => failures === 0);
      await new Promise((r) => setTimeout(r, 50));
      const entry = (await t.store.queue.get(id)) as QueueEntry;
      assert.equal(entry.recipients[0]!.state, "inflight");
      assert.equal(await t.store.queue.count(), 1, "no DSN row");
      assert.deepEqual(readdirSync(join(t.dir, "spool")).sort(), [`${id}.eml`], "the prepared DSN's spool file is gone");
      // The lease runs out, the attempt is made again, and this time outcome and DSN commit.
      await until("the DSN", () => t.dsns.length === 1, 5000);
      await until("an empty queue", async () => (await t.store.queue.count()) === 0);
      assert.equal(t.dsns.length, 1);
    } finally {
      await t.done();
    }
  });

  test("one delay DSN per message, then the failure DSN when the queue gives up", async () => {
    const t = await setup(() => "retry", { retry: { delaysMs: [30], maxQueueTimeMs: 400 }, notices: { hostname: "mx.petrel.test", delayWarningMs: 100 } });
    try {
      t.scheduler.start();
      const id = await t.submit("alice@petrel.test", ["a@remote.example"]);
      await until("the delay DSN", () => t.dsns.length === 1);
      assert.match(t.dsns[0]!.body, /Action: delayed/);
      assert.match(t.dsns[0]!.body, /Will-Retry-Until: /);
      assert.equal((await t.store.queue.get(id))?.delayNotified, true);
      await until("the failure DSN", () => t.dsns.length === 2);
      assert.match(t.dsns[1]!.body, /Action: failed\r\nStatus: 5\.4\.7/);
      assert.equal(await t.store.queue.get(id), null);
      assert.ok(t.dsns.every((d) => d.job.recipients[0]!.address === "alice@petrel.test"));
    } finally {
      await t.done();
    }
  });

  test("NOTIFY=SUCCESS: a success DSN; no DSN for a message from <>", async () => {
    const t = await setup(() => "delivered");
    try {
      t.scheduler.start();
      await t.submit("alice@petrel.test", ["a@remote.example"], ["SUCCESS"]);
      await until("the success DSN", () => t.dsns.length === 1);
      assert.match(t.dsns[0]!.body, /Action: relayed/, "delivered to a server that did not take the DSN request over");
      const t2 = await setup(() => "failed");
      try {
        t2.scheduler.start();
        const id = await t2.submit("", ["a@remote.example"]);
        await until("the message to go", async () => (await t2.store.queue.get(id)) === null);
        assert.deepEqual((await t2.store.queue.list()).map((e) => [e.sender, e.recipients.map((r) => r.address)]), []);
        assert.equal(t2.dsns.length, 0);
      } finally {
        await t2.done();
      }
    } finally {
      await t.done();
    }
  });
});

describe("Scheduler slots", () => {
  test("a busy destination: the recipients wait leased for a free slot, nothing is recorded as deferred", async () => {
    const dir = mkdtempSync(join(tmpdir(), "petrel-scheduler-"));
    const store: Store = openSqliteStore(dir);
    const queue = new Queue(store.queue, { spoolDir: join(dir, "spool"), inlineMax: 1 << 20 }, systemClock, nullLogger);
    await queue.start();
    // One destination that takes two deliveries at once and refuses the rest as busy.
    let active = 0;
    let most = 0;
    let busy = 0;
    const delivered: string[] = [];
    const transport: Transport = {
      async deliver(job) {
        if (active >= 2) {
          busy++;
          return job.recipients.map((r) => ({ idx: r.idx, status: "retry", reply: "451 4.4.5 busy", retryAfterMs: 60_000, busy: true }));
        }
        active++;
        most = Math.max(most, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        delivered.push(job.message.id);
        return job.recipients.map((r) => ({ idx: r.idx, status: "delivered", reply: "250 2.0.0 ok" }));
      },
    };
    const scheduler = new Scheduler(store.queue, queue, transport, { node: "n1", concurrency: 8, claimBatch: 100, leaseMs: 60_000, idlePollMs: 20, retry: { delaysMs: [60_000], maxQueueTimeMs: 600_000 } }, systemClock, nullLogger);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 30; i++) {
        const m = queue.receive({ sender: "a@petrel.test", recipients: [{ address: `r${i}@remote.example`, dsn: {} }], mail: {} });
        await m.write([Buffer.from("Subject: t\r\n\r\nbody\r\n")]);
        await m.commit({});
        ids.push(m.id);
      }
      scheduler.start();
      // With a deferral recorded, retryAfterMs (60 s) would hold some of them far beyond this.
      await until("every message delivered", async () => (await store.queue.count()) === 0);
      assert.deepEqual([...delivered].sort(), [...ids].sort(), "each delivered once");
      assert.ok(most <= 2);
      assert.ok(busy > 0, "the transport did refuse some as busy");
    } finally {
      await scheduler.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
