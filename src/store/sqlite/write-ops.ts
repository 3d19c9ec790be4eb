/**
 * Every write the server makes to SQLite, as synchronous functions over one connection with
 * serialisable arguments and results. They run in the writer thread (server: fsyncs never
 * block the event loop, and one connection does all writes, so writers never wait on each
 * other) or in-thread (CLI, tests). Each call is one transaction.
 */
import type { Db } from "./database.js";
import { toRecipient, type RecipientRow } from "../rows.js";
import { newUidValidity } from "../uid-validity.js";
import { expungeTransaction, imapWriteOps } from "./write-ops-imap.js";
import { isSeen } from "../imap-rules.js";
import { authWriteOps } from "./write-ops-auth.js";
import { sendingWriteOps } from "./write-ops-sending.js";
import { dkimWriteOps } from "./write-ops-dkim.js";
import { queueAdminWriteOps } from "./write-ops-queue-admin.js";
import { keyValueWriteOps } from "./write-ops-kv.js";
import { dmarcWriteOps } from "./write-ops-dmarc.js";
import { deliveryEventWriteOps } from "./delivery-events.js";
import type { DeliveryItemResult, DueRecipient, FinishItem, LocalDelivery, NewQueueMessage, RecipientOutcome, RecipientState } from "../types.js";

