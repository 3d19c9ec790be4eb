/** The durable queue's rows in SQLite. One transaction per batch: group commit. */
import type { Db } from "./database.js";
import { toRecipient, type RecipientRow } from "../rows.js";
import type { Writer } from "./writer.js";
import type { BounceResult, DueRecipient, FinishItem, NewQueueMessage, QueueEntry, QueueFilter, QueueListOptions, QueueRecipient, QueueScheduling, QueueStore, RecipientOutcome, RecipientState } from "../types.js";

interface MessageRow {
  id: string;
  created_at: number;
  sender: string;
  size: number;
  envelope: string;
  spooled: number;
  held: number;
  delay_notified: number;
}

/** The messages a list filter selects (a WHERE clause over queue_messages m). */
const FILTERS: Record<QueueFilter | "all", string> = {
  all: "1",
  held: "m.held = 1",
  deferred: "EXISTS (SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id AND r.state = 'deferred')",
  failed: "EXISTS (SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id AND r.state = 'failed')",
};

export class SqliteQueueStore implements QueueStore, QueueScheduling {
  private readonly stmt;

  /** Writes go through the writer (a thread in the server); reads use this connection. */
  constructor(
    private readonly db: Db,
    private readonly writer: Writer,
  ) {
    this.stmt = {
      get: db.prepare("SELECT * FROM queue_messages WHERE id = ?"),
      rcptsOf: db.prepare("SELECT * FROM queue_recipients WHERE message_id = ? ORDER BY idx"),
      list: Object.fromEntries(Object.entries(FILTERS).map(([k, where]) => [k, db.prepare(`SELECT m.* FROM queue_messages m WHERE ${where} ORDER BY m.created_at, m.id LIMIT ?`)])),
      rcptsAll: Object.fromEntries(Object.entries(FILTERS).map(([k, where]) => [k, db.prepare(`SELECT r.* FROM queue_recipients r JOIN (SELECT m.id FROM queue_messages m WHERE ${where} ORDER BY m.created_at, m.id LIMIT ?) m ON m.id = r.message_id ORDER BY r.message_id, r.idx`)])),
      body1: db.prepare("SELECT data FROM queue_bodies WHERE id = ?").pluck(),
      exists: db.prepare("SELECT 1 FROM queue_messages WHERE id = ?").pluck(),
      count: db.prepare("SELECT count(*) FROM queue_messages").pluck(),
      byState: db.prepare("SELECT state, count(*) AS n FROM queue_recipients GROUP BY state"),
      // Held messages wait for no time: counting them would make the scheduler spin.
      nextDue: db.prepare("SELECT min(r.next_attempt_at) FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id WHERE m.held = 0 AND r.state IN ('queued', 'deferred')").pluck(),
      nextLease: db.prepare("SELECT min(r.lease_until) FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id WHERE m.held = 0 AND r.state = 'inflight'").pluck(),
    };
  }

  async insert(batch: readonly NewQueueMessage[]): Promise<void> {
    // synchronous=FULL: when this resolves, the WAL holding the batch has been fsynced.
    await this.writer.run("insertQueue", batch);
  }

  async list(opts: QueueListOptions = {}): Promise<QueueEntry[]> {
    const limit = opts.limit ?? -1;
    const filter = opts.filter ?? "all";
    // One read transaction: the messages and their recipients from one snapshot.
    const [rows, rcpts] = this.db.transaction((): [MessageRow[], RecipientRow[]] => [this.stmt.list[filter]!.all(limit) as MessageRow[], this.stmt.rcptsAll[filter]!.all(limit) as RecipientRow[]])();
    const byId = new Map<string, QueueRecipient[]>();
    for (const r of rcpts) {
      let list = byId.get(r.message_id);
      if (!list) byId.set(r.message_id, (list = []));
      list.push(toRecipient(r));
    }
    return rows.map((m) => toEntry(m, byId.get(m.id) ?? []));
  }

  async get(id: string): Promise<QueueEntry | null> {
    const m = this.stmt.get.get(id) as MessageRow | undefined;
    if (!m) return null;
    return toEntry(m, (this.stmt.rcptsOf.all(id) as RecipientRow[]).map(toRecipient));
  }

  async inlineBody(id: string): Promise<Buffer | null> {
    return (this.stmt.body1.get(id) as Buffer | undefined) ?? null;
  }

  async existing(ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.stmt.exists.get(id) !== undefined));
  }

  async count(): Promise<number> {
    return this.stmt.count.get() as number;
  }

  async countByState(): Promise<Record<RecipientState, number>> {
    const counts: Record<RecipientState, number> = { queued: 0, inflight: 0, deferred: 0, delivered: 0, failed: 0 };
    for (const r of this.stmt.byState.all() as { state: RecipientState; n: number }[]) if (r.state in counts) counts[r.state] = r.n;
    return counts;
  }

  claimDue(now: number, limit: number, leaseUntil: number, node: string): Promise<DueRecipient[]> {
    return this.writer.run("claimDue", now, limit, leaseUntil, node);
  }

  recordOutcomes(messageId: string, outcomes: readonly RecipientOutcome[], now: number): Promise<void> {
    return this.writer.run("recordOutcomes", messageId, outcomes, now);
  }

  deleteIfDone(messageId: string): Promise<boolean> {
    return this.writer.run("deleteIfDone", messageId);
  }

  finish(batch: readonly FinishItem[], now: number): Promise<string[]> {
    return this.writer.run("finish", batch, now);
  }

  setHeld(id: string, held: boolean): Promise<boolean> {
    return this.writer.run("setHeld", id, held);
  }

  retryNow(id: string | null, now: number): Promise<number> {
    return this.writer.run("retryNow", id, now);
  }

  remove(id: string): Promise<{ spooled: boolean } | null> {
    return this.writer.run("removeMessage", id);
  }

  bounce(id: string, idxs: readonly number[], reply: string, now: number, notices: readonly NewQueueMessage[]): Promise<BounceResult> {
    return this.writer.run("bounce", id, idxs, reply, now, notices);
  }

  releaseLeases(node: string): Promise<number> {
    return this.writer.run("releaseLeases", node);
  }

  async nextDue(): Promise<number | null> {
    const due = this.stmt.nextDue.get() as number | null;
    const lease = this.stmt.nextLease.get() as number | null;
    if (due === null) return lease;
    return lease === null ? due : Math.min(due, lease);
  }
}


function toEntry(m: MessageRow, recipients: QueueRecipient[]): QueueEntry {
  return { id: m.id, createdAt: m.created_at, sender: m.sender, size: m.size, envelope: JSON.parse(m.envelope), spooled: m.spooled === 1, held: m.held === 1, delayNotified: m.delay_notified === 1, recipients };
}
