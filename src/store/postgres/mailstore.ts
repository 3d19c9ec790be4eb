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
 *
 * The IMAP writes keep that order: append, copy, move, expunge and mailbox management lock the
 * account(s) first; storeFlags locks only the mailbox row (every writer of a mailbox's messages
 * holds it), and so waits on nothing else. Each is a fixed number of set-based statements.
 *
 * A mailbox's status counters (messages, unseen, size) are columns of its row, changed by every
 * write that adds, removes or re-flags its messages, in the same transaction and under the row
 * lock that write holds anyway: reading a mailbox's status is one row, never a scan.
 */
import { toMessage, type MessageRow } from "../rows.js";
import { transaction, type Client, type Pool } from "./database.js";
import { newUidValidity } from "../uid-validity.js";
import type { BlobFiles } from "../blob-files.js";
import { canonicalFlags, checkMailboxName, isAtOrBelow, isSeen, normalizeMailboxName, planFlagChange, renamed, superiors, tally } from "../imap-rules.js";
import { DELIVERIES_OF, toDeliveryRecord, type DeliveryRow } from "../rows-deliveries.js";
import { MailstoreError, type DeliveryRecord, type AppendInput, type BlobInput, type CopyResult, type DeliveryItemResult, type FlagChange, type FlagChangeResult, type ImapMailstore, type LocalDelivery, type MailMessage, type Mailbox, type Mailstore } from "../types.js";

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

// Named columns: mailboxes.subscribed (v1) is replaced by the subscriptions table (v3). The
// status counters are columns of the row (v3), kept by the writes below.
const MAILBOX_SELECT = `SELECT b.id, b.account_id, b.name, b.special_use, b.uid_validity, b.uid_next, b.highest_modseq,
  EXISTS (SELECT 1 FROM subscriptions x WHERE x.account_id = b.account_id AND x.name = b.name) AS subscribed,
  b.messages, b.unseen, b.size FROM mailboxes b`;

/** A mailbox row as the IMAP writes lock it. */
interface BoxRow {
  id: number;
  account_id: number;
  name: string;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
}

const BOX_COLUMNS = "id, account_id, name, uid_validity, uid_next, highest_modseq";

const toMailbox = (r: MailboxRow): Mailbox => ({ id: r.id, accountId: r.account_id, name: r.name, specialUse: r.special_use, uidValidity: r.uid_validity, uidNext: r.uid_next, highestModseq: r.highest_modseq, subscribed: r.subscribed, messages: r.messages, unseen: r.unseen, size: r.size });

/** A mailbox deliver() locked: the UIDs and modseqs it hands out, the status it adds. */
interface LockedBox {
  id: number;
  uidNext: number;
  startUid: number;
  modseq: number;
  added: { messages: number; unseen: number; size: number };
}

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