export function writeOps(db: Db) {
  const q = {
    message: db.prepare("INSERT INTO queue_messages (id, created_at, sender, size, envelope, spooled) VALUES (?, ?, ?, ?, ?, ?)"),
    body: db.prepare("INSERT INTO queue_bodies (id, data) VALUES (?, ?)"),
    rcpt: db.prepare("INSERT INTO queue_recipients (message_id, idx, address, dsn, next_attempt_at) VALUES (?, ?, ?, ?, ?)"),
    due: db.prepare(
      `SELECT r.* FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id
       WHERE m.held = 0 AND r.state IN ('queued', 'deferred') AND r.next_attempt_at <= ?
       ORDER BY r.next_attempt_at LIMIT ?`,
    ),
    expired: db.prepare(
      `SELECT r.* FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id
       WHERE m.held = 0 AND r.state = 'inflight' AND r.lease_until < ? LIMIT ?`,
    ),
    lease: db.prepare("UPDATE queue_recipients SET state = 'inflight', lease_until = ?, lease_node = ? WHERE message_id = ? AND idx = ?"),
    outcome: db.prepare("UPDATE queue_recipients SET state = ?, last_reply = ?, attempts = attempts + ?, next_attempt_at = ?, lease_until = NULL, lease_node = NULL WHERE message_id = ? AND idx = ?"),
    release: db.prepare("UPDATE queue_recipients SET state = 'queued', lease_until = NULL, lease_node = NULL WHERE state = 'inflight' AND lease_node = ?"),
    pending: db.prepare("SELECT count(*) FROM queue_recipients WHERE message_id = ? AND state IN ('queued', 'deferred', 'inflight')").pluck(),
    deleteMessage: db.prepare("DELETE FROM queue_messages WHERE id = ?"),
    exists: db.prepare("SELECT 1 FROM queue_messages WHERE id = ?").pluck(),
    delayNotified: db.prepare("UPDATE queue_messages SET delay_notified = 1 WHERE id = ? AND delay_notified = 0"),
  };
  const m = {
    // One copy per account per queued message, however many of its recipients lead there
    // (postmaster@ and abuse@, alice@ and alice+tag@), and never a second one on retry.
    delivered: db.prepare("SELECT uid FROM deliveries WHERE queue_id = ? AND account_id = ? LIMIT 1").pluck(),
    account: db.prepare("SELECT id, quota, used_bytes FROM accounts WHERE id = ?"),
    mailbox: db.prepare("SELECT id, uid_next, highest_modseq FROM mailboxes WHERE account_id = ? AND name = ?"),
    // Above the UIDVALIDITY of any deleted mailbox of the account (RFC 9051 2.3.1.1).
    createMailbox: db.prepare("INSERT INTO mailboxes (account_id, name, special_use, uid_validity) SELECT ?, ?, ?, max(?, coalesce((SELECT highest + 1 FROM uid_validity_used WHERE account_id = ?), 0))"),
    subscribe: db.prepare("INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)"),
    blobInsert: db.prepare("INSERT INTO blobs (id, size, data, parsed, refs) VALUES (?, ?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET refs = refs + 1"),
    messageInsert: db.prepare("INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id, prefix) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
    // The new message counted in the mailbox's status, in the same transaction.
    mailboxBump: db.prepare("UPDATE mailboxes SET uid_next = ?, highest_modseq = ?, messages = messages + 1, unseen = unseen + ?, size = size + ? WHERE id = ?"),
    usage: db.prepare("UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ?"),
    record: db.prepare("INSERT INTO deliveries (queue_id, rcpt_idx, account_id, mailbox_id, uid, delivered_at) VALUES (?, ?, ?, ?, ?, ?)"),
  };

  const insertOne = (msg: NewQueueMessage) => {
    q.message.run(msg.id, msg.createdAt, msg.sender, msg.size, JSON.stringify(msg.envelope), msg.body ? 0 : 1);
    if (msg.body) q.body.run(msg.id, asBuffer(msg.body));
    msg.recipients.forEach((r, idx) => q.rcpt.run(msg.id, idx, r.address, JSON.stringify(r.dsn), msg.createdAt));
  };
  const insertQueue = db.transaction((batch: readonly NewQueueMessage[]) => {
    for (const msg of batch) insertOne(msg);
  });

  const claimDue = db.transaction((now: number, limit: number, leaseUntil: number, node: string): DueRecipient[] => {
    const rows = [...(q.due.all(now, limit) as RecipientRow[]), ...(q.expired.all(now, limit) as RecipientRow[])].slice(0, limit);
    for (const r of rows) q.lease.run(leaseUntil, node, r.message_id, r.idx);
    return rows.map((r) => ({ messageId: r.message_id, ...toRecipient(r), state: "inflight" as RecipientState }));
  });

  const recordOutcomes = db.transaction((messageId: string, outcomes: readonly RecipientOutcome[], now: number) => {
    for (const o of outcomes) q.outcome.run(o.status, o.reply, attemptInc(o), o.status === "deferred" ? o.nextAttemptAt : now, messageId, o.idx);
  });

  const deleteIfDone = db.transaction((messageId: string): boolean => {
    if ((q.pending.get(messageId) as number) > 0) return false;
    return q.deleteMessage.run(messageId).changes > 0;
  });

  // Records the expunged UIDs with their modseq (QRESYNC), as IMAP's MOVE does.
  const expunge = expungeTransaction(db);

  const finish = db.transaction((batch: readonly FinishItem[], now: number): string[] => {
    const deleted: string[] = [];
    for (const b of batch) {
      // The DSNs these outcomes cause commit with them; none for a message deleted meanwhile.
      if (q.exists.get(b.messageId) !== undefined) {
        for (const n of b.notices ?? []) insertOne(n);
        if (b.delayNotice && q.delayNotified.run(b.messageId).changes > 0) insertOne(b.delayNotice);
      }
      for (const o of b.outcomes) q.outcome.run(o.status, o.reply, attemptInc(o), o.status === "deferred" ? o.nextAttemptAt : now, b.messageId, o.idx);
      if ((q.pending.get(b.messageId) as number) === 0 && q.deleteMessage.run(b.messageId).changes > 0) deleted.push(b.messageId);
    }
    return deleted;
  });

  const deliver = db.transaction((batch: readonly LocalDelivery[]): DeliveryItemResult[][] =>
    batch.map((d) => {
      const data = d.blob.data ? asBuffer(d.blob.data) : null;
      const size = d.blob.size;
      return d.items.map((item): DeliveryItemResult => {
        const done = m.delivered.get(d.queueId, item.accountId) as number | null | undefined;
        if (done !== undefined) return { accountId: item.accountId, status: "duplicate", uid: done };
        const account = m.account.get(item.accountId) as { id: number; quota: number | null; used_bytes: number } | undefined;
        if (!account) return { accountId: item.accountId, status: "no-account" };
        const prefix = asBuffer(item.prefix);
        const total = size + prefix.length;
        if (account.quota !== null && account.used_bytes + total > account.quota) return { accountId: item.accountId, status: "over-quota" };
        let box = m.mailbox.get(item.accountId, item.mailbox) as { id: number; uid_next: number; highest_modseq: number } | undefined;
        if (!box) {
          const id = Number(m.createMailbox.run(item.accountId, item.mailbox, item.specialUse ?? null, newUidValidity(d.internalDate), item.accountId).lastInsertRowid);
          m.subscribe.run(item.accountId, item.mailbox);
          box = { id, uid_next: 1, highest_modseq: 1 };
        }
        m.blobInsert.run(d.blob.id, size, data, JSON.stringify(d.blob.parsed));
        const uid = box.uid_next;
        const modseq = box.highest_modseq + 1;
        const flags = d.flags ?? [];
        m.messageInsert.run(box.id, uid, modseq, flags.join(" "), d.internalDate, total, d.blob.id, prefix);
        m.mailboxBump.run(uid + 1, modseq, isSeen(flags) ? 0 : 1, total, box.id);
        m.usage.run(total, item.accountId);
        m.record.run(d.queueId, d.rcptIdx, item.accountId, box.id, uid, d.internalDate);
        return { accountId: item.accountId, status: "delivered", uid };
      });
    }),
  );

  return {
    ...imapWriteOps(db),
    ...authWriteOps(db),
    ...sendingWriteOps(db),
    ...dkimWriteOps(db),
    ...keyValueWriteOps(db),
    ...dmarcWriteOps(db),
    ...deliveryEventWriteOps(db),
    ...queueAdminWriteOps(db, insertOne),
    releaseLeases: (node: string) => q.release.run(node).changes,
    insertQueue: (batch: readonly NewQueueMessage[]) => insertQueue.immediate(batch),
    claimDue: (now: number, limit: number, leaseUntil: number, node: string) => claimDue.immediate(now, limit, leaseUntil, node),
    recordOutcomes: (messageId: string, outcomes: readonly RecipientOutcome[], now: number) => recordOutcomes.immediate(messageId, outcomes, now),
    deleteIfDone: (messageId: string) => deleteIfDone.immediate(messageId),
    finish: (batch: readonly FinishItem[], now: number) => finish.immediate(batch, now),
    deliver: (batch: readonly LocalDelivery[]) => deliver.immediate(batch),
    expunge: (mailboxId: number, uids: readonly number[]) => expunge.immediate(mailboxId, uids),
  };
}

export type WriteOps = ReturnType<typeof writeOps>;
export type WriteOpName = keyof WriteOps;

/** Structured clone (writer thread) turns Buffers into Uint8Arrays; SQLite wants Buffers. */
/** An outcome adds to the attempt count unless nothing was tried. */
const attemptInc = (o: RecipientOutcome): number => (o.status === "deferred" && o.notAttempted ? 0 : 1);

export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
