/** The durable queue's rows in SQLite. One transaction per batch: group commit. */
import type { Db } from "./database.js";
import { toRecipient, type RecipientRow } from "../rows.js";
import type { Writer } from "./writer.js";
import type { DueRecipient, NewQueueMessage, QueueEntry, QueueListOptions, QueueRecipient, QueueScheduling, QueueStore, RecipientOutcome } from "../types.js";

interface MessageRow {
  id: string;
  created_at: number;
  sender: string;
  size: number;
  envelope: string;
  spooled: number;
  held: number;
}

export class SqliteQueueStore implements QueueStore, QueueScheduling {
  private readonly stmt;

  /** Writes go through the writer (a thread in the server); reads use this connection. */
  constructor(
    db: Db,
    private readonly writer: Writer,
  ) {
    this.stmt = {
      get: db.prepare("SELECT * FROM queue_messages WHERE id = ?"),
      rcptsOf: db.prepare("SELECT * FROM queue_recipients WHERE message_id = ? ORDER BY idx"),
      list: db.prepare("SELECT * FROM queue_messages ORDER BY created_at, id LIMIT ?"),
      rcptsAll: db.prepare("SELECT r.* FROM queue_recipients r JOIN (SELECT id FROM queue_messages ORDER BY created_at, id LIMIT ?) m ON m.id = r.message_id ORDER BY r.message_id, r.idx"),
      body1: db.prepare("SELECT data FROM queue_bodies WHERE id = ?").pluck(),
      exists: db.prepare("SELECT 1 FROM queue_messages WHERE id = ?").pluck(),
      count: db.prepare("SELECT count(*) FROM queue_messages").pluck(),
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
    const rows = this.stmt.list.all(limit) as MessageRow[];
    const byId = new Map<string, QueueRecipient[]>();
    for (const r of this.stmt.rcptsAll.all(limit) as RecipientRow[]) {
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

  claimDue(now: number, limit: number, leaseUntil: number, node: string): Promise<DueRecipient[]> {
    return this.writer.run("claimDue", now, limit, leaseUntil, node);
  }

  recordOutcomes(messageId: string, outcomes: readonly RecipientOutcome[], now: number): Promise<void> {
    return this.writer.run("recordOutcomes", messageId, outcomes, now);
  }

  deleteIfDone(messageId: string): Promise<boolean> {
    return this.writer.run("deleteIfDone", messageId);
  }

  finish(batch: readonly { messageId: string; outcomes: readonly RecipientOutcome[] }[], now: number): Promise<string[]> {
    return this.writer.run("finish", batch, now);
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
  return { id: m.id, createdAt: m.created_at, sender: m.sender, size: m.size, envelope: JSON.parse(m.envelope), spooled: m.spooled === 1, held: m.held === 1, recipients };
}
