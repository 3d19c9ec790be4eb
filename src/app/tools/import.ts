/**
 * `petrel import`: existing mail (Maildir or mbox) into an account, through the mailstore's
 * append, as an IMAP APPEND would do it: the blob content-addressed by its sha256, parsed once
 * with mime/ parseMessage, flags and internal date kept, mailboxes created (and subscribed) as
 * needed.
 *
 * Restartable without duplicates: a message whose sha256 (of the octets as stored, after the
 * CRLF conversion) is already in the target mailbox is skipped. The hash rather than the
 * Message-ID, because the hash says "the very same message": Message-IDs are missing, reused by
 * broken software, and shared by legitimately different copies (a sent copy and the copy that
 * came back from a list, a draft and the sent message). An interrupted import run again imports
 * exactly what is missing; a message deliberately kept twice in a source mailbox is kept once.
 */
import { createHash } from "node:crypto";
import { parseMessage } from "../../mime/index.js";
import { MailstoreError, type Store } from "../../store/types.js";
import { detectFormat, maildirFolders, mboxFolder, type SourceFolder, type SourceFormat } from "./mail-sources.js";

/** Appends in flight at once during an import. */
const IMPORT_WINDOW = 64;

export interface ImportOptions {
  account: string;
  path: string;
  /** Target for the top folder (default INBOX); subfolders go below it, except below INBOX. */
  mailbox?: string;
  format: SourceFormat | "auto";
  /** Called often; the caller decides how often to show it. */
  onProgress?(p: ImportProgress): void;
}

export interface ImportProgress {
  folder: string;
  imported: number;
  skipped: number;
  failed: number;
  /** Units done and total over every folder (messages for a Maildir, octets for an mbox). */
  done: number;
  total: number;
  unit: "messages" | "bytes";
}

export interface ImportResult {
  imported: number;
  skipped: number;
  failed: number;
  mailboxes: { name: string; imported: number; skipped: number; failed: number }[];
  errors: string[];
}

/** Where a source folder goes: "" -> the target (INBOX by default); "Sub/X" -> "Sub/X", or "<target>/Sub/X" with --mailbox. */
export function targetName(folder: string, mailbox: string | undefined): string {
  if (folder === "") return mailbox ?? "INBOX";
  if (!mailbox || mailbox.toUpperCase() === "INBOX") return folder;
  return `${mailbox}/${folder}`;
}

export async function importMail(store: Store, o: ImportOptions): Promise<ImportResult> {
  const account = await store.directory.getAccount(o.account);
  if (!account) throw new Error(`no account ${o.account}`);
  const format = o.format === "auto" ? await detectFormat(o.path) : o.format;
  const folders: SourceFolder[] = format === "maildir" ? await maildirFolders(o.path) : [await mboxFolder(o.path)];
  if (folders.length === 0) throw new Error(`${o.path}: no Maildir folders found`);
  const unit = folders[0]!.unit;
  const total = folders.reduce((n, f) => n + f.size, 0);
  const result: ImportResult = { imported: 0, skipped: 0, failed: 0, mailboxes: [], errors: [] };
  let before = 0;
  for (const folder of folders) {
    const name = targetName(folder.name, o.mailbox);
    const box = await ensureMailbox(store, account.id, name);
    // What the mailbox holds already, by content hash (blob ids are sha256 hex).
    const present = new Set((await store.mailstore.listMessages(box)).map((m) => m.blobId));
    const stats = { name, imported: 0, skipped: 0, failed: 0 };
    result.mailboxes.push(stats);
    let done = 0;
    const report = () => o.onProgress?.({ folder: name, imported: result.imported, skipped: result.skipped, failed: result.failed, done: before + done, total, unit });
    // Up to IMPORT_WINDOW appends in flight: the store commits those that arrive together in
    // one transaction (group commit), in the order they were given, so UIDs follow the source.
    const inflight: Promise<void>[] = [];
    let overQuota: Error | undefined;
    for await (const m of folder.messages((d) => ((done = d), report()))) {
      if (overQuota) break;
      const id = createHash("sha256").update(m.raw).digest("hex");
      if (present.has(id)) {
        stats.skipped++;
        result.skipped++;
        continue;
      }
      present.add(id);
      let parsed;
      try {
        parsed = parseMessage(m.raw);
      } catch (e) {
        present.delete(id);
        stats.failed++;
        result.failed++;
        if (result.errors.length < 20) result.errors.push(`${m.origin}: ${(e as Error).message}`);
        continue;
      }
      inflight.push(
        store.mailstore.append({ accountId: account.id, mailbox: name, internalDate: m.internalDate, flags: m.flags, blob: { id, data: m.raw, size: m.raw.length, parsed } }).then(
          () => {
            stats.imported++;
            result.imported++;
          },
          (e: unknown) => {
            present.delete(id);
            // Over quota: nothing more will fit; stop here (a later run continues where this stopped).
            if (e instanceof MailstoreError && e.code === "OVER_QUOTA") {
              overQuota ??= new Error(`${account.address} is over its quota after ${result.imported} message(s); raise it (petrel user quota) and run the import again`);
              return;
            }
            stats.failed++;
            result.failed++;
            if (result.errors.length < 20) result.errors.push(`${m.origin}: ${(e as Error).message}`);
          },
        ),
      );
      if (inflight.length >= IMPORT_WINDOW) await inflight.shift();
    }
    await Promise.all(inflight);
    if (overQuota) throw overQuota;
    before += folder.size;
    done = 0;
    report();
  }
  return result;
}

async function ensureMailbox(store: Store, accountId: number, name: string): Promise<number> {
  const existing = await store.mailstore.getMailbox(accountId, name);
  if (existing) return existing.id;
  try {
    const box = await store.mailstore.createMailbox(accountId, name);
    await store.mailstore.setSubscribed(accountId, name, true);
    return box.id;
  } catch (e) {
    // Created meanwhile (an IMAP client, another import): use it.
    if (e instanceof MailstoreError && e.code === "EXISTS") {
      const box = await store.mailstore.getMailbox(accountId, name);
      if (box) return box.id;
    }
    throw e;
  }
}
