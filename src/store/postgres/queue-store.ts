/**
 * The durable queue's rows in PostgreSQL. An insert batch is one transaction (group commit).
 * Several nodes share the rows: claimDue leases with SELECT ... FOR UPDATE SKIP LOCKED, so two
 * nodes never lease one recipient, and a lease that expired (its node crashed) is taken over.
 */
import { transaction, type Client, type Pool } from "./database.js";
import { toRecipient, type RecipientRow } from "../rows.js";
import type { BounceResult, DueRecipient, FinishItem, NewQueueMessage, QueueEntry, QueueFilter, QueueListOptions, QueueRecipient, QueueScheduling, QueueStore, RecipientOutcome, RecipientState } from "../types.js";

interface MessageRow {
  id: string;
  created_at: number;
  sender: string;
  size: number;
  envelope: string;
  spooled: boolean;
  held: boolean;
  delay_notified: boolean;
}

/** The messages a list filter selects (a WHERE clause over queue_messages m). */
const FILTERS: Record<QueueFilter | "all", string> = {
  all: "true",
  held: "m.held",
  deferred: "EXISTS (SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id AND r.state = 'deferred')",
  failed: "EXISTS (SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id AND r.state = 'failed')",
};

/** Named columns, not *: a prepared statement keeps working while another node adds a column. */
const RCPT_COLUMNS = "message_id, idx, address, dsn, state, next_attempt_at, attempts, last_reply";

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
  RETURNING ${RCPT_COLUMNS.replace(/(^|, )/g, "$1q.")}`;

export class PgQueueStore implements QueueStore, QueueScheduling {
  constructor(private readonly pool: Pool) {}

  async insert(batch: readonly NewQueueMessage[]): Promise<void> {
    await insertMessages(this.pool, batch);
  }

  async list(opts: QueueListOptions = {}): Promise<QueueEntry[]> {
    const where = FILTERS[opts.filter ?? "all"];
    const { rows } = await this.pool.query<MessageRow>(`SELECT m.* FROM queue_messages m WHERE ${where} ORDER BY m.created_at, m.id LIMIT $1`, [opts.limit ?? null]);
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
    // One query (one snapshot): the message's columns repeated on each of its recipients.
    const { rows } = await this.pool.query<MessageRow & Omit<RecipientRow, "message_id" | "idx"> & { message_id: string | null; idx: number | null }>({
      name: "petrel.queue.get",
      text: `SELECT m.id, m.created_at, m.sender, m.size, m.envelope, m.spooled, m.held, m.delay_notified, ${RCPT_COLUMNS.replace(/(^|, )/g, "$1r.")} FROM queue_messages m LEFT JOIN queue_recipients r ON r.message_id = m.id WHERE m.id = $1 ORDER BY r.idx`,
      values: [id],
    });
    const m = rows[0];
    if (!m) return null;
    return toEntry(m, m.idx === null ? [] : rows.map((r) => toRecipient(r as RecipientRow)));
  }

  async inlineBody(id: string): Promise<Buffer | null> {
    return (await this.pool.query<{ data: Buffer }>({ name: "petrel.queue.body", text: "SELECT data FROM queue_bodies WHERE id = $1", values: [id] })).rows[0]?.data ?? null;
  }

  async existing(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.pool.query<{ id: string }>("SELECT id FROM queue_messages WHERE id = ANY($1::text[])", [ids]);
    return new Set(rows.map((r) => r.id));
  }

  async count(): Promise<number> {
    return (await this.pool.query<{ n: number }>("SELECT count(*) AS n FROM queue_messages")).rows[0]!.n;
  }

  async countByState(): Promise<Record<RecipientState, number>> {
    const counts: Record<RecipientState, number> = { queued: 0, inflight: 0, deferred: 0, delivered: 0, failed: 0 };
    const { rows } = await this.pool.query<{ state: RecipientState; n: string }>("SELECT state, count(*) AS n FROM queue_recipients GROUP BY state");
    for (const r of rows) if (r.state in counts) counts[r.state] = Number(r.n);
    return counts;
  }

  async claimDue(now: number, limit: number, leaseUntil: number, node: string): Promise<DueRecipient[]> {
    if (limit <= 0) return [];
    // One statement, so one transaction: the rows are locked, skipped by other nodes, leased.
    const { rows } = await this.pool.query<RecipientRow>({ name: "petrel.queue.claim", text: CLAIM, values: [now, limit, leaseUntil, node] });
    rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.message_id < b.message_id ? -1 : a.message_id > b.message_id ? 1 : a.idx - b.idx));
    return rows.map((r) => ({ messageId: r.message_id, ...toRecipient(r) }));
  }

  async recordOutcomes(messageId: string, outcomes: readonly RecipientOutcome[], now: number): Promise<void> {
    await record(this.pool, messageId, outcomes, now);
  }

  async deleteIfDone(messageId: string): Promise<boolean> {
    return deleteIfDone(this.pool, messageId);
  }

  async finish(batch: readonly FinishItem[], now: number): Promise<string[]> {
    if (batch.length === 0) return [];
    // Set-based: one UPDATE for every outcome, one DELETE for the messages left with nothing to do.
    const rows = batch.flatMap((b) => b.outcomes.map((o) => ({ id: b.messageId, o })));
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.o.idx - b.o.idx));
    const ids = [...new Set(batch.map((b) => b.messageId))].sort();
    const withNotices = batch.filter((b) => (b.notices?.length ?? 0) > 0 || b.delayNotice);
    return transaction(this.pool, async (c) => {
      if (withNotices.length > 0) {
        // The DSNs these outcomes cause commit with them; none for a message deleted meanwhile
        // (the lock keeps an administrator's delete from slipping in between).
        const { rows: live } = await c.query<{ id: string; delay_notified: boolean }>("SELECT id, delay_notified FROM queue_messages WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", [withNotices.map((b) => b.messageId)]);
        const notified = new Map(live.map((r) => [r.id, r.delay_notified]));
        const kept = withNotices.filter((b) => notified.has(b.messageId));
        const delays = kept.filter((b) => b.delayNotice && !notified.get(b.messageId));
        await insertMessages(c, [...kept.flatMap((b) => b.notices ?? []), ...delays.map((b) => b.delayNotice!)]);
        if (delays.length > 0) await c.query("UPDATE queue_messages SET delay_notified = true WHERE id = ANY($1::text[])", [delays.map((b) => b.messageId)]);
      }
      if (rows.length > 0) {
        await c.query(
          `UPDATE queue_recipients q SET state = o.state, last_reply = o.reply, attempts = q.attempts + o.inc, next_attempt_at = o.next, lease_until = NULL, lease_node = NULL
           FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[], $5::bigint[], $6::integer[]) AS o (id, idx, state, reply, next, inc)
           WHERE q.message_id = o.id AND q.idx = o.idx`,
          [rows.map((r) => r.id), rows.map((r) => r.o.idx), rows.map((r) => r.o.status), rows.map((r) => r.o.reply), rows.map((r) => (r.o.status === "deferred" ? r.o.nextAttemptAt : now)), rows.map((r) => attemptInc(r.o))],
        );
      }
      const { rows: deleted } = await c.query<{ id: string }>(
        `DELETE FROM queue_messages m WHERE m.id = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM queue_recipients r WHERE r.message_id = m.id AND r.state IN ('queued', 'deferred', 'inflight'))
         RETURNING m.id`,
        [ids],
      );
      return deleted.map((r) => r.id);
    });
  }

  async setHeld(id: string, held: boolean): Promise<boolean> {
    const r = await this.pool.query("UPDATE queue_messages SET held = $2 WHERE id = $1", [id, held]);
    return (r.rowCount ?? 0) > 0;
  }

  async retryNow(id: string | null, now: number): Promise<number> {
    const r = await this.pool.query(
      `UPDATE queue_recipients SET next_attempt_at = LEAST(next_attempt_at, $1) WHERE state IN ('queued', 'deferred') AND ($2::text IS NULL OR message_id = $2)`,
      [now, id],
    );
    return r.rowCount ?? 0;
  }

  async remove(id: string): Promise<{ spooled: boolean } | null> {
    const { rows } = await this.pool.query<{ spooled: boolean }>("DELETE FROM queue_messages WHERE id = $1 RETURNING spooled", [id]);
    return rows[0] ? { spooled: rows[0].spooled } : null;
  }

  async bounce(id: string, idxs: readonly number[], reply: string, now: number, notices: readonly NewQueueMessage[]): Promise<BounceResult> {
    return transaction(this.pool, async (c) => {
      // Lock the message, then its recipients: a scheduler's claim or finish waits, or has finished.
      const { rows: msg } = await c.query("SELECT id FROM queue_messages WHERE id = $1 FOR UPDATE", [id]);
      if (msg.length === 0) return { status: "unknown", deleted: false };
      const { rows } = await c.query<{ idx: number; state: string }>("SELECT idx, state FROM queue_recipients WHERE message_id = $1 AND idx = ANY($2::integer[]) ORDER BY idx FOR UPDATE", [id, idxs]);
      if (rows.length !== new Set(idxs).size || rows.some((r) => r.state !== "queued" && r.state !== "deferred")) return { status: "changed", deleted: false };
      await c.query("UPDATE queue_recipients SET state = 'failed', last_reply = $3, next_attempt_at = $4, lease_until = NULL, lease_node = NULL WHERE message_id = $1 AND idx = ANY($2::integer[])", [id, idxs, reply, now]);
      await insertMessages(c, notices);
      return { status: "bounced", deleted: await deleteIfDone(c, id) };
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

/** Insert messages with their recipients and bodies in one statement. */
async function insertMessages(db: Pool | Client, batch: readonly NewQueueMessage[]): Promise<void> {
  if (batch.length === 0) return;
  const rcpts = batch.flatMap((m) => m.recipients.map((r, idx) => ({ id: m.id, idx, address: r.address, dsn: JSON.stringify(r.dsn), at: m.createdAt })));
  const bodies = batch.filter((m) => m.body);
  // One statement, so one transaction without BEGIN/COMMIT round trips: the rows are written
  // together or not at all, and it returns once the WAL holding the whole batch is flushed.
  // (The foreign keys are checked at the end of the statement, after every CTE has run.)
  await db.query(
    `WITH m AS (
       INSERT INTO queue_messages (id, created_at, sender, size, envelope, spooled)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::boolean[])
     ), b AS (
       INSERT INTO queue_bodies (id, data) SELECT * FROM unnest($7::text[], $8::bytea[])
     )
     INSERT INTO queue_recipients (message_id, idx, address, dsn, next_attempt_at)
     SELECT * FROM unnest($9::text[], $10::integer[], $11::text[], $12::text[], $13::bigint[])`,
    [
      batch.map((m) => m.id),
      batch.map((m) => m.createdAt),
      batch.map((m) => m.sender),
      batch.map((m) => m.size),
      batch.map((m) => JSON.stringify(m.envelope)),
      batch.map((m) => m.body === null),
      bodies.map((m) => m.id),
      bodies.map((m) => m.body),
      rcpts.map((r) => r.id),
      rcpts.map((r) => r.idx),
      rcpts.map((r) => r.address),
      rcpts.map((r) => r.dsn),
      rcpts.map((r) => r.at),
    ],
  );
}

/** An outcome adds to the attempt count unless nothing was tried. */
const attemptInc = (o: RecipientOutcome): number => (o.status === "deferred" && o.notAttempted ? 0 : 1);

/** One statement: the outcomes are recorded together or not at all. */
async function record(db: Pool | Client, messageId: string, outcomes: readonly RecipientOutcome[], now: number): Promise<void> {
  if (outcomes.length === 0) return;
  await db.query(
    `UPDATE queue_recipients q SET state = o.state, last_reply = o.reply, attempts = q.attempts + o.inc, next_attempt_at = o.next, lease_until = NULL, lease_node = NULL
     FROM unnest($2::integer[], $3::text[], $4::text[], $5::bigint[], $6::integer[]) AS o (idx, state, reply, next, inc)
     WHERE q.message_id = $1 AND q.idx = o.idx`,
    [messageId, outcomes.map((o) => o.idx), outcomes.map((o) => o.status), outcomes.map((o) => o.reply), outcomes.map((o) => (o.status === "deferred" ? o.nextAttemptAt : now)), outcomes.map(attemptInc)],
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


function toEntry(m: MessageRow, recipients: QueueRecipient[]): QueueEntry {
  return { id: m.id, createdAt: m.created_at, sender: m.sender, size: m.size, envelope: JSON.parse(m.envelope), spooled: m.spooled, held: m.held, delayNotified: m.delay_notified, recipients };
}