export class PgMailstore implements Mailstore, ImapMailstore {
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
      b.added.messages++;
      if (!isSeen(w.flags)) b.added.unseen++;
      b.added.size += w.size;
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
      `UPDATE mailboxes b SET uid_next = u.uid_next, highest_modseq = u.modseq,
         messages = b.messages + u.messages, unseen = b.unseen + u.unseen, size = b.size + u.size
       FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) AS u (id, uid_next, modseq, messages, unseen, size)
       WHERE b.id = u.id`,
      [bumped.map((b) => b.id), bumped.map((b) => b.uidNext), bumped.map((b) => b.modseq), bumped.map((b) => b.added.messages), bumped.map((b) => b.added.unseen), bumped.map((b) => b.added.size)],
    );
    await this.write(c, planned, accounts);
    return results;
  }

  /** Locks (creating on first use) the mailboxes the copies go to, in id order. */
  private async lockMailboxes(
    c: Client,
    wanted: readonly { accountId: number; mailbox: string; specialUse: string | null; internalDate: number }[],
  ): Promise<Map<string, LockedBox>> {
    const want = new Map<string, { accountId: number; name: string; specialUse: string | null; now: number }>();
    for (const w of wanted) {
      const key = `${w.accountId}\0${w.mailbox}`;
      if (!want.has(key)) want.set(key, { accountId: w.accountId, name: w.mailbox, specialUse: w.specialUse, now: w.internalDate });
    }
    const boxes = new Map<string, LockedBox>();
    const lock = async (list: { accountId: number; name: string }[]) => {
      const { rows } = await c.query<{ id: number; account_id: number; name: string; uid_next: number; highest_modseq: number }>(
        `SELECT b.id, b.account_id, b.name, b.uid_next, b.highest_modseq FROM mailboxes b
         WHERE (b.account_id, b.name) IN (SELECT * FROM unnest($1::bigint[], $2::text[]))
         ORDER BY b.id FOR UPDATE OF b`,
        [list.map((w) => w.accountId), list.map((w) => w.name)],
      );
      for (const r of rows) boxes.set(`${r.account_id}\0${r.name}`, { id: r.id, uidNext: r.uid_next, startUid: r.uid_next, modseq: r.highest_modseq, added: { messages: 0, unseen: 0, size: 0 } });
    };
    await lock([...want.values()]);
    const missing = [...want.entries()].filter(([k]) => !boxes.has(k)).map(([, w]) => w);
    if (missing.length > 0) {
      // Created with uid_next 1, highest_modseq 1: the UPDATE below sets the values used.
      const created = await c.query<{ account_id: number; name: string }>(
        // UIDVALIDITY above that of any deleted mailbox of the account (RFC 9051 2.3.1.1).
        `INSERT INTO mailboxes (account_id, name, special_use, uid_validity)
         SELECT w.account_id, w.name, w.special_use, greatest(w.uid_validity, coalesce((SELECT u.highest + 1 FROM uid_validity_used u WHERE u.account_id = w.account_id), 0))
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) AS w (account_id, name, special_use, uid_validity)
         ON CONFLICT (account_id, name) DO NOTHING
         RETURNING account_id, name`,
        [missing.map((w) => w.accountId), missing.map((w) => w.name), missing.map((w) => w.specialUse), missing.map((w) => newUidValidity(w.now))],
      );
      await subscribe(c, created.rows.map((r) => [r.account_id, r.name]));
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
    await insertBlobs(c, [...blobs.values()]);
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
    const r = (await this.pool.query<MailboxRow>(`${MAILBOX_SELECT} WHERE b.account_id = $1 AND b.name = $2`, [accountId, normalizeMailboxName(name)])).rows[0];
    return r ? toMailbox(r) : null;
  }

  async deliveriesOf(queueId: string): Promise<DeliveryRecord[]> {
    return (await this.pool.query<DeliveryRow>(DELIVERIES_OF.replace("?", "$1"), [queueId])).rows.map(toDeliveryRecord);
  }

  async listMessages(mailboxId: number): Promise<MailMessage[]> {
    return (await this.pool.query<MessageRow>("SELECT * FROM messages WHERE mailbox_id = $1 ORDER BY uid", [mailboxId])).rows.map(toMessage);
  }

  /** Lock order as in deliver(): the account, then the mailbox, then the blobs. */
  expunge(mailboxId: number, uids: readonly number[]): Promise<number[]> {
    if (uids.length === 0) return Promise.resolve([]);
    return transaction(this.pool, async (c) => {
      const owner = (await c.query<{ account_id: number }>("SELECT account_id FROM mailboxes WHERE id = $1", [mailboxId])).rows[0];
      if (!owner) return [];
      await c.query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE", [owner.account_id]);
      const box = (await c.query<{ highest_modseq: number }>("SELECT highest_modseq FROM mailboxes WHERE id = $1 FOR UPDATE", [mailboxId])).rows[0];
      if (!box) return [];
      const gone = await c.query<{ uid: number; size: number; blob_id: string; flags: string }>("DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) RETURNING uid, size, blob_id, flags", [mailboxId, uids]);
      if (gone.rows.length === 0) return [];
      const refs = new Map<string, number>();
      for (const r of gone.rows) refs.set(r.blob_id, (refs.get(r.blob_id) ?? 0) - 1);
      await addRefs(c, refs);
      const bytes = gone.rows.reduce((n, r) => n + Number(r.size), 0);
      await c.query("UPDATE accounts SET used_bytes = greatest(0, used_bytes - $1) WHERE id = $2", [bytes, owner.account_id]);
      const removed = gone.rows.map((r) => Number(r.uid)).sort((a, b) => a - b);
      // QRESYNC (RFC 7162 3.2.10): the expunge is recorded with the new modseq.
      await recordExpunged(c, mailboxId, removed, box.highest_modseq + 1);
      const t = tally(gone.rows);
      await c.query("UPDATE mailboxes SET highest_modseq = $1, messages = messages - $3, unseen = unseen - $4, size = size - $5 WHERE id = $2", [box.highest_modseq + 1, mailboxId, t.messages, t.unseen, t.size]);
      return removed;
    });
  }

  async getMailboxById(mailboxId: number): Promise<Mailbox | null> {
    const r = (await this.pool.query<MailboxRow>(`${MAILBOX_SELECT} WHERE b.id = $1`, [mailboxId])).rows[0];
    return r ? toMailbox(r) : null;
  }

  /**
   * Mailbox management (create, delete, rename) holds the account's row lock, so that it is
   * serialised with delivery (which creates mailboxes under the same lock) and with itself.
   */
  async createMailbox(accountId: number, rawName: string, specialUse: string | null = null): Promise<Mailbox> {
    const name = checkMailboxName(rawName);
    const id = await transaction(this.pool, async (c) => {
      await lockAccount(c, accountId);
      const names = [...superiors(name), name];
      const { rows } = await c.query<{ name: string }>("SELECT name FROM mailboxes WHERE account_id = $1 AND name = ANY($2::text[])", [accountId, names]);
      const have = new Set(rows.map((r) => r.name));
      if (have.has(name)) throw new MailstoreError("EXISTS", "mailbox already exists");
      const ids = await createBoxes(c, accountId, names.filter((n) => !have.has(n)), specialUse, Date.now());
      return ids.get(name)!;
    });
    return (await this.getMailboxById(id))!;
  }

  async deleteMailbox(accountId: number, rawName: string): Promise<boolean> {
    const name = normalizeMailboxName(rawName);
    if (name === "INBOX") throw new MailstoreError("CANNOT", "INBOX cannot be deleted");
    return transaction(this.pool, async (c) => {
      await lockAccountIfAny(c, accountId);
      const box = (await c.query<{ id: number; uid_validity: number }>("SELECT id, uid_validity FROM mailboxes WHERE account_id = $1 AND name = $2 FOR UPDATE", [accountId, name])).rows[0];
      if (!box) return false;
      // RFC 9051 6.3.4: inferiors stay; subscriptions are names and stay too (6.3.7).
      const { rows } = await c.query<{ blob_id: string; n: number; bytes: number }>(
        `WITH gone AS (DELETE FROM messages WHERE mailbox_id = $1 RETURNING blob_id, size)
         SELECT blob_id, count(*)::bigint AS n, sum(size)::bigint AS bytes FROM gone GROUP BY blob_id`,
        [box.id],
      );
      await addRefs(c, new Map(rows.map((r) => [r.blob_id, -r.n])));
      const bytes = rows.reduce((n, r) => n + r.bytes, 0);
      if (bytes > 0) await c.query("UPDATE accounts SET used_bytes = greatest(0, used_bytes - $1) WHERE id = $2", [bytes, accountId]);
      await c.query("DELETE FROM mailboxes WHERE id = $1", [box.id]);
      await useUidValidity(c, accountId, box.uid_validity);
      return true;
    });
  }

  async renameMailbox(accountId: number, rawFrom: string, rawTo: string): Promise<void> {
    const from = normalizeMailboxName(rawFrom);
    const to = checkMailboxName(rawTo);
    await transaction(this.pool, async (c) => {
      await lockAccountIfAny(c, accountId);
      const all = (await c.query<BoxRow>(`SELECT ${BOX_COLUMNS} FROM mailboxes WHERE account_id = $1`, [accountId])).rows;
      const byName = new Map(all.map((b) => [b.name, b]));
      const source = byName.get(from);
      if (!source) throw new MailstoreError("NOT_FOUND", "no such mailbox");
      if (to === "INBOX" || byName.has(to)) throw new MailstoreError("EXISTS", "target mailbox already exists");
      if (from === "INBOX") {
        // RFC 9051 6.3.6: the messages move to a new mailbox (new UIDVALIDITY, UIDs kept), INBOX
        // stays, empty, its inferiors untouched; for INBOX's sessions the messages are expunged.
        const inbox = (await c.query<BoxRow>(`SELECT ${BOX_COLUMNS} FROM mailboxes WHERE id = $1 FOR UPDATE`, [source.id])).rows[0]!;
        const ids = await createBoxes(c, accountId, [...superiors(to).filter((n) => !byName.has(n)), to], null, Date.now(), { uidNext: inbox.uid_next, modseq: inbox.highest_modseq });
        const moved = await c.query<{ uid: number; flags: string; size: number }>("UPDATE messages SET mailbox_id = $1 WHERE mailbox_id = $2 RETURNING uid, flags, size", [ids.get(to)!, inbox.id]);
        if (moved.rows.length === 0) return;
        const modseq = inbox.highest_modseq + 1;
        await recordExpunged(c, inbox.id, moved.rows.map((r) => r.uid), modseq);
        // INBOX is left empty; the new mailbox counts what it received.
        await c.query("UPDATE mailboxes SET highest_modseq = $1, messages = 0, unseen = 0, size = 0 WHERE id = $2", [modseq, inbox.id]);
        const t = tally(moved.rows);
        await c.query("UPDATE mailboxes SET messages = $1, unseen = $2, size = $3 WHERE id = $4", [t.messages, t.unseen, t.size, ids.get(to)!]);
        return;
      }
      if (isAtOrBelow(to, from)) throw new MailstoreError("INVALID", "a mailbox cannot be moved below itself");
      const tree = all.filter((b) => isAtOrBelow(b.name, from));
      const names = tree.map((b) => renamed(b.name, from, to));
      if (names.some((n) => byName.has(n))) throw new MailstoreError("EXISTS", "target mailbox already exists");
      await createBoxes(c, accountId, superiors(to).filter((n) => !byName.has(n)), null, Date.now());
      await c.query("UPDATE mailboxes b SET name = u.name FROM unnest($1::bigint[], $2::text[]) AS u (id, name) WHERE b.id = u.id", [tree.map((b) => b.id), names]);
      // Subscriptions follow the mailboxes they name.
      const subs = await c.query<{ name: string }>("DELETE FROM subscriptions WHERE account_id = $1 AND name = ANY($2::text[]) RETURNING name", [accountId, tree.map((b) => b.name)]);
      await subscribe(c, subs.rows.map((r) => [accountId, renamed(r.name, from, to)]));
    });
  }

  async setSubscribed(accountId: number, rawName: string, subscribed: boolean): Promise<void> {
    const name = checkMailboxName(rawName);
    if (subscribed) await this.pool.query("INSERT INTO subscriptions (account_id, name) SELECT id, $2 FROM accounts WHERE id = $1 ON CONFLICT DO NOTHING", [accountId, name]);
    else await this.pool.query("DELETE FROM subscriptions WHERE account_id = $1 AND name = $2", [accountId, name]);
  }

  async subscriptions(accountId: number): Promise<string[]> {
    return (await this.pool.query<{ name: string }>("SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name", [accountId])).rows.map((r) => r.name);
  }

  async getMessages(mailboxId: number, uids: readonly number[]): Promise<MailMessage[]> {
    if (uids.length === 0) return [];
    return (await this.pool.query<MessageRow>("SELECT * FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid", [mailboxId, uids])).rows.map(toMessage);
  }

  async changedSince(mailboxId: number, since: number): Promise<MailMessage[]> {
    return (await this.pool.query<MessageRow>("SELECT * FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", [mailboxId, since])).rows.map(toMessage);
  }

  async expungedSince(mailboxId: number, since: number): Promise<number[]> {
    return (await this.pool.query<{ uid: number }>("SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid", [mailboxId, since])).rows.map((r) => r.uid);
  }

  /**
   * Set-based whatever the number of UIDs: lock the mailbox, read the messages, write the
   * changed ones with one UPDATE. Only the mailbox row is locked (every writer of its messages
   * holds it), so this never waits on an account lock and cannot deadlock with delivery.
   */
  async storeFlags(change: FlagChange): Promise<FlagChangeResult> {
    const result: FlagChangeResult = { updated: [], modified: [] };
    if (change.uids.length === 0) return result;
    return transaction(this.pool, async (c) => {
      result.updated = [];
      result.modified = [];
      const box = (await c.query<{ highest_modseq: number }>("SELECT highest_modseq FROM mailboxes WHERE id = $1 FOR UPDATE", [change.mailboxId])).rows[0];
      if (!box) return result;
      const { rows } = await c.query<{ uid: number; modseq: number; flags: string }>(
        "SELECT uid, modseq, flags FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid",
        [change.mailboxId, [...new Set(change.uids)]],
      );
      const modseq = box.highest_modseq + 1;
      const plan = planFlagChange(rows, change, modseq);
      result.updated = plan.updated;
      result.modified = plan.modified;
      const unseen = plan.unseenDelta;
      if (result.updated.length === 0) return result;
      await c.query(
        "UPDATE messages m SET flags = u.flags, modseq = $2 FROM unnest($3::bigint[], $4::text[]) AS u (uid, flags) WHERE m.mailbox_id = $1 AND m.uid = u.uid",
        [change.mailboxId, modseq, result.updated.map((u) => u.uid), result.updated.map((u) => u.flags.join(" "))],
      );
      await c.query("UPDATE mailboxes SET highest_modseq = $1, unseen = unseen + $3 WHERE id = $2", [modseq, change.mailboxId, unseen]);
      return result;
    });
  }

  /** Lock order as in deliver(): the account (quota), the mailbox (UID), the blob. */
  async append(input: AppendInput): Promise<{ mailboxId: number; uidValidity: number; uid: number }> {
    let blob = input.blob;
    if (this.files && blob.data && blob.size > this.inlineMax) {
      await this.files.write(blob.id, blob.data);
      blob = { ...blob, data: null };
    }
    const name = normalizeMailboxName(input.mailbox);
    const flagList = canonicalFlags(input.flags);
    const flags = flagList.join(" ");
    return transaction(this.pool, async (c) => {
      const account = await lockAccount(c, input.accountId);
      const box = (await c.query<BoxRow>(`SELECT ${BOX_COLUMNS} FROM mailboxes WHERE account_id = $1 AND name = $2 FOR UPDATE`, [input.accountId, name])).rows[0];
      if (!box) throw new MailstoreError("NOT_FOUND", "no such mailbox");
      if (account.quota !== null && account.used_bytes + blob.size > account.quota) throw new MailstoreError("OVER_QUOTA", "quota exceeded");
      await insertBlobs(c, [{ blob, refs: 1 }]);
      const uid = box.uid_next;
      const modseq = box.highest_modseq + 1;
      await c.query(
        "INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id, prefix) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [box.id, uid, modseq, flags, input.internalDate, blob.size, blob.id, Buffer.alloc(0)],
      );
      await c.query("UPDATE mailboxes SET uid_next = $1, highest_modseq = $2, messages = messages + 1, unseen = unseen + $4, size = size + $5 WHERE id = $3", [uid + 1, modseq, box.id, isSeen(flagList) ? 0 : 1, blob.size]);
      await c.query("UPDATE accounts SET used_bytes = used_bytes + $1 WHERE id = $2", [blob.size, input.accountId]);
      return { mailboxId: box.id, uidValidity: box.uid_validity, uid };
    });
  }

  copy(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult> {
    return this.transfer(fromMailboxId, uids, toMailboxId, false);
  }

  move(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult> {
    return this.transfer(fromMailboxId, uids, toMailboxId, true);
  }

  /**
   * COPY (RFC 4315 COPYUID) or MOVE (RFC 6851, the rows change mailbox and the source records
   * the expunge), set-based. Locks: both accounts, both mailboxes (each in id order), blobs.
   */
  private transfer(fromId: number, uids: readonly number[], toId: number, move: boolean): Promise<CopyResult> {
    return transaction(this.pool, async (c) => {
      const owners = (await c.query<{ id: number; account_id: number }>("SELECT id, account_id FROM mailboxes WHERE id = ANY($1::bigint[])", [[fromId, toId]])).rows;
      const ownerOf = new Map(owners.map((o) => [o.id, o.account_id]));
      if (!ownerOf.has(fromId) || !ownerOf.has(toId)) throw new MailstoreError("NOT_FOUND", "no such mailbox");
      const accountIds = [...new Set(owners.map((o) => o.account_id))].sort((a, b) => a - b);
      const accounts = new Map((await c.query<{ id: number; quota: number | null; used_bytes: number }>("SELECT id, quota, used_bytes FROM accounts WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE", [accountIds])).rows.map((a) => [a.id, a]));
      const boxes = new Map((await c.query<BoxRow>(`SELECT ${BOX_COLUMNS} FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`, [[fromId, toId]])).rows.map((b) => [b.id, b]));
      const src = boxes.get(fromId);
      const dst = boxes.get(toId);
      if (!src || !dst) throw new MailstoreError("NOT_FOUND", "no such mailbox");
      const result: CopyResult = { uidValidity: dst.uid_validity, map: [] };
      if (uids.length === 0) return result;
      const { rows } = await c.query<{ uid: number; size: number; blob_id: string; flags: string }>(
        "SELECT uid, size, blob_id, flags FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid",
        [src.id, [...new Set(uids)]],
      );
      if (rows.length === 0) return result;
      const bytes = rows.reduce((n, r) => n + r.size, 0);
      const crossAccount = src.account_id !== dst.account_id;
      // A move within one account takes no room.
      if (!move || crossAccount) {
        const a = accounts.get(dst.account_id);
        if (a && a.quota !== null && a.used_bytes + bytes > a.quota) throw new MailstoreError("OVER_QUOTA", "quota exceeded");
      }
      const modseq = dst.highest_modseq + 1;
      result.map = rows.map((r, i) => [r.uid, dst.uid_next + i]);
      const olds = result.map.map(([o]) => o);
      const news = result.map.map(([, n]) => n);
      if (move) {
        await c.query(
          "UPDATE messages m SET mailbox_id = $1, uid = u.new, modseq = $2 FROM unnest($4::bigint[], $5::bigint[]) AS u (old, new) WHERE m.mailbox_id = $3 AND m.uid = u.old",
          [dst.id, modseq, src.id, olds, news],
        );
      } else {
        await c.query(
          `INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id, prefix)
           SELECT $1, u.new, $2, m.flags, m.internal_date, m.size, m.blob_id, m.prefix
           FROM unnest($4::bigint[], $5::bigint[]) AS u (old, new) JOIN messages m ON m.mailbox_id = $3 AND m.uid = u.old`,
          [dst.id, modseq, src.id, olds, news],
        );
        const refs = new Map<string, number>();
        for (const r of rows) refs.set(r.blob_id, (refs.get(r.blob_id) ?? 0) + 1);
        await addRefs(c, refs);
      }
      const uidNext = dst.uid_next + rows.length;
      // Status: the destination counts the messages; a move within one mailbox changes nothing.
      const t = move && src.id === dst.id ? { messages: 0, unseen: 0, size: 0 } : tally(rows);
      const setDst = "UPDATE mailboxes SET uid_next = $1, highest_modseq = $2, messages = messages + $4, unseen = unseen + $5, size = size + $6 WHERE id = $3";
      if (move) {
        // The source's expunge takes the next modseq of the source (the same mailbox: after the copy's).
        const gone = (src.id === dst.id ? modseq : src.highest_modseq) + 1;
        await recordExpunged(c, src.id, olds, gone);
        if (src.id !== dst.id) {
          await c.query("UPDATE mailboxes SET highest_modseq = $1, messages = messages - $3, unseen = unseen - $4, size = size - $5 WHERE id = $2", [gone, src.id, t.messages, t.unseen, t.size]);
        }
        await c.query(setDst, [uidNext, src.id === dst.id ? gone : modseq, dst.id, t.messages, t.unseen, t.size]);
      } else {
        await c.query(setDst, [uidNext, modseq, dst.id, t.messages, t.unseen, t.size]);
      }
      if (!move || crossAccount) await c.query("UPDATE accounts SET used_bytes = used_bytes + $1 WHERE id = $2", [bytes, dst.account_id]);
      if (move && crossAccount) await c.query("UPDATE accounts SET used_bytes = greatest(0, used_bytes - $1) WHERE id = $2", [bytes, src.account_id]);
      return result;
    });
  }

  async blob(blobId: string): Promise<Buffer | null> {
    const r = (await this.pool.query<{ data: Buffer | null }>("SELECT data FROM blobs WHERE id = $1", [blobId])).rows[0];
    if (!r) return null;
    if (r.data) return r.data;
    if (!this.files) throw new Error(`blob ${blobId} is stored as a file, but this store has no blobDir`);
    return this.files.read(blobId);
  }

  async blobIds(after: string | null, limit: number, accountId?: number): Promise<string[]> {
    const r =
      accountId === undefined
        ? await this.pool.query<{ id: string }>("SELECT id FROM blobs WHERE refs > 0 AND id > $1 ORDER BY id LIMIT $2", [after ?? "", limit])
        : await this.pool.query<{ id: string }>(
            "SELECT DISTINCT m.blob_id AS id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = $1 AND m.blob_id > $2 ORDER BY m.blob_id LIMIT $3",
            [accountId, after ?? "", limit],
          );
    return r.rows.map((x) => x.id);
  }

  async countBlobs(accountId?: number): Promise<number> {
    const r =
      accountId === undefined
        ? await this.pool.query<{ n: string }>("SELECT count(*) AS n FROM blobs WHERE refs > 0")
        : await this.pool.query<{ n: string }>("SELECT count(DISTINCT m.blob_id) AS n FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = $1", [accountId]);
    return Number(r.rows[0]!.n);
  }

  async setParsed(items: readonly { id: string; parsed: unknown }[]): Promise<void> {
    if (items.length === 0) return;
    await this.pool.query("UPDATE blobs SET parsed = u.parsed FROM unnest($1::text[], $2::text[]) AS u (id, parsed) WHERE blobs.id = u.id", [items.map((i) => i.id), items.map((i) => JSON.stringify(i.parsed))]);
  }

  async parsed(blobId: string): Promise<unknown> {
    const r = (await this.pool.query<{ parsed: string }>("SELECT parsed FROM blobs WHERE id = $1", [blobId])).rows[0];
    return r === undefined ? null : JSON.parse(r.parsed);
  }
}

/** Locks an account row (quota, and the order every writer takes); MailstoreError NOT_FOUND. */
async function lockAccount(c: Client, accountId: number): Promise<{ quota: number | null; used_bytes: number }> {
  const a = await lockAccountIfAny(c, accountId);
  if (!a) throw new MailstoreError("NOT_FOUND", "no such account");
  return a;
}

async function lockAccountIfAny(c: Client, accountId: number): Promise<{ quota: number | null; used_bytes: number } | undefined> {
  return (await c.query<{ quota: number | null; used_bytes: number }>("SELECT quota, used_bytes FROM accounts WHERE id = $1 FOR UPDATE", [accountId])).rows[0];
}

/**
 * Creates mailboxes (outermost first; the last one gets specialUse and `start`), subscribed as
 * delivery's are. UIDVALIDITY is above every one the account's created or deleted mailboxes
 * had, so that a name created again never repeats one (RFC 9051 2.3.1.1). Under the account lock.
 */
async function createBoxes(c: Client, accountId: number, names: readonly string[], specialUse: string | null, now: number, start = { uidNext: 1, modseq: 1 }): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const used = (await c.query<{ highest: number }>("SELECT highest FROM uid_validity_used WHERE account_id = $1", [accountId])).rows[0]?.highest ?? 0;
  const base = Math.max(newUidValidity(now), used + 1);
  await useUidValidity(c, accountId, base + names.length - 1);
  const last = names.length - 1;
  const { rows } = await c.query<{ id: number; name: string }>(
    `INSERT INTO mailboxes (account_id, name, special_use, uid_validity, uid_next, highest_modseq)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[]) RETURNING id, name`,
    [accountId, names, names.map((_, i) => (i === last ? specialUse : null)), names.map((_, i) => base + i), names.map((_, i) => (i === last ? start.uidNext : 1)), names.map((_, i) => (i === last ? start.modseq : 1))],
  );
  await subscribe(c, names.map((n) => [accountId, n]));
  return new Map(rows.map((r) => [r.name, r.id]));
}

async function useUidValidity(c: Client, accountId: number, v: number): Promise<void> {
  await c.query("INSERT INTO uid_validity_used (account_id, highest) VALUES ($1, $2) ON CONFLICT (account_id) DO UPDATE SET highest = greatest(uid_validity_used.highest, excluded.highest)", [accountId, v]);
}

async function subscribe(c: Client, subs: readonly [number, string][]): Promise<void> {
  if (subs.length === 0) return;
  await c.query("INSERT INTO subscriptions (account_id, name) SELECT * FROM unnest($1::bigint[], $2::text[]) ON CONFLICT DO NOTHING", [subs.map((s) => s[0]), subs.map((s) => s[1])]);
}

/** Inserts blobs or adds references to them, in id order (two writers lock them in the same order). */
async function insertBlobs(c: Client, blobs: readonly { blob: BlobInput; refs: number }[]): Promise<void> {
  const sorted = [...blobs].sort((a, b) => (a.blob.id < b.blob.id ? -1 : a.blob.id > b.blob.id ? 1 : 0));
  await c.query(
    `INSERT INTO blobs (id, size, data, parsed, refs)
     SELECT id, size, data, parsed, refs FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::text[], $5::bigint[]) WITH ORDINALITY AS b (id, size, data, parsed, refs, n)
     ORDER BY n
     ON CONFLICT (id) DO UPDATE SET refs = blobs.refs + excluded.refs`,
    [sorted.map((b) => b.blob.id), sorted.map((b) => b.blob.size), sorted.map((b) => b.blob.data), sorted.map((b) => JSON.stringify(b.blob.parsed ?? null)), sorted.map((b) => b.refs)],
  );
}

/** Adds (or with a negative count, drops) references to existing blobs. */
async function addRefs(c: Client, refs: ReadonlyMap<string, number>): Promise<void> {
  if (refs.size === 0) return;
  const ids = [...refs.keys()].sort();
  await c.query("UPDATE blobs b SET refs = b.refs + u.n FROM unnest($1::text[], $2::bigint[]) AS u (id, n) WHERE b.id = u.id", [ids, ids.map((id) => refs.get(id)!)]);
}

/** QRESYNC (RFC 7162 3.2.10): expunged UIDs with the modseq of their expunge. */
async function recordExpunged(c: Client, mailboxId: number, uids: readonly number[], modseq: number): Promise<void> {
  if (uids.length === 0) return;
  await c.query(
    "INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, unnest($2::bigint[]), $3 ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq",
    [mailboxId, uids, modseq],
  );
}
