/**
 * Mailboxes and messages in SQLite. Message bodies are content-addressed blobs (sha256),
 * stored once however many recipients share them: small ones in the database, large ones
 * as files that are fsynced before the transaction that references them commits.
 */
import { toMessage, type MessageRow } from "../rows.js";
import { BlobFiles } from "../blob-files.js";
import { Batcher } from "../../core/batcher.js";
import type { Db } from "./database.js";
import type { Writer } from "./writer.js";
import type { Outcome } from "./write-ops-imap.js";
import { normalizeMailboxName } from "../imap-rules.js";
import { DELIVERIES_OF, toDeliveryRecord, type DeliveryRow } from "../rows-deliveries.js";
import { MailstoreError, type DeliveryRecord, type AppendInput, type CopyResult, type DeliveryItemResult, type FlagChange, type FlagChangeResult, type ImapMailstore, type LocalDelivery, type MailMessage, type Mailbox, type Mailstore } from "../types.js";

interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  special_use: string | null;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  subscribed: 0 | 1;
  messages: number;
  unseen: number;
  size: number;
}

// Named columns: mailboxes.subscribed (v2) is replaced by the subscriptions table (v3). The
// status counters are columns of the row, kept by the writes (write-ops*.ts): no message scan.
const MAILBOX_COLUMNS = `b.id, b.account_id, b.name, b.special_use, b.uid_validity, b.uid_next, b.highest_modseq,
  EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = b.account_id AND s.name = b.name) AS subscribed,
  b.messages, b.unseen, b.size`;


/** The value of a write op, or its MailstoreError thrown again (it crossed the writer thread as data). */
function unwrap<T>(o: Outcome<T>): T {
  if ("error" in o) throw new MailstoreError(o.error.code, o.error.message);
  return o.value;
}

const toMailbox = (r: MailboxRow): Mailbox => ({ id: r.id, accountId: r.account_id, name: r.name, specialUse: r.special_use, uidValidity: r.uid_validity, uidNext: r.uid_next, highestModseq: r.highest_modseq, subscribed: r.subscribed === 1, messages: r.messages, unseen: r.unseen, size: r.size });

export class SqliteMailstore implements Mailstore, ImapMailstore {
  private readonly stmt;
  private readonly files: BlobFiles;

  /** Blobs in use (referenced by a message), for re-indexing. */
  private readonly reindex;

