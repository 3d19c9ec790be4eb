/**
 * Takes due recipients from the store (leased, so several nodes share the work), groups
 * them by message, hands each group to the transport, and records the outcomes. A recipient
 * leaves the queue only when its outcome is recorded; a crash in between means a retry,
 * which the transports make idempotent.
 */
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { Batcher } from "../core/batcher.js";
import type { DueRecipient, QueueScheduling, QueueStore, RecipientOutcome } from "../store/types.js";
import type { Queue } from "./queue.js";
import { nextAttempt, type RetryPolicy } from "./retry.js";
import type { AttemptOutcome, Transport } from "./transport.js";

export interface SchedulerOptions {
  /** This node's name in leases. */
  node: string;
  /** Messages attempted at once. */
  concurrency: number;
  /** Recipients leased per claim. */
  claimBatch: number;
  /** How long a lease lasts before another node may take the work over. */
  leaseMs: number;
  /** Longest sleep when nothing is due (picks up work from other nodes and the CLI). */
  idlePollMs: number;
  retry: RetryPolicy;
}

export class Scheduler {
  private running = false;
  private inflight = new Set<Promise<void>>();
  private wakeUp?: () => void;
  private loop?: Promise<void>;
  private readonly finisher: Batcher<{ messageId: string; outcomes: RecipientOutcome[] }, boolean>;

  constructor(
    private readonly store: QueueStore & QueueScheduling,
    private readonly queue: Queue,
    private readonly transport: Transport,
    private readonly opts: SchedulerOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    // Outcomes of many messages share one transaction.
    this.finisher = new Batcher(async (items) => {
      const deleted = new Set(await this.store.finish(items, this.clock.now()));
      return items.map((i) => deleted.has(i.messageId));
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.store.releaseLeases(this.opts.node).then(
      (n) => {
        if (n > 0) this.log.info({ event: "leases-released", recipients: n }, "took back the work of this node's previous run");
        return this.run();
      },
      (err) => {
        this.log.error({ err }, "cannot release old leases");
        return this.run();
      },
    );
  }

  /** New mail was queued: look now rather than at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    await Promise.all(this.inflight);
    await this.finisher.drained();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const free = this.opts.concurrency - this.inflight.size;
      let claimed: DueRecipient[] = [];
      if (free > 0) {
        try {
          const now = this.clock.now();
          claimed = await this.store.claimDue(now, this.opts.claimBatch, now + this.opts.leaseMs, this.opts.node);
        } catch (err) {
          this.log.error({ err }, "cannot read the queue");
        }
      }
      const groups = new Map<string, DueRecipient[]>();
      for (const r of claimed) {
        const g = groups.get(r.messageId);
        if (g) g.push(r);
        else groups.set(r.messageId, [r]);
      }
      for (const [messageId, recipients] of groups) {
        const p = this.attempt(messageId, recipients).finally(() => {
          this.inflight.delete(p);
          this.wake();
        });
        this.inflight.add(p);
      }
      if (claimed.length === this.opts.claimBatch && this.inflight.size < this.opts.concurrency) continue;
      await this.sleep();
    }
  }

  private async sleep(): Promise<void> {
    let ms = this.opts.idlePollMs;
    if (this.inflight.size < this.opts.concurrency) {
      const next = await this.store.nextDue().catch(() => null);
      if (next !== null) ms = Math.max(0, Math.min(ms, next - this.clock.now()));
    }
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(ms, () => resolve());
      this.wakeUp = () => {
        timer.cancel();
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  private async attempt(messageId: string, recipients: DueRecipient[]): Promise<void> {
    const log = this.log.child({ queueId: messageId });
    let outcomes: AttemptOutcome[];
    const message = await this.store.get(messageId);
    if (!message) return; // deleted meanwhile (CLI)
    try {
      outcomes = await this.transport.deliver({ message, recipients, body: () => this.queue.body(messageId).then((b) => b ?? Promise.reject(new Error(`message ${messageId} has no body`))) });
    } catch (err) {
      log.error({ err }, "delivery attempt failed");
      outcomes = recipients.map((r) => ({ idx: r.idx, status: "retry", reply: "451 4.3.0 Local error in delivery" }));
    }
    const now = this.clock.now();
    const byIdx = new Map(recipients.map((r) => [r.idx, r]));
    const recorded: RecipientOutcome[] = outcomes.map((o) => {
      const r = byIdx.get(o.idx)!;
      if (o.status !== "retry") return { idx: o.idx, status: o.status, reply: o.reply };
      const next = nextAttempt(this.opts.retry, r.attempts, message.createdAt, now);
      if (next === null) return { idx: o.idx, status: "failed", reply: `${o.reply} (gave up after the maximum queue time)` };
      return { idx: o.idx, status: "deferred", reply: o.reply, nextAttemptAt: next };
    });
    for (const o of recorded) {
      const r = byIdx.get(o.idx)!;
      log.info({ event: "delivery", rcpt: r.address, status: o.status, reply: o.reply, attempt: r.attempts + 1 }, `recipient ${o.status}`);
    }
    const deleted = await this.finisher.add({ messageId, outcomes: recorded });
    if (deleted) {
      if (message.spooled) await this.queue.removeSpool(messageId);
      log.info({ event: "done" }, "message left the queue");
    }
  }
}
