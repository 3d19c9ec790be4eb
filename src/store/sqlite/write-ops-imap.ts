/**
 * Mailstore writes IMAP makes (mailbox management, flags, append, copy, move), run like every
 * other write: in the writer thread for the server, in-thread for the CLI and tests.
 *
 * Every change to messages takes one new modseq per call (mailbox highest_modseq + 1), and every
 * expunge is recorded in `expunged` with its modseq (QRESYNC VANISHED, RFC 7162 3.2.10).
 * The mailbox row's status counters (messages, unseen, size) change in the same transaction as
 * the messages they count, so that reading a mailbox's status is one row, never a scan.
 * A MailstoreError does not survive the writer thread's structured clone, so the ops return it
 * as data ({ error }) after the transaction rolled back; SqliteMailstore throws it again.
 */
import type { Db } from "./database.js";
import { newUidValidity } from "../uid-validity.js";
import { canonicalFlags, checkMailboxName, isAtOrBelow, isSeen, normalizeMailboxName, planFlagChange, renamed, superiors, tally } from "../imap-rules.js";
import { MailstoreError, type AppendInput, type CopyResult, type FlagChange, type FlagChangeResult } from "../types.js";

export type Outcome<T> = { value: T } | { error: { code: MailstoreError["code"]; message: string } };

interface BoxRow {
  id: number;
  account_id: number;
  name: string;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
}

interface MessageRow {
  uid: number;
  modseq: number;
  flags: string;
  size: number;
  blob_id: string;
}

/** Runs a transaction; a MailstoreError it throws (after rollback) becomes an `error` result. */
function guarded<A extends unknown[], R>(tx: { immediate(...a: A): R }): (...a: A) => Outcome<R> {
  return (...a: A) => {
    try {
      return { value: tx.immediate(...a) };
    } catch (e) {
      if (e instanceof MailstoreError) return { error: { code: e.code, message: e.message } };
      throw e;
    }
  };
}

const BOX = "SELECT id, account_id, name, uid_validity, uid_next, highest_modseq FROM mailboxes";

/** The expunge of the Mailstore contract (POP3, IMAP EXPUNGE), in write-ops.ts's table. */
export function expungeTransaction(db: Db) {
  const e = expunger(db);
  return db.transaction((mailboxId: number, uids: readonly number[]): number[] => e(mailboxId, uids));
}

/** Removes messages (inside a transaction): usage, blob refs, modseq, the expunged record. */
function expunger(db: Db) {
  const s = {
    box: db.prepare(`${BOX} WHERE id = ?`),
    one: db.prepare("SELECT size, blob_id, flags FROM messages WHERE mailbox_id = ? AND uid = ?"),
    del: db.prepare("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?"),
    unref: db.prepare("UPDATE blobs SET refs = refs - 1 WHERE id = ?"),
    usage: db.prepare("UPDATE accounts SET used_bytes = max(0, used_bytes - ?) WHERE id = ?"),
    modseq: db.prepare("UPDATE mailboxes SET highest_modseq = ?, messages = messages - ?, unseen = unseen - ?, size = size - ? WHERE id = ?"),
    record: db.prepare("INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)"),
  };
  return (mailboxId: number, uids: readonly number[]): number[] => {
    const box = s.box.get(mailboxId) as BoxRow | undefined;
    if (!box) return [];
    const removed: number[] = [];
    const rows: { size: number; flags: string }[] = [];
    for (const uid of new Set(uids)) {
      const row = s.one.get(mailboxId, uid) as { size: number; blob_id: string; flags: string } | undefined;
      if (!row) continue;
      s.del.run(mailboxId, uid);
      s.unref.run(row.blob_id);
      rows.push(row);
      removed.push(uid);
    }
    if (removed.length === 0) return removed;
    const modseq = box.highest_modseq + 1;
    for (const uid of removed) s.record.run(mailboxId, uid, modseq);
    const gone = tally(rows);
    s.modseq.run(modseq, gone.messages, gone.unseen, gone.size, mailboxId);
    s.usage.run(gone.size, box.account_id);
    return removed.sort((a, b) => a - b);
  };
}