  constructor(
    db: Db,
    private readonly writer: Writer,
    blobDir: string,
    private readonly inlineMax: number,
  ) {
    this.files = new BlobFiles(blobDir);
    const ofAccount = "SELECT DISTINCT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = ?";
    this.reindex = {
      all: db.prepare("SELECT id FROM blobs WHERE refs > 0 AND id > ? ORDER BY id LIMIT ?").pluck(),
      ofAccount: db.prepare(`${ofAccount} AND m.blob_id > ? ORDER BY m.blob_id LIMIT ?`).pluck(),
      countAll: db.prepare("SELECT count(*) FROM blobs WHERE refs > 0").pluck(),
      countOfAccount: db.prepare(`SELECT count(*) FROM (${ofAccount})`).pluck(),
    };
    this.stmt = {
      mailboxes: db.prepare(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes b WHERE b.account_id = ? ORDER BY b.name`),
      mailbox: db.prepare(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes b WHERE b.account_id = ? AND b.name = ?`),
      mailboxById: db.prepare(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes b WHERE b.id = ?`),
      messages: db.prepare("SELECT * FROM messages WHERE mailbox_id = ? ORDER BY uid"),
      deliveriesOf: db.prepare(DELIVERIES_OF),
      some: db.prepare("SELECT * FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid"),
      changed: db.prepare("SELECT * FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid"),
      expunged: db.prepare("SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid").pluck(),
      subscriptions: db.prepare("SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name").pluck(),
      blob: db.prepare("SELECT data FROM blobs WHERE id = ?"),
      parsed: db.prepare("SELECT parsed FROM blobs WHERE id = ?").pluck(),
    };
  }

  async deliver(batch: readonly LocalDelivery[]): Promise<DeliveryItemResult[][]> {
    const prepared: LocalDelivery[] = [];
    for (const d of batch) {
      if (!d.blob.data || d.blob.size <= this.inlineMax) {
        prepared.push(d);
        continue;
      }
      await this.files.write(d.blob.id, d.blob.data);
      // The row records the blob without data: the file holds it.
      prepared.push({ ...d, blob: { ...d.blob, data: null } });
    }
    return this.writer.run("deliver", prepared);
  }

  async listMailboxes(accountId: number): Promise<Mailbox[]> {
    return (this.stmt.mailboxes.all(accountId) as MailboxRow[]).map(toMailbox);
  }

  async getMailbox(accountId: number, name: string): Promise<Mailbox | null> {
    const r = this.stmt.mailbox.get(accountId, normalizeMailboxName(name)) as MailboxRow | undefined;
    return r ? toMailbox(r) : null;
  }

  async deliveriesOf(queueId: string): Promise<DeliveryRecord[]> {
    return (this.stmt.deliveriesOf.all(queueId) as DeliveryRow[]).map(toDeliveryRecord);
  }

  async listMessages(mailboxId: number): Promise<MailMessage[]> {
    return (this.stmt.messages.all(mailboxId) as MessageRow[]).map(toMessage);
  }

  expunge(mailboxId: number, uids: readonly number[]): Promise<number[]> {
    return this.writer.run("expunge", mailboxId, uids);
  }

  async getMailboxById(mailboxId: number): Promise<Mailbox | null> {
    const r = this.stmt.mailboxById.get(mailboxId) as MailboxRow | undefined;
    return r ? toMailbox(r) : null;
  }

  async createMailbox(accountId: number, name: string, specialUse: string | null = null): Promise<Mailbox> {
    const id = unwrap(await this.writer.run("imapCreateMailbox", accountId, name, specialUse, Date.now()));
    return (await this.getMailboxById(id))!;
  }

  async deleteMailbox(accountId: number, name: string): Promise<boolean> {
    return unwrap(await this.writer.run("imapDeleteMailbox", accountId, name));
  }

  async renameMailbox(accountId: number, from: string, to: string): Promise<void> {
    unwrap(await this.writer.run("imapRenameMailbox", accountId, from, to, Date.now()));
  }

  async setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void> {
    unwrap(await this.writer.run("imapSetSubscribed", accountId, name, subscribed));
  }

  async subscriptions(accountId: number): Promise<string[]> {
    return this.stmt.subscriptions.all(accountId) as string[];
  }

  async getMessages(mailboxId: number, uids: readonly number[]): Promise<MailMessage[]> {
    if (uids.length === 0) return [];
    return (this.stmt.some.all(mailboxId, JSON.stringify(uids)) as MessageRow[]).map(toMessage);
  }

  async changedSince(mailboxId: number, since: number): Promise<MailMessage[]> {
    return (this.stmt.changed.all(mailboxId, since) as MessageRow[]).map(toMessage);
  }

  async expungedSince(mailboxId: number, since: number): Promise<number[]> {
    return this.stmt.expunged.all(mailboxId, since) as number[];
  }

  async storeFlags(change: FlagChange): Promise<FlagChangeResult> {
    return unwrap(await this.writer.run("imapStoreFlags", { ...change, uids: [...change.uids], flags: [...change.flags] }));
  }

  async append(input: AppendInput): Promise<{ mailboxId: number; uidValidity: number; uid: number }> {
    let blob = input.blob;
    if (blob.data && blob.size > this.inlineMax) {
      await this.files.write(blob.id, blob.data);
      blob = { ...blob, data: null };
    }
    return unwrap(await this.appends.add({ ...input, flags: [...input.flags], blob }));
  }

  /** APPENDs arriving together (a pipelining client, many sessions) share one transaction. */
  private readonly appends = new Batcher<AppendInput, Outcome<{ mailboxId: number; uidValidity: number; uid: number }>>((items) => this.writer.run("imapAppendBatch", items), 200);

  async copy(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult> {
    return unwrap(await this.writer.run("imapTransfer", fromMailboxId, [...uids], toMailboxId, false));
  }

  async move(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult> {
    return unwrap(await this.writer.run("imapTransfer", fromMailboxId, [...uids], toMailboxId, true));
  }

  async blob(blobId: string): Promise<Buffer | null> {
    const r = this.stmt.blob.get(blobId) as { data: Buffer | null } | undefined;
    if (!r) return null;
    return r.data ?? this.files.read(blobId);
  }

  async parsed(blobId: string): Promise<unknown> {
    const p = this.stmt.parsed.get(blobId) as string | undefined;
    return p === undefined ? null : JSON.parse(p);
  }

  async blobIds(after: string | null, limit: number, accountId?: number): Promise<string[]> {
    return (accountId === undefined ? this.reindex.all.all(after ?? "", limit) : this.reindex.ofAccount.all(accountId, after ?? "", limit)) as string[];
  }

  async countBlobs(accountId?: number): Promise<number> {
    return (accountId === undefined ? this.reindex.countAll.get() : this.reindex.countOfAccount.get(accountId)) as number;
  }

  async setParsed(items: readonly { id: string; parsed: unknown }[]): Promise<void> {
    await this.writer.run("setBlobParsed", items.map((i) => ({ id: i.id, parsed: JSON.stringify(i.parsed) })));
  }
}
