/**
 * Mailboxes and messages in SQLite. Message bodies are content-addressed blobs (sha256),
 * stored once however many recipients share them: small ones in the database, large ones
 * as files that are fsynced before the transaction that references them commits.
 */
import { randomBytes } from "node:crypto";
import { BlobFiles } from "../blob-files.js";
import type { Db } from "./database.js";
import type { Writer } from "./writer.js";
import type { DeliveryItemResult, LocalDelivery, MailMessage, Mailbox, Mailstore } from "../types.js";

interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  special_use: string | null;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
  subscribed: number;
  messages: number;
  unseen: number;
  size: number;
}

const MAILBOX_COLUMNS = `b.*, (SELECT count(*) FROM messages m WHERE m.mailbox_id = b.id) AS messages,
  (SELECT count(*) FROM messages m WHERE m.mailbox_id = b.id AND (' ' || m.flags || ' ') NOT LIKE '% \\Seen %') AS unseen,
  (SELECT coalesce(sum(size), 0) FROM messages m WHERE m.mailbox_id = b.id) AS size`;

const toMailbox = (r: MailboxRow): Mailbox => ({ id: r.id, accountId: r.account_id, name: r.name, specialUse: r.special_use, uidValidity: r.uid_validity, uidNext: r.uid_next, highestModseq: r.highest_modseq, subscribed: r.subscribed === 1, messages: r.messages, unseen: r.unseen, size: r.size });

export class SqliteMailstore implements Mailstore {
  private readonly stmt;
  private readonly files: BlobFiles;

  constructor(
    db: Db,
    private readonly writer: Writer,
    blobDir: string,
    private readonly inlineMax: number,
  ) {
    this.files = new BlobFiles(blobDir);
    this.stmt = {
      mailboxes: db.prepare(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes b WHERE b.account_id = ? ORDER BY b.name`),
      mailbox: db.prepare(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes b WHERE b.account_id = ? AND b.name = ?`),
      messages: db.prepare("SELECT * FROM messages WHERE mailbox_id = ? ORDER BY uid"),
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
    const r = this.stmt.mailbox.get(accountId, name) as MailboxRow | undefined;
    return r ? toMailbox(r) : null;
  }

  async listMessages(mailboxId: number): Promise<MailMessage[]> {
    return (this.stmt.messages.all(mailboxId) as { mailbox_id: number; uid: number; modseq: number; flags: string; internal_date: number; size: number; blob_id: string; prefix: Buffer }[]).map((r) => ({
      mailboxId: r.mailbox_id,
      uid: r.uid,
      modseq: r.modseq,
      flags: r.flags ? r.flags.split(" ") : [],
      internalDate: r.internal_date,
      size: r.size,
      blobId: r.blob_id,
      prefix: r.prefix,
    }));
  }

  expunge(mailboxId: number, uids: readonly number[]): Promise<number[]> {
    return this.writer.run("expunge", mailboxId, uids);
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
}
