/**
 * Mailboxes and messages in PostgreSQL. Bodies are content-addressed blobs (sha256), stored
 * once however many recipients share them, in the database (bytea), or as files in a shared
 * directory when blobInlineMax and blobDir are configured.
 *
 * deliver() is one transaction per batch. It locks the accounts of the batch first, in id order
 * (quota is checked against a locked used_bytes, and two nodes delivering to one account queue
 * up there instead of deadlocking). The target mailbox rows are then locked (SELECT ... FOR
 * UPDATE, in id order; missing ones created) and consecutive UIDs handed out from their
 * uid_next; the locks are held until COMMIT, so UIDs are never reused and never collide.
 * Lock order for any writer: accounts, then mailboxes, then blobs (by id). Every step is one
 * set-based statement, so a batch costs the same few round trips whatever its size.
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
    // Set-based: a fixed number of statements per batch, whatever its size.
    const ids = [...new Set(batch.flatMap((d) => d.items.map((i) => i.accountId)))].sort((a, b) => a - b);
    const accounts = new Map<number, { quota: number | null; used: number }>();
    if (ids.length === 0) return batch.map(() => []);
    const locked = await c.query<{ id: number; quota: number | null; used_bytes: number }>("SELECT id, quota, used_bytes FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", [ids]);
    for (const a of locked.rows) accounts.set(a.id, { quota: a.quota, used: a.used_bytes });

    // Idempotency: an account gets one copy of a queued message, whichever recipient led
    // there; seen by any node, since it would hold this account's lock to deliver one.
    const done = new Map<string, number | null>();
    const keys = [...new Set(batch.flatMap((d) => d.items.map((i) => `${d.queueId}\0${i.accountId}`)))];
    if (keys.length > 0) {
      const split = keys.map((k) => k.split("\0"));
      const seen = await c.query<{ queue_id: string; account_id: number; uid: number | null }>(
        `SELECT DISTINCT ON (d.queue_id, d.account_id) d.queue_id, d.account_id, d.uid FROM deliveries d
         WHERE (d.queue_id, d.account_id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))
         ORDER BY d.queue_id, d.account_id, d.rcpt_idx`,
        [split.map((k) => k[0]), split.map((k) => Number(k[1]))],
      );
      for (const r of seen.rows) done.set(`${r.queue_id}\0${r.account_id}`, r.uid);
    }

    // Checks, in batch order: which copies are written.
    type Want = Omit<Planned, "mailboxId" | "uid" | "modseq"> & { mailbox: string; specialUse: string | null; out: DeliveryItemResult & { status: "delivered" } };
    const wanted: Want[] = [];
    const results: DeliveryItemResult[][] = [];
    for (const d of batch) {
      const out: DeliveryItemResult[] = [];
      for (const item of d.items) {
        const accountId = item.accountId;
        const key = `${d.queueId}\0${accountId}`;
        const prior = done.get(key);
        if (prior !== undefined) {
          out.push({ accountId, status: "duplicate", uid: prior });
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
        account.used += size;
        const r = { accountId, status: "delivered" as const, uid: null as number | null };
        // A second copy for this account in the batch is a duplicate of this one (UID filled in below).
        done.set(key, null);
        wanted.push({ queueId: d.queueId, rcptIdx: d.rcptIdx, accountId, flags: (d.flags ?? []).join(" "), internalDate: d.internalDate, size, blob: d.blob, prefix: item.prefix, mailbox: item.mailbox, specialUse: item.specialUse ?? null, out: r });
        out.push(r);
      }
      results.push(out);
    }
    if (wanted.length === 0) return results;

    // Mailboxes: lock every target row in id order (creating the missing ones), then hand out
    // consecutive UIDs in JS; the rows stay locked until COMMIT, so UIDs never collide.
    const boxes = await this.lockMailboxes(c, wanted);
    const planned: Planned[] = wanted.map((w) => {
      const b = boxes.get(`${w.accountId}\0${w.mailbox}`)!;
      const uid = b.uidNext++;
      const modseq = ++b.modseq;
      w.out.uid = uid;
      return { queueId: w.queueId, rcptIdx: w.rcptIdx, accountId: w.accountId, mailboxId: b.id, uid, modseq, flags: w.flags, internalDate: w.internalDate, size: w.size, blob: w.blob, prefix: w.prefix };
    });
    // Duplicates within the batch report the UID of the copy that was delivered.
    const uidOf = new Map(planned.map((p) => [`${p.queueId}\0${p.accountId}`, p.uid]));
    batch.forEach((d, i) => {
      for (const r of results[i]!) if (r.status === "duplicate" && r.uid === null) r.uid = uidOf.get(`${d.queueId}\0${r.accountId}`) ?? null;
    });
    const bumped = [...boxes.values()].filter((b) => b.uidNext !== b.startUid);
    await c.query(
      `UPDATE mailboxes b SET uid_next = u.uid_next, highest_modseq = u.modseq
       FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u (id, uid_next, modseq) WHERE b.id = u.id`,
      [bumped.map((b) => b.id), bumped.map((b) => b.uidNext), bumped.map((b) => b.modseq)],
    );
    await this.write(c, planned, accounts);
    return results;
  }

  /** Locks (creating on first use) the mailboxes the copies go to, in id order. */
  private async lockMailboxes(
    c: Client,
    wanted: readonly { accountId: number; mailbox: string; specialUse: string | null; internalDate: number }[],
  ): Promise<Map<string, { id: number; uidNext: number; startUid: number; modseq: number }>> {
    const want = new Map<string, { accountId: number; name: string; specialUse: string | null; now: number }>();
    for (const w of wanted) {
      const key = `${w.accountId}\0${w.mailbox}`;
      if (!want.has(key)) want.set(key, { accountId: w.accountId, name: w.mailbox, specialUse: w.specialUse, now: w.internalDate });
    }
    const boxes = new Map<string, { id: number; uidNext: number; startUid: number; modseq: number }>();
    const lock = async (list: { accountId: number; name: string }[]) => {
      const { rows } = await c.query<{ id: number; account_id: number; name: string; uid_next: number; highest_modseq: number }>(
        `SELECT b.id, b.account_id, b.name, b.uid_next, b.highest_modseq FROM mailboxes b
         WHERE (b.account_id, b.name) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
         ORDER BY b.id FOR UPDATE OF b`,
        [list.map((w) => w.accountId), list.map((w) => w.name)],
      );
      for (const r of rows) boxes.set(`${r.account_id}\0${r.name}`, { id: r.id, uidNext: r.uid_next, startUid: r.uid_next, modseq: r.highest_modseq });
    };
    await lock([...want.values()]);
    const missing = [...want.entries()].filter(([k]) => !boxes.has(k)).map(([, w]) => w);
    if (missing.length > 0) {
      // Created with uid_next 1, highest_modseq 1: the UPDATE below sets the values used.
      await c.query(
        `INSERT INTO mailboxes (account_id, name, special_use, uid_validity)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) ON CONFLICT (account_id, name) DO NOTHING`,
        [missing.map((w) => w.accountId), missing.map((w) => w.name), missing.map((w) => w.specialUse), missing.map((w) => newUidValidity(w.now))],
      );
      await lock(missing);
    }
    return boxes;
  }

  private async write(c: Client, planned: readonly Planned[], accounts: Map<number, { used: number }>): Promise<void> {
    // Blobs in id order (two batches sharing blobs lock them in the same order).
    const blobs = new Map<string, { blob: BlobInput; refs: number }>();
    for (const p of planned) {
      const b = blobs.get(p.blob.id);
      if (b) b.refs++;
      else blobs.set(p.blob.id, { blob: p.blob, refs: 1 });
    }
    const sorted = [...blobs.keys()].sort().map((id) => blobs.get(id)!);
    await c.query(
      `INSERT INTO blobs (id, size, data, parsed, refs)
       SELECT id, size, data, parsed, refs FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::text[], $5::bigint[]) WITH ORDINALITY AS b (id, size, data, parsed, refs, n)
       ORDER BY n
       ON CONFLICT (id) DO UPDATE SET refs = blobs.refs + excluded.refs`,
      [sorted.map((b) => b.blob.id), sorted.map((b) => b.blob.size), sorted.map((b) => b.blob.data), sorted.map((b) => JSON.stringify(b.blob.parsed ?? null)), sorted.map((b) => b.refs)],
    );
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

  /** Lock order as in deliver(): the account, then the mailbox, then the blobs. */
  expunge(mailboxId: number, uids: readonly number[]): Promise<number[]> {
    if (uids.length === 0) return Promise.resolve([]);
    return transaction(this.pool, async (c) => {
      const owner = (await c.query<{ account_id: number }>("SELECT account_id FROM mailboxes WHERE id = $1", [mailboxId])).rows[0];
      if (!owner) return [];
      await c.query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE", [owner.account_id]);
      await c.query("SELECT id FROM mailboxes WHERE id = $1 FOR UPDATE", [mailboxId]);
      const gone = await c.query<{ uid: number; size: number; blob_id: string }>("DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) RETURNING uid, size, blob_id", [mailboxId, uids]);
      if (gone.rows.length === 0) return [];
      const refs = new Map<string, number>();
      for (const r of gone.rows) refs.set(r.blob_id, (refs.get(r.blob_id) ?? 0) + 1);
      const ids = [...refs.keys()].sort();
      await c.query("UPDATE blobs b SET refs = b.refs - u.n FROM unnest($1::text[], $2::int[]) AS u(id, n) WHERE b.id = u.id", [ids, ids.map((id) => refs.get(id)!)]);
      const bytes = gone.rows.reduce((n, r) => n + Number(r.size), 0);
      await c.query("UPDATE accounts SET used_bytes = greatest(0, used_bytes - $1) WHERE id = $2", [bytes, owner.account_id]);
      await c.query("UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = $1", [mailboxId]);
      return gone.rows.map((r) => Number(r.uid)).sort((a, b) => a - b);
    });
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
