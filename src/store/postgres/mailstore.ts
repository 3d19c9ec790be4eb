/**
 * Mailboxes and messages in PostgreSQL. Bodies are content-addressed blobs (sha256), stored
 * once however many recipients share them, in the database (bytea), or as files in a shared
 * directory when blobInlineMax and blobDir are configured.
 *
 * deliver() is one transaction per batch. It locks the accounts of the batch first, in id order
 * (quota is checked against a locked used_bytes, and two nodes delivering to one account queue
 * up there instead of deadlocking); each UID comes from an UPDATE ... RETURNING of the mailbox
 * row, which holds that row's lock until COMMIT, so UIDs are never reused and never collide.
 * Lock order for any writer: accounts, then mailboxes, then blobs (by id).
 */
import { transaction, type Client, type Pool } from "./database.js";
import { newUidValidity } from "../uid-validity.js";
import type { BlobFiles } from "../blob-files.js";
import type { BlobInput, DeliveryItemResult, LocalDelivery, MailMessage, Mailbox, Mailstore } from "../types.js";

interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  special_use: string | null;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  subscribed: boolean;
  messages: number;
  unseen: number;
  size: number;
}

const MAILBOX_SELECT = `SELECT b.*, s.messages, s.unseen, s.size FROM mailboxes b CROSS JOIN LATERAL (
  SELECT count(*) AS messages, count(*) FILTER (WHERE strpos(' ' || m.flags || ' ', ' \\Seen ') = 0) AS unseen,
    coalesce(sum(m.size), 0)::bigint AS size
  FROM messages m WHERE m.mailbox_id = b.id) s`;

const toMailbox = (r: MailboxRow): Mailbox => ({ id: r.id, accountId: r.account_id, name: r.name, specialUse: r.special_use, uidValidity: r.uid_validity, uidNext: r.uid_next, highestModseq: r.highest_modseq, subscribed: r.subscribed, messages: r.messages, unseen: r.unseen, size: r.size });

/** A copy that passed the checks, written in the second phase of deliver(). */
interface Planned {
  queueId: string;
  rcptIdx: number;
  accountId: number;
  mailboxId: number;
  uid: number;
  modseq: number;
  flags: string;
  internalDate: number;
  size: number;
  blob: BlobInput;
  prefix: Buffer;
}

export class PgMailstore implements Mailstore {
  constructor(
    private readonly pool: Pool,
    /** Blobs larger than inlineMax go to files (Infinity: all in the database). */
    private readonly inlineMax: number,
    private readonly files: BlobFiles | null,
  ) {}

  async deliver(batch: readonly LocalDelivery[]): Promise<DeliveryItemResult[][]> {
    const prepared: LocalDelivery[] = [];
    for (const d of batch) {
      if (!this.files || !d.blob.data || d.blob.size <= this.inlineMax) prepared.push(d);
      else {
        await this.files.write(d.blob.id, d.blob.data);
        prepared.push({ ...d, blob: { ...d.blob, data: null } });
      }
    }
    return transaction(this.pool, (c) => this.deliverIn(c, prepared));
  }

  private async deliverIn(c: Client, batch: readonly LocalDelivery[]): Promise<DeliveryItemResult[][]> {
    const ids = [...new Set(batch.flatMap((d) => d.items.map((i) => i.accountId)))].sort((a, b) => a - b);
    const accounts = new Map<number, { quota: number | null; used: number }>();
    const locked = await c.query<{ id: number; quota: number | null; used_bytes: number }>("SELECT id, quota, used_bytes FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", [ids]);
    for (const a of locked.rows) accounts.set(a.id, { quota: a.quota, used: a.used_bytes });

    const planned: Planned[] = [];
    const inBatch = new Map<string, number>();
    const results: DeliveryItemResult[][] = [];
    for (const d of batch) {
      const out: DeliveryItemResult[] = [];
      for (const item of d.items) {
        const accountId = item.accountId;
        // Idempotency: an account gets one copy of a queued message, whichever recipient led
        // there; seen by any node, since it would hold this account's lock to deliver one.
        const key = `${d.queueId}\0${accountId}`;
        const done = inBatch.get(key) ?? (await c.query<{ uid: number | null }>("SELECT uid FROM deliveries WHERE queue_id = $1 AND account_id = $2 LIMIT 1", [d.queueId, accountId])).rows[0]?.uid;
        if (done !== undefined) {
          out.push({ accountId, status: "duplicate", uid: done });
          continue;
        }
        const account = accounts.get(accountId);
        if (!account) {
          out.push({ accountId, status: "no-account" });
          continue;
        }
        const size = d.blob.size + item.prefix.length;
        if (account.quota !== null && account.used + size > account.quota) {
          out.push({ accountId, status: "over-quota" });
          continue;
        }
        const { uid, modseq, mailboxId } = await this.nextUid(c, accountId, item.mailbox, item.specialUse ?? null, d.internalDate);
        account.used += size;
        inBatch.set(key, uid);
        planned.push({ queueId: d.queueId, rcptIdx: d.rcptIdx, accountId, mailboxId, uid, modseq, flags: (d.flags ?? []).join(" "), internalDate: d.internalDate, size, blob: d.blob, prefix: item.prefix });
        out.push({ accountId, status: "delivered", uid });
      }
      results.push(out);
    }
    if (planned.length > 0) await this.write(c, planned, accounts);
    return results;
  }

