/** The durable queue's rows in SQLite. One transaction per batch: group commit. */
import type { Db } from "./database.js";
import { queueInserter, type BatchInserter } from "./queue-writer.js";
import type { WriterThread } from "./writer-thread.js";
import type { NewQueueMessage, QueueEntry, QueueListOptions, QueueRecipient, QueueStore, RecipientState } from "../types.js";

interface MessageRow {
  id: string;
  created_at: number;
  sender: string;
  size: number;
  envelope: string;
  spooled: number;
  held: number;
}

interface RecipientRow {
  message_id: string;
  idx: number;
  address: string;
  dsn: string;
  state: string;
  next_attempt_at: number;
  attempts: number;
  last_reply: string | null;
}

export class SqliteQueueStore implements QueueStore {
  private readonly insertBatch: BatchInserter;
  private readonly stmt;

  /** With a writer thread, inserts (and their fsync) happen off the event loop. */
  constructor(
    db: Db,
    private readonly writer?: WriterThread,
  ) {
    this.insertBatch = queueInserter(db);
    this.stmt = {
      get: db.prepare("SELECT * FROM queue_messages WHERE id = ?"),
      rcptsOf: db.prepare("SELECT * FROM queue_recipients WHERE message_id = ? ORDER BY idx"),
      list: db.prepare("SELECT * FROM queue_messages ORDER BY created_at, id LIMIT ?"),
      rcptsAll: db.prepare("SELECT r.* FROM queue_recipients r JOIN (SELECT id FROM queue_messages ORDER BY created_at, id LIMIT ?) m ON m.id = r.message_id ORDER BY r.message_id, r.idx"),
      body1: db.prepare("SELECT data FROM queue_bodies WHERE id = ?").pluck(),
      exists: db.prepare("SELECT 1 FROM queue_messages WHERE id = ?").pluck(),
      count: db.prepare("SELECT count(*) FROM queue_messages").pluck(),
    };
  }

  async insert(batch: readonly NewQueueMessage[]): Promise<void> {
    // synchronous=FULL: when this resolves, the WAL holding the batch has been fsynced.
    if (this.writer) return this.writer.insert(batch);
    this.insertBatch.immediate(batch);
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
}

function toRecipient(r: RecipientRow): QueueRecipient {
  return { idx: r.idx, address: r.address, dsn: JSON.parse(r.dsn), state: r.state as RecipientState, nextAttemptAt: r.next_attempt_at, attempts: r.attempts, lastReply: r.last_reply };
}

function toEntry(m: MessageRow, recipients: QueueRecipient[]): QueueEntry {
  return { id: m.id, createdAt: m.created_at, sender: m.sender, size: m.size, envelope: JSON.parse(m.envelope), spooled: m.spooled === 1, held: m.held === 1, recipients };
}
