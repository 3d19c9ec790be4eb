/**
 * Takes due recipients from the store (leased, so several nodes share the work), groups
 * them by message, hands each group to the transport, and records the outcomes. A recipient
 * leaves the queue only when its outcome is recorded; a crash in between means a retry,
 * which the transports make idempotent.
 *
 * DSNs (queue/dsn.ts) are made before the outcomes are recorded and committed in the same
 * transaction (FinishItem.notices): a crash before the commit loses the outcome and its DSN
 * together (the retry makes both again), a crash after it loses neither, so a DSN is never
 * lost and never sent twice. A prepared DSN's spool file without a row is swept at start-up.
 */
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { Batcher } from "../core/batcher.js";
import type { DueRecipient, FinishItem, NewQueueMessage, QueueEntry, QueueScheduling, QueueStore, RecipientOutcome } from "../store/types.js";
import type { Queue } from "./queue.js";
import { nextAttempt, type RetryPolicy } from "./retry.js";
import type { AttemptOutcome, Transport } from "./transport.js";
import { prepareNotice, type NoticeEvent } from "./notices.js";
import { wantsNotice, type NoticeKind } from "./dsn.js";

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
  /** Delivery status notifications; without this, none are sent. */
  notices?: {
    /** This host (Reporting-MTA, MAILER-DAEMON@). */
    hostname: string;
    /** A message still undelivered this long after arrival gets one delay DSN; 0 = never. */
    delayWarningMs: number;
    /** Largest original returned whole in a failure DSN without RET. */
    fullMax?: number;
  };
}

/** A group of one message's recipients, leased by this node and not attempted yet. */
interface Group {
  messageId: string;
  recipients: DueRecipient[];
  /** Times it came back "destination busy" (parked) without being attempted. */
  parks: number;
  /** When its lease was taken. */
  claimedAt: number;
}

/** A group parked more often than this is recorded as deferred (with the transport's retryAfterMs). */
const MAX_PARKS = 50;

