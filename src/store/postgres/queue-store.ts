/**
 * The durable queue's rows in PostgreSQL. An insert batch is one transaction (group commit).
 * Several nodes share the rows: claimDue leases with SELECT ... FOR UPDATE SKIP LOCKED, so two
 * nodes never lease one recipient, and a lease that expired (its node crashed) is taken over.
 */
import { transaction, type Client, type Pool } from "./database.js";
import type { DueRecipient, NewQueueMessage, QueueEntry, QueueListOptions, QueueRecipient, QueueScheduling, QueueStore, RecipientOutcome, RecipientState } from "../types.js";

interface MessageRow {
  id: string;
  created_at: number;
  sender: string;
  size: number;
  envelope: string;
  spooled: boolean;
  held: boolean;
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

/** Due (queued or deferred, not held), or leased by a node whose lease has run out. */
const CLAIM = `
  WITH due AS (
    SELECT r.message_id, r.idx FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id
    WHERE NOT m.held AND ((r.state IN ('queued', 'deferred') AND r.next_attempt_at <= $1) OR (r.state = 'inflight' AND r.lease_until < $1))
    ORDER BY r.next_attempt_at, r.message_id, r.idx
    LIMIT $2
    FOR UPDATE OF r SKIP LOCKED
  )
  UPDATE queue_recipients q SET state = 'inflight', lease_until = $3, lease_node = $4
  FROM due WHERE q.message_id = due.message_id AND q.idx = due.idx
  RETURNING q.*`;

export class PgQueueStore implements QueueStore, QueueScheduling {
  constructor(private readonly pool: Pool) {}

  async insert(batch: readonly NewQueueMessage[]): Promise<void> {
    if (batch.length === 0) return;
    const rcpts = batch.flatMap((m) => m.recipients.map((r, idx) => ({ id: m.id, idx, address: r.address, dsn: JSON.stringify(r.dsn), at: m.createdAt })));
    // The COMMIT returns once the WAL holding the whole batch is flushed.
    await transaction(this.pool, async (c) => {
      await c.query(
        `INSERT INTO queue_messages (id, created_at, sender, size, envelope, spooled)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::boolean[])`,
        [batch.map((m) => m.id), batch.map((m) => m.createdAt), batch.map((m) => m.sender), batch.map((m) => m.size), batch.map((m) => JSON.stringify(m.envelope)), batch.map((m) => m.body === null)],
      );
      for (const m of batch) if (m.body) await c.query("INSERT INTO queue_bodies (id, data) VALUES ($1, $2)", [m.id, m.body]);
      if (rcpts.length === 0) return;
      await c.query(
        `INSERT INTO queue_recipients (message_id, idx, address, dsn, next_attempt_at)
         SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::bigint[])`,
        [rcpts.map((r) => r.id), rcpts.map((r) => r.idx), rcpts.map((r) => r.address), rcpts.map((r) => r.dsn), rcpts.map((r) => r.at)],
      );
    });
  }

  async list(opts: QueueListOptions = {}): Promise<QueueEntry[]> {
    const { rows } = await this.pool.query<MessageRow>("SELECT * FROM queue_messages ORDER BY created_at, id LIMIT $1", [opts.limit ?? null]);
    if (rows.length === 0) return [];
    const rcpts = await this.pool.query<RecipientRow>("SELECT * FROM queue_recipients WHERE message_id = ANY($1::text[]) ORDER BY message_id, idx", [rows.map((m) => m.id)]);
    const byId = new Map<string, QueueRecipient[]>();
    for (const r of rcpts.rows) {
      let list = byId.get(r.message_id);
      if (!list) byId.set(r.message_id, (list = []));
      list.push(toRecipient(r));
    }
    return rows.map((m) => toEntry(m, byId.get(m.id) ?? []));
  }

  async get(id: string): Promise<QueueEntry | null> {
    const m = (await this.pool.query<MessageRow>("SELECT * FROM queue_messages WHERE id = $1", [id])).rows[0];
    if (!m) return null;
    const rcpts = await this.pool.query<RecipientRow>("SELECT * FROM queue_recipients WHERE message_id = $1 ORDER BY idx", [id]);
    return toEntry(m, rcpts.rows.map(toRecipient));
  }

  async inlineBody(id: string): Promise<Buffer | null> {
    return (await this.pool.query<{ data: Buffer }>("SELECT data FROM queue_bodies WHERE id = $1", [id])).rows[0]?.data ?? null;
  }