export function imapWriteOps(db: Db) {
  const s = {
    account: db.prepare("SELECT id, quota, used_bytes FROM accounts WHERE id = ?"),
    box: db.prepare(`${BOX} WHERE account_id = ? AND name = ?`),
    boxById: db.prepare(`${BOX} WHERE id = ?`),
    tree: db.prepare(`${BOX} WHERE account_id = ? AND (name = ? OR substr(name, 1, length(?)) = ?) ORDER BY name`),
    uidValidityUsed: db.prepare("SELECT highest FROM uid_validity_used WHERE account_id = ?").pluck(),
    useUidValidity: db.prepare("INSERT INTO uid_validity_used (account_id, highest) VALUES (?, ?) ON CONFLICT (account_id) DO UPDATE SET highest = max(highest, excluded.highest)"),
    insertBox: db.prepare("INSERT INTO mailboxes (account_id, name, special_use, uid_validity, uid_next, highest_modseq) VALUES (?, ?, ?, ?, ?, ?)"),
    renameBox: db.prepare("UPDATE mailboxes SET name = ? WHERE id = ?"),
    deleteBox: db.prepare("DELETE FROM mailboxes WHERE id = ?"),
    contents: db.prepare("SELECT blob_id, count(*) AS n, sum(size) AS bytes FROM messages WHERE mailbox_id = ? GROUP BY blob_id"),
    subscribe: db.prepare("INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)"),
    unsubscribe: db.prepare("DELETE FROM subscriptions WHERE account_id = ? AND name = ?"),
    messages: db.prepare("SELECT uid, modseq, flags, size, blob_id FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid"),
    allMessages: db.prepare("SELECT uid, flags, size FROM messages WHERE mailbox_id = ? ORDER BY uid"),
    setFlags: db.prepare("UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?"),
    bump: db.prepare("UPDATE mailboxes SET uid_next = ?, highest_modseq = ? WHERE id = ?"),
    /** Adds to (or with negative values, takes from) a mailbox's status counters. */
    count: db.prepare("UPDATE mailboxes SET messages = messages + ?, unseen = unseen + ?, size = size + ? WHERE id = ?"),
    setCount: db.prepare("UPDATE mailboxes SET messages = ?, unseen = ?, size = ? WHERE id = ?"),
    flagsChanged: db.prepare("UPDATE mailboxes SET highest_modseq = ?, unseen = unseen + ? WHERE id = ?"),
    blobInsert: db.prepare("INSERT INTO blobs (id, size, data, parsed, refs) VALUES (?, ?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET refs = refs + 1"),
    refs: db.prepare("UPDATE blobs SET refs = refs + ? WHERE id = ?"),
    usage: db.prepare("UPDATE accounts SET used_bytes = max(0, used_bytes + ?) WHERE id = ?"),
    messageInsert: db.prepare("INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id, prefix) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
    copyMessage: db.prepare(
      `INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id, prefix)
       SELECT ?, ?, ?, flags, internal_date, size, blob_id, prefix FROM messages WHERE mailbox_id = ? AND uid = ?`,
    ),
    moveMessage: db.prepare("UPDATE messages SET mailbox_id = ?, uid = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?"),
    moveAll: db.prepare("UPDATE messages SET mailbox_id = ? WHERE mailbox_id = ?"),
    recordExpunged: db.prepare("INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)"),
  };
  const box = (accountId: number, name: string) => s.box.get(accountId, name) as BoxRow | undefined;

  /**
   * Above every UIDVALIDITY the account's created or deleted mailboxes had: a name created again
   * never repeats one (RFC 9051 2.3.1.1).
   */
  const uidValidity = (accountId: number, now: number): number => {
    const v = Math.max(newUidValidity(now), ((s.uidValidityUsed.get(accountId) as number | undefined) ?? 0) + 1);
    s.useUidValidity.run(accountId, v);
    return v;
  };

  /** Creates the missing superiors of `name`, then `name` (subscribed, as delivery does). */
  const createTree = (accountId: number, name: string, specialUse: string | null, now: number, start: { uidNext: number; modseq: number } = { uidNext: 1, modseq: 1 }): number => {
    for (const sup of superiors(name)) {
      if (box(accountId, sup)) continue;
      s.insertBox.run(accountId, sup, null, uidValidity(accountId, now), 1, 1);
      s.subscribe.run(accountId, sup);
    }
    const id = Number(s.insertBox.run(accountId, name, specialUse, uidValidity(accountId, now), start.uidNext, start.modseq).lastInsertRowid);
    s.subscribe.run(accountId, name);
    return id;
  };

  const createMailbox = db.transaction((accountId: number, rawName: string, specialUse: string | null, now: number): number => {
    const name = checkMailboxName(rawName);
    if (!s.account.get(accountId)) throw new MailstoreError("NOT_FOUND", "no such account");
    if (box(accountId, name)) throw new MailstoreError("EXISTS", "mailbox already exists");
    return createTree(accountId, name, specialUse, now);
  });

  const deleteMailbox = db.transaction((accountId: number, rawName: string): boolean => {
    const name = normalizeMailboxName(rawName);
    if (name === "INBOX") throw new MailstoreError("CANNOT", "INBOX cannot be deleted");
    const b = box(accountId, name);
    if (!b) return false;
    // RFC 9051 6.3.4: inferiors stay; subscriptions are names and stay too (6.3.7).
    let bytes = 0;
    for (const r of s.contents.all(b.id) as { blob_id: string; n: number; bytes: number }[]) {
      s.refs.run(-r.n, r.blob_id);
      bytes += r.bytes;
    }
    s.deleteBox.run(b.id);
    s.useUidValidity.run(accountId, b.uid_validity);
    if (bytes) s.usage.run(-bytes, accountId);
    return true;
  });

  const renameMailbox = db.transaction((accountId: number, rawFrom: string, rawTo: string, now: number): void => {
    const from = normalizeMailboxName(rawFrom);
    const to = checkMailboxName(rawTo);
    const source = box(accountId, from);
    if (!source) throw new MailstoreError("NOT_FOUND", "no such mailbox");
    if (to === "INBOX" || box(accountId, to)) throw new MailstoreError("EXISTS", "target mailbox already exists");
    if (from === "INBOX") {
      // RFC 9051 6.3.6: the messages move to a new mailbox (new UIDVALIDITY, UIDs kept), INBOX
      // stays, empty, its inferiors untouched; for INBOX's sessions the messages are expunged.
      const id = createTree(accountId, to, null, now, { uidNext: source.uid_next, modseq: source.highest_modseq });
      const moved = s.allMessages.all(source.id) as { uid: number; flags: string; size: number }[];
      if (moved.length === 0) return;
      s.moveAll.run(id, source.id);
      const modseq = source.highest_modseq + 1;
      for (const m of moved) s.recordExpunged.run(source.id, m.uid, modseq);
      s.bump.run(source.uid_next, modseq, source.id);
      // INBOX is left empty; the new mailbox counts what it received.
      const t = tally(moved);
      s.setCount.run(t.messages, t.unseen, t.size, id);
      s.setCount.run(0, 0, 0, source.id);
      return;
    }
    if (isAtOrBelow(to, from)) throw new MailstoreError("INVALID", "a mailbox cannot be moved below itself");
    const tree = s.tree.all(accountId, from, `${from}/`, `${from}/`) as BoxRow[];
    for (const b of tree) if (box(accountId, renamed(b.name, from, to))) throw new MailstoreError("EXISTS", "target mailbox already exists");
    for (const sup of superiors(to)) {
      if (box(accountId, sup)) continue;
      s.insertBox.run(accountId, sup, null, uidValidity(accountId, now), 1, 1);
      s.subscribe.run(accountId, sup);
    }
    for (const b of tree) {
      const name = renamed(b.name, from, to);
      s.renameBox.run(name, b.id);
      // Subscriptions follow the mailboxes they name.
      if (s.unsubscribe.run(accountId, b.name).changes > 0) s.subscribe.run(accountId, name);
    }
  });

  const setSubscribed = db.transaction((accountId: number, rawName: string, subscribed: boolean): void => {
    const name = checkMailboxName(rawName);
    if (subscribed) s.subscribe.run(accountId, name);
    else s.unsubscribe.run(accountId, name);
  });

  const storeFlags = db.transaction((change: FlagChange): FlagChangeResult => {
    const result: FlagChangeResult = { updated: [], modified: [] };
    const b = s.boxById.get(change.mailboxId) as BoxRow | undefined;
    if (!b || change.uids.length === 0) return result;
    const rows = s.messages.all(b.id, JSON.stringify([...new Set(change.uids)])) as MessageRow[];
    const plan = planFlagChange(rows, change, b.highest_modseq + 1);
    for (const u of plan.updated) s.setFlags.run(u.flags.join(" "), u.modseq, b.id, u.uid);
    if (plan.updated.length > 0) s.flagsChanged.run(b.highest_modseq + 1, plan.unseenDelta, b.id);
    return { updated: plan.updated, modified: plan.modified };
  });

  const append = db.transaction((input: AppendInput): { mailboxId: number; uidValidity: number; uid: number } => {
    const b = box(input.accountId, normalizeMailboxName(input.mailbox));
    if (!b) throw new MailstoreError("NOT_FOUND", "no such mailbox");
    const account = s.account.get(input.accountId) as { quota: number | null; used_bytes: number };
    const size = input.blob.size;
    if (account.quota !== null && account.used_bytes + size > account.quota) throw new MailstoreError("OVER_QUOTA", "quota exceeded");
    s.blobInsert.run(input.blob.id, size, input.blob.data ? asBuffer(input.blob.data) : null, JSON.stringify(input.blob.parsed ?? null));
    const uid = b.uid_next;
    const modseq = b.highest_modseq + 1;
    const flags = canonicalFlags(input.flags);
    s.messageInsert.run(b.id, uid, modseq, flags.join(" "), input.internalDate, size, input.blob.id, Buffer.alloc(0));
    s.bump.run(uid + 1, modseq, b.id);
    s.count.run(1, isSeen(flags) ? 0 : 1, size, b.id);
    s.usage.run(size, input.accountId);
    return { mailboxId: b.id, uidValidity: b.uid_validity, uid };
  });

  /** COPY (RFC 4315 COPYUID), or MOVE (RFC 6851): the rows change mailbox, then the source's expunge is recorded. */
  const transfer = db.transaction((fromId: number, uids: readonly number[], toId: number, move: boolean): CopyResult => {
    const src = s.boxById.get(fromId) as BoxRow | undefined;
    const dst = s.boxById.get(toId) as BoxRow | undefined;
    if (!src || !dst) throw new MailstoreError("NOT_FOUND", "no such mailbox");
    const rows = uids.length ? (s.messages.all(src.id, JSON.stringify([...new Set(uids)])) as MessageRow[]) : [];
    const result: CopyResult = { uidValidity: dst.uid_validity, map: [] };
    if (rows.length === 0) return result;
    const bytes = rows.reduce((n, r) => n + r.size, 0);
    // A move within one account takes no room.
    if (!move || src.account_id !== dst.account_id) {
      const account = s.account.get(dst.account_id) as { quota: number | null; used_bytes: number };
      if (account.quota !== null && account.used_bytes + bytes > account.quota) throw new MailstoreError("OVER_QUOTA", "quota exceeded");
    }
    const modseq = dst.highest_modseq + 1;
    let uid = dst.uid_next;
    for (const r of rows) {
      if (move) s.moveMessage.run(dst.id, uid, modseq, src.id, r.uid);
      else {
        s.copyMessage.run(dst.id, uid, modseq, src.id, r.uid);
        s.refs.run(1, r.blob_id);
      }
      result.map.push([r.uid, uid++]);
    }
    s.bump.run(uid, modseq, dst.id);
    const t = tally(rows);
    s.count.run(t.messages, t.unseen, t.size, dst.id);
    if (move) s.count.run(-t.messages, -t.unseen, -t.size, src.id);
    if (!move || src.account_id !== dst.account_id) s.usage.run(bytes, dst.account_id);
    if (move) {
      // Re-read: the source may be the destination.
      const now = s.boxById.get(src.id) as BoxRow;
      const gone = now.highest_modseq + 1;
      for (const r of rows) s.recordExpunged.run(src.id, r.uid, gone);
      s.bump.run(now.uid_next, gone, src.id);
      if (src.account_id !== dst.account_id) s.usage.run(-bytes, src.account_id);
    }
    return result;
  });

  /**
   * Several APPENDs (from any sessions) in one transaction: one fsync for the lot (group
   * commit). Each runs in its own savepoint, so one refused message (quota, no mailbox) leaves
   * the others in.
   */
  const appendBatch = db.transaction((inputs: readonly AppendInput[]): Outcome<{ mailboxId: number; uidValidity: number; uid: number }>[] =>
    inputs.map((input) => {
      try {
        return { value: append(input) };
      } catch (e) {
        if (e instanceof MailstoreError) return { error: { code: e.code, message: e.message } };
        throw e;
      }
    }),
  );

  const parsedUpdate = db.prepare("UPDATE blobs SET parsed = ? WHERE id = ?");
  /** Re-indexing: new MIME parses (JSON) of stored blobs. */
  const setParsed = db.transaction((items: readonly { id: string; parsed: string }[]) => {
    for (const i of items) parsedUpdate.run(i.parsed, i.id);
  });

  return {
    imapAppendBatch: (inputs: readonly AppendInput[]) => appendBatch.immediate(inputs),
    setBlobParsed: (items: readonly { id: string; parsed: string }[]) => setParsed.immediate(items),
    imapCreateMailbox: guarded(createMailbox),
    imapDeleteMailbox: guarded(deleteMailbox),
    imapRenameMailbox: guarded(renameMailbox),
    imapSetSubscribed: guarded(setSubscribed),
    imapStoreFlags: guarded(storeFlags),
    imapAppend: guarded(append),
    imapTransfer: guarded(transfer),
  };
}

/** Structured clone (writer thread) turns Buffers into Uint8Arrays; SQLite wants Buffers. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