  /** Takes the next UID of a mailbox (creating it on first use), holding its row lock. */
  private async nextUid(c: Client, accountId: number, name: string, specialUse: string | null, now: number): Promise<{ uid: number; modseq: number; mailboxId: number }> {
    const bumped = await c.query<{ id: number; uid: number; modseq: number }>(
      "UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1 WHERE account_id = $1 AND name = $2 RETURNING id, uid_next - 1 AS uid, highest_modseq AS modseq",
      [accountId, name],
    );
    const row =
      bumped.rows[0] ??
      (
        await c.query<{ id: number; uid: number; modseq: number }>(
          "INSERT INTO mailboxes (account_id, name, special_use, uid_validity, uid_next, highest_modseq) VALUES ($1, $2, $3, $4, 2, 2) RETURNING id, 1::bigint AS uid, highest_modseq AS modseq",
          [accountId, name, specialUse, newUidValidity(now)],
        )
      ).rows[0]!;
    return { uid: row.uid, modseq: row.modseq, mailboxId: row.id };
  }

  private async write(c: Client, planned: readonly Planned[], accounts: Map<number, { used: number }>): Promise<void> {
    // Blobs in id order (two batches sharing blobs lock them in the same order).
    const blobs = new Map<string, { blob: BlobInput; refs: number }>();
    for (const p of planned) {
      const b = blobs.get(p.blob.id);
      if (b) b.refs++;
      else blobs.set(p.blob.id, { blob: p.blob, refs: 1 });
    }
    for (const id of [...blobs.keys()].sort()) {
      const { blob, refs } = blobs.get(id)!;
      await c.query("INSERT INTO blobs (id, size, data, parsed, refs) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET refs = blobs.refs + excluded.refs", [
        id,
        blob.size,
        blob.data,
        JSON.stringify(blob.parsed ?? null),
        refs,
      ]);
    }
    const col = <T>(f: (p: Planned) => T) => planned.map(f);
    await c.query(
      `INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id, prefix)
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::bytea[])`,
      [col((p) => p.mailboxId), col((p) => p.uid), col((p) => p.modseq), col((p) => p.flags), col((p) => p.internalDate), col((p) => p.size), col((p) => p.blob.id), col((p) => p.prefix)],
    );
    const ids = [...new Set(col((p) => p.accountId))];
    await c.query("UPDATE accounts a SET used_bytes = u.used FROM unnest($1::bigint[], $2::bigint[]) AS u (id, used) WHERE a.id = u.id", [ids, ids.map((id) => accounts.get(id)!.used)]);
    const recorded = await c.query(
      `INSERT INTO deliveries (queue_id, rcpt_idx, account_id, mailbox_id, uid, delivered_at)
       SELECT * FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[])
       ON CONFLICT DO NOTHING`,
      [col((p) => p.queueId), col((p) => p.rcptIdx), col((p) => p.accountId), col((p) => p.mailboxId), col((p) => p.uid), col((p) => p.internalDate)],
    );
    // Cannot happen while we hold the accounts' locks; if it does, roll back rather than duplicate.
    if (recorded.rowCount !== planned.length) throw new Error("concurrent delivery of the same recipient: rolled back");
  }

  async listMailboxes(accountId: number): Promise<Mailbox[]> {
    return (await this.pool.query<MailboxRow>(`${MAILBOX_SELECT} WHERE b.account_id = $1 ORDER BY b.name`, [accountId])).rows.map(toMailbox);
  }

  async getMailbox(accountId: number, name: string): Promise<Mailbox | null> {
    const r = (await this.pool.query<MailboxRow>(`${MAILBOX_SELECT} WHERE b.account_id = $1 AND b.name = $2`, [accountId, name])).rows[0];
    return r ? toMailbox(r) : null;
  }

  async listMessages(mailboxId: number): Promise<MailMessage[]> {
    const { rows } = await this.pool.query<{ mailbox_id: number; uid: number; modseq: number; flags: string; internal_date: number; size: number; blob_id: string; prefix: Buffer }>(
      "SELECT * FROM messages WHERE mailbox_id = $1 ORDER BY uid",
      [mailboxId],
    );
    return rows.map((r) => ({ mailboxId: r.mailbox_id, uid: r.uid, modseq: r.modseq, flags: r.flags ? r.flags.split(" ") : [], internalDate: r.internal_date, size: r.size, blobId: r.blob_id, prefix: r.prefix }));
  }

  async blob(blobId: string): Promise<Buffer | null> {
    const r = (await this.pool.query<{ data: Buffer | null }>("SELECT data FROM blobs WHERE id = $1", [blobId])).rows[0];
    if (!r) return null;
    if (r.data) return r.data;
    if (!this.files) throw new Error(`blob ${blobId} is stored as a file, but this store has no blobDir`);
    return this.files.read(blobId);
  }

  async parsed(blobId: string): Promise<unknown> {
    const r = (await this.pool.query<{ parsed: string }>("SELECT parsed FROM blobs WHERE id = $1", [blobId])).rows[0];
    return r === undefined ? null : JSON.parse(r.parsed);
  }
}