export class Scheduler {
  private running = false;
  private inflight = new Set<Promise<void>>();
  /**
   * Claimed work not started yet: claims are store writes (a commit each), so they take a batch
   * and attempts start from here as slots free up, without waiting for the store.
   */
  private backlog: Group[] = [];
  private backlogHead = 0;
  /**
   * Groups the transport gave back untouched because their destination had no free slot
   * (AttemptOutcome.busy): kept leased in memory rather than recorded as deferred, and started
   * again when an attempt finishes (which may have freed that slot), one per finished attempt.
   */
  private parked: Group[] = [];
  private parkCredit = 0;
  /**
   * Attempts still talking to their transport: what `concurrency` bounds. An attempt whose
   * outcomes are being committed (group commit, an fsync) no longer holds a slot, so the next
   * delivery starts meanwhile; at most 3 x `concurrency` more may wait for their commit (each
   * keeps its message, body included, until then).
   */
  private delivering = 0;
  private wakeUp?: () => void;
  private loop?: Promise<void>;
  private readonly finisher: Batcher<FinishItem, boolean>;

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
    // Leased but never attempted: give it back now rather than when the leases run out.
    if (this.backlog.length > this.backlogHead || this.parked.length > 0) {
      this.backlog = [];
      this.backlogHead = 0;
      this.parked = [];
      await this.store.releaseLeases(this.opts.node).catch((err: unknown) => this.log.error({ err }, "cannot release leases"));
    }
  }

  private get waiting(): number {
    return this.backlog.length - this.backlogHead;
  }

  /** Start attempts while slots are free: parked groups first when a finished attempt allows it. */
  private dispatch(): void {
    while (this.running && this.delivering < this.opts.concurrency && this.inflight.size < this.opts.concurrency * 4) {
      let g: Group | undefined;
      if (this.parked.length > 0 && (this.parkCredit > 0 || (this.waiting === 0 && this.delivering === 0))) {
        this.parkCredit = Math.max(0, this.parkCredit - 1);
        g = this.parked.shift();
      } else if (this.waiting > 0) {
        g = this.backlog[this.backlogHead++];
        if (this.backlogHead > 1024 && this.backlogHead * 2 > this.backlog.length) {
          this.backlog = this.backlog.slice(this.backlogHead);
          this.backlogHead = 0;
        }
      } else break;
      const group = g!;
      // Waited so long that its lease may run out (and another node take it): leave it to that,
      // or to this node's next claim of expired leases, rather than risk two attempts at once.
      if (this.clock.now() - group.claimedAt > this.opts.leaseMs / 2) continue;
      this.delivering++;
      let slot = true;
      // Called when the transport is done with the group: its destination slot is free again,
      // so one parked group may try it.
      const free = (credit: boolean) => {
        if (!slot) return;
        slot = false;
        this.delivering--;
        if (credit && this.parked.length > 0) this.parkCredit++;
        this.dispatch();
      };
      const p = this.attempt(group.messageId, group.recipients, group.parks < MAX_PARKS, () => free(true))
        .then((parked) => {
          if (parked) this.parked.push({ ...group, parks: group.parks + 1 });
        })
        .finally(() => {
          this.inflight.delete(p);
          free(false);
          this.dispatch();
          this.wake();
        });
      this.inflight.add(p);
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      // Claim when the backlog runs low: one store write leases a batch.
      const low = this.waiting < Math.max(this.opts.concurrency, this.opts.claimBatch / 2);
      let claimed: DueRecipient[] = [];
      if (low && this.parked.length < this.opts.claimBatch) {
        try {
          const now = this.clock.now();
          claimed = await this.store.claimDue(now, this.opts.claimBatch, now + this.opts.leaseMs, this.opts.node);
        } catch (err) {
          this.log.error({ err }, "cannot read the queue");
        }
      }
      const claimedAt = this.clock.now();
      const groups = new Map<string, DueRecipient[]>();
      for (const r of claimed) {
        const g = groups.get(r.messageId);
        if (g) g.push(r);
        else groups.set(r.messageId, [r]);
      }
      for (const [messageId, recipients] of groups) this.backlog.push({ messageId, recipients, parks: 0, claimedAt });
      this.dispatch();
      if (claimed.length === this.opts.claimBatch && this.waiting < Math.max(this.opts.concurrency, this.opts.claimBatch / 2)) continue;
      await this.sleep();
    }
  }

  private async sleep(): Promise<void> {
    let ms = this.opts.idlePollMs;
    // Work in hand (backlog, parked): attempts that finish wake the loop; no need to ask the store.
    if (this.delivering < this.opts.concurrency && this.waiting === 0 && this.parked.length === 0) {
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

  /** Resolves true when the group was parked (destination busy, nothing attempted or recorded). */
  private async attempt(messageId: string, recipients: DueRecipient[], mayPark = false, delivered: () => void = () => {}): Promise<boolean> {
    let outcomes: AttemptOutcome[];
    const message = await this.store.get(messageId);
    if (!message) return false; // deleted meanwhile (CLI)
    const log = this.log.child({ queueId: messageId });
    let body: Promise<Buffer> | undefined;
    const readBody = () => (body ??= this.queue.body(messageId).then((b) => b ?? Promise.reject(new Error(`message ${messageId} has no body`))));
    try {
      outcomes = await this.transport.deliver({ message, recipients, body: readBody });
    } catch (err) {
      log.error({ err }, "delivery attempt failed");
      outcomes = recipients.map((r) => ({ idx: r.idx, status: "retry", reply: "451 4.3.0 Local error in delivery" }));
    }
    if (mayPark && outcomes.length === recipients.length && outcomes.every((o) => o.status === "retry" && o.busy === true)) return true;
    delivered();
    const now = this.clock.now();
    const byIdx = new Map(recipients.map((r) => [r.idx, r]));
    const expired = new Set<number>();
    const recorded: RecipientOutcome[] = outcomes.map((o) => {
      const r = byIdx.get(o.idx)!;
      if (o.status !== "retry") return { idx: o.idx, status: o.status, reply: o.reply };
      const scheduled = nextAttempt(this.opts.retry, r.attempts, message.createdAt, now);
      // A destination that was only busy is tried again soon, not after the backed-off delay.
      const next = scheduled !== null && o.retryAfterMs !== undefined ? Math.min(scheduled, now + o.retryAfterMs) : scheduled;
      if (next === null) {
        expired.add(o.idx);
        return { idx: o.idx, status: "failed", reply: `${o.reply} (gave up after the maximum queue time)` };
      }
      return { idx: o.idx, status: "deferred", reply: o.reply, nextAttemptAt: next, ...(o.retryAfterMs !== undefined ? { notAttempted: true } : {}) };
    });
    for (const o of recorded) {
      const r = byIdx.get(o.idx)!;
      log.info({ event: "delivery", rcpt: r.address, status: o.status, reply: o.reply, attempt: r.attempts + 1 }, `recipient ${o.status}`);
    }
    let item: FinishItem = { messageId, outcomes: recorded };
    try {
      item = await this.withNotices(item, message, outcomes, expired, readBody, now);
    } catch (err) {
      // Without its DSN the outcome is not recorded either: the lease runs out and the
      // recipients are tried again, DSN included.
      log.error({ err }, "cannot prepare the delivery status notification; will try again");
      return false;
    }
    let deleted: boolean;
    try {
      deleted = await this.finisher.add(item);
    } catch (err) {
      log.error({ err }, "cannot record delivery outcomes; will try again");
      await this.queue.discard([...(item.notices ?? []), ...(item.delayNotice ? [item.delayNotice] : [])]);
      return false;
    }
    const queued = [...(item.notices ?? []), ...(item.delayNotice ? [item.delayNotice] : [])];
    if (queued.length > 0) {
      for (const n of queued) log.info({ event: "dsn", dsnQueueId: n.id, kind: (n.envelope as { mail: { dsnKind: string } }).mail.dsnKind, to: message.sender }, "delivery status notification queued");
      this.wake();
    }
    if (deleted) {
      if (message.spooled) await this.queue.removeSpool(messageId);
      log.info({ event: "done" }, "message left the queue");
    }
    return false;
  }

  /**
   * The DSNs these outcomes call for (RFC 3461): failures (5xx, or given up after the maximum
   * queue time), successes when asked, and one delay DSN per message after delayWarning.
   */
  private async withNotices(item: FinishItem, message: QueueEntry, outcomes: readonly AttemptOutcome[], expired: ReadonlySet<number>, body: () => Promise<Buffer>, now: number): Promise<FinishItem> {
    const cfg = this.opts.notices;
    if (!cfg) return item;
    const rcpt = new Map(message.recipients.map((r) => [r.idx, r]));
    const failed: NoticeEvent[] = [];
    const succeeded: NoticeEvent[] = [];
    const delayed: NoticeEvent[] = [];
    for (const o of outcomes) {
      const r = rcpt.get(o.idx);
      if (!r) continue;
      const event: NoticeEvent = { recipient: r, reply: o.reply, remoteMta: o.remoteMta };
      if (o.status === "failed") failed.push(event);
      else if (o.status === "delivered" && !o.dsnPassedOn) succeeded.push({ ...event, relayed: o.remoteMta !== undefined });
      else if (o.status === "retry" && expired.has(o.idx)) failed.push({ ...event, status: "5.4.7" });
      else if (o.status === "retry") delayed.push(event);
    }
    if (delayed.length > 0 && cfg.delayWarningMs > 0 && !message.delayNotified && now - message.createdAt >= cfg.delayWarningMs) {
      // Once per message: with it, the other recipients still waiting from earlier attempts.
      const here = new Set(delayed.map((e) => e.recipient.idx));
      for (const r of message.recipients) if (r.state === "deferred" && !here.has(r.idx)) delayed.push({ recipient: r, reply: r.lastReply });
    } else delayed.length = 0;
    if (message.sender === "") {
      if (failed.length > 0) this.log.info({ event: "dsn-suppressed", queueId: message.id, recipients: failed.map((e) => e.recipient.address) }, "not bouncing a message from the null sender");
      return item;
    }
    const want = (kind: NoticeKind, events: NoticeEvent[]) => events.filter((e) => wantsNotice(e.recipient.dsn, kind));
    const due = [["failure", want("failure", failed)], ["delay", want("delay", delayed)], ["success", want("success", succeeded)]] as const;
    if (due.every(([, events]) => events.length === 0)) return item;
    // A message whose body is gone is still reported, with nothing returned.
    const original = await body().catch(() => Buffer.alloc(0));
    const opts = { hostname: cfg.hostname, maxQueueTimeMs: this.opts.retry.maxQueueTimeMs, fullMax: cfg.fullMax };
    const notices: NewQueueMessage[] = [];
    let delayNotice: NewQueueMessage | undefined;
    try {
      for (const [kind, events] of due) {
        if (events.length === 0) continue;
        const n = await prepareNotice(this.queue, opts, message, original, kind, events, now);
        if (n && kind === "delay") delayNotice = n;
        else if (n) notices.push(n);
      }
    } catch (err) {
      await this.queue.discard(delayNotice ? [...notices, delayNotice] : notices);
      throw err;
    }
    return { ...item, notices, delayNotice };
  }
}