  async existing(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.pool.query<{ id: string }>("SELECT id FROM queue_messages WHERE id = ANY($1::text[])", [ids]);
    return new Set(rows.map((r) => r.id));
  }

  async count(): Promise<number> {
    return (await this.pool.query<{ n: number }>("SELECT count(*) AS n FROM queue_messages")).rows[0]!.n;
  }

  async claimDue(now: number, limit: number, leaseUntil: number, node: string): Promise<DueRecipient[]> {
    if (limit <= 0) return [];
    // One statement, so one transaction: the rows are locked, skipped by other nodes, leased.
    const { rows } = await this.pool.query<RecipientRow>(CLAIM, [now, limit, leaseUntil, node]);
    rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.message_id < b.message_id ? -1 : a.message_id > b.message_id ? 1 : a.idx - b.idx));
    return rows.map((r) => ({ messageId: r.message_id, ...toRecipient(r) }));
  }

  async recordOutcomes(messageId: string, outcomes: readonly RecipientOutcome[], now: number): Promise<void> {
    await record(this.pool, messageId, outcomes, now);
  }

  async deleteIfDone(messageId: string): Promise<boolean> {
    return deleteIfDone(this.pool, messageId);
  }

  async finish(batch: readonly { messageId: string; outcomes: readonly RecipientOutcome[] }[], now: number): Promise<string[]> {
    if (batch.length === 0) return [];
    return transaction(this.pool, async (c) => {
      const deleted: string[] = [];
      for (const b of batch) {
        await record(c, b.messageId, b.outcomes, now);
        if (await deleteIfDone(c, b.messageId)) deleted.push(b.messageId);
      }
      return deleted;
    });
  }

  async releaseLeases(node: string): Promise<number> {
    const r = await this.pool.query("UPDATE queue_recipients SET state = 'queued', lease_until = NULL, lease_node = NULL WHERE state = 'inflight' AND lease_node = $1", [node]);
    return r.rowCount ?? 0;
  }

  async nextDue(): Promise<number | null> {
    // A lease's end counts: that is when a crashed node's recipient can be taken over.
    const { rows } = await this.pool.query<{ at: number | null }>(
      `SELECT min(CASE WHEN r.state = 'inflight' THEN r.lease_until ELSE r.next_attempt_at END) AS at
       FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id
       WHERE NOT m.held AND r.state IN ('queued', 'deferred', 'inflight')`,
    );
    return rows[0]?.at ?? null;
  }
}

/** One statement: the outcomes are recorded together or not at all. */
async function record(db: Pool | Client, messageId: string, outcomes: readonly RecipientOutcome[], now: number): Promise<void> {
  if (outcomes.length === 0) return;
  await db.query(
    `UPDATE queue_recipients q SET state = o.state, last_reply = o.reply, attempts = q.attempts + 1, next_attempt_at = o.next, lease_until = NULL, lease_node = NULL
     FROM unnest($2::integer[], $3::text[], $4::text[], $5::bigint[]) AS o (idx, state, reply, next)
     WHERE q.message_id = $1 AND q.idx = o.idx`,
    [messageId, outcomes.map((o) => o.idx), outcomes.map((o) => o.status), outcomes.map((o) => o.reply), outcomes.map((o) => (o.status === "deferred" ? o.nextAttemptAt : now))],
  );
}

async function deleteIfDone(db: Pool | Client, messageId: string): Promise<boolean> {
  const r = await db.query(
    `DELETE FROM queue_messages WHERE id = $1
     AND NOT EXISTS (SELECT 1 FROM queue_recipients WHERE message_id = $1 AND state IN ('queued', 'deferred', 'inflight'))`,
    [messageId],
  );
  return (r.rowCount ?? 0) > 0;
}

function toRecipient(r: RecipientRow): QueueRecipient {
  return { idx: r.idx, address: r.address, dsn: JSON.parse(r.dsn), state: r.state as RecipientState, nextAttemptAt: r.next_attempt_at, attempts: r.attempts, lastReply: r.last_reply };
}

function toEntry(m: MessageRow, recipients: QueueRecipient[]): QueueEntry {
  return { id: m.id, createdAt: m.created_at, sender: m.sender, size: m.size, envelope: JSON.parse(m.envelope), spooled: m.spooled, held: m.held, recipients };
}
