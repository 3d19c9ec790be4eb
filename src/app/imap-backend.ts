/**
 * ImapBackend over the store: accounts and passwords from the Directory, mailboxes and messages
 * from the Mailstore, change notification from MailboxEvents. Messages are served as IMAP
 * counts them: the delivery prefix (Return-Path, Delivered-To) followed by the stored blob, with
 * the stored MIME parse shifted to index those octets.
 */
import { createHash } from "node:crypto";
import type { Directory, ImapMailstore, Mailbox, MailMessage, Mailstore } from "../store/types.js";
import { MailstoreError } from "../store/types.js";
import { parseMessage, type MimePart, type ParsedMessage } from "../mime/index.js";
import { searchHeaders } from "../mime/search.js";
import { ImapBackendError, type ImapAccount, type ImapBackend, type ImapMailboxInfo, type ImapMessageMeta } from "../imap/backend.js";
import type { MailboxEvents } from "./mailbox-events.js";

/** Mailboxes every account has, so that clients find Sent, Drafts... at once (RFC 6154). */
export const DEFAULT_MAILBOXES: ReadonlyArray<{ name: string; specialUse: string | null }> = [
  { name: "INBOX", specialUse: null },
  { name: "Drafts", specialUse: "\\Drafts" },
  { name: "Sent", specialUse: "\\Sent" },
  { name: "Archive", specialUse: "\\Archive" },
  { name: "Junk", specialUse: "\\Junk" },
  { name: "Trash", specialUse: "\\Trash" },
];

/** Message locations (blob id and delivery prefix) kept in memory, in whole mailboxes. */
const LOCATION_CACHE_ENTRIES = 500_000;

/** What is needed to serve a message: its blob and the delivery prefix served before it. */
type Located = Pick<MailMessage, "blobId" | "prefix">;

/** Parsed structures kept in memory, by blob, bounded by the size of their search text. */
const STRUCTURE_CACHE_BYTES = 64 * 1024 * 1024;

export type PasswordCheck = (user: string, pass: string, remoteIp: string) => Promise<ImapAccount | null>;

export interface ImapBackendDeps {
  directory: Directory;
  mailstore: Mailstore & ImapMailstore;
  events: MailboxEvents;
  /** The shared authenticator (lockout, equal timing). */
  checkPassword: PasswordCheck;
}

const toInfo = (m: Mailbox): ImapMailboxInfo => ({
  id: m.id,
  name: m.name,
  specialUse: m.specialUse,
  subscribed: m.subscribed,
  uidValidity: m.uidValidity,
  uidNext: m.uidNext,
  highestModseq: m.highestModseq,
  messages: m.messages,
  unseen: m.unseen,
  size: m.size,
});

const toMeta = (m: MailMessage): ImapMessageMeta => ({ uid: m.uid, modseq: m.modseq, flags: m.flags, internalDate: m.internalDate, size: m.size });

/** Offsets of a parse of the blob, moved to index prefix + blob; the prefix joins the top header. */
export function shiftParsed(p: ParsedMessage, by: number): ParsedMessage {
  if (by === 0) return p;
  const shift = (part: MimePart, top: boolean): MimePart => ({
    ...part,
    headerStart: top ? 0 : part.headerStart + by,
    headerEnd: part.headerEnd + by,
    bodyStart: part.bodyStart + by,
    bodyEnd: part.bodyEnd + by,
    children: part.children.map((c) => shift(c, false)),
  });
  return { ...p, size: p.size + by, headerEnd: p.headerEnd + by, root: shift(p.root, true) };
}

function mapStoreError(e: unknown): never {
  if (e instanceof MailstoreError) {
    const code = ({ EXISTS: "ALREADYEXISTS", NOT_FOUND: "NONEXISTENT", OVER_QUOTA: "OVERQUOTA", INVALID: "CANNOT", CANNOT: "CANNOT" } as const)[e.code];
    throw new ImapBackendError(code, e.message);
  }
  throw e;
}

export function createImapBackend(deps: ImapBackendDeps): ImapBackend {
  const { directory, mailstore, events } = deps;
  const prepared = new Set<number>();
  const cache = new Map<string, { parsed: ParsedMessage; cost: number }>();
  let cacheBytes = 0;

  /** INBOX and the special-use mailboxes, created once per account (idempotent across nodes). */
  async function ensureDefaults(accountId: number): Promise<void> {
    if (prepared.has(accountId)) return;
    const have = new Set((await mailstore.listMailboxes(accountId)).map((m) => m.name));
    for (const d of DEFAULT_MAILBOXES) {
      if (have.has(d.name)) continue;
      try {
        await mailstore.createMailbox(accountId, d.name, d.specialUse);
        await mailstore.setSubscribed(accountId, d.name, true);
      } catch (e) {
        if (!(e instanceof MailstoreError && e.code === "EXISTS")) throw e;
      }
    }
    prepared.add(accountId);
  }

  async function mailboxByName(accountId: number, name: string): Promise<Mailbox> {
    const box = await mailstore.getMailbox(accountId, name);
    if (!box) throw new ImapBackendError("NONEXISTENT", `no mailbox ${name}`);
    return box;
  }

  /**
   * Where each message's octets are. A (mailbox, UID) never changes its blob or delivery
   * prefix (UIDs are not reused), so this is filled from SELECT's listing and later changes
   * and never goes stale: SEARCH and FETCH then read no message rows at all.
   */
  const locations = new Map<number, Map<number, Located>>();
  let locationCount = 0;
  function remember(mailboxId: number, rows: readonly MailMessage[], replace: boolean): void {
    let map = locations.get(mailboxId);
    if (map && replace) {
      locationCount -= map.size;
      map = undefined;
    }
    if (map) locations.delete(mailboxId); // re-inserted below: most recently used last
    map ??= new Map();
    for (const r of rows) {
      if (map.has(r.uid)) continue;
      map.set(r.uid, { blobId: r.blobId, prefix: r.prefix });
      locationCount++;
    }
    locations.set(mailboxId, map);
    // Bounded: whole mailboxes, least recently listed first, go when there are too many.
    while (locationCount > LOCATION_CACHE_ENTRIES && locations.size > 1) {
      const [oldest, m] = locations.entries().next().value!;
      locations.delete(oldest);
      locationCount -= m.size;
    }
  }

  async function blobStructure(m: Located): Promise<ParsedMessage | null> {
    const hit = cache.get(m.blobId);
    let parsed: ParsedMessage | null;
    if (hit) {
      // Refresh its place: the least recently used go first.
      cache.delete(m.blobId);
      cache.set(m.blobId, hit);
      parsed = hit.parsed;
    } else {
      parsed = (await mailstore.parsed(m.blobId)) as ParsedMessage | null;
      if (!parsed) {
        // A blob stored without its parse (should not happen): parse it now.
        const raw = await mailstore.blob(m.blobId);
        if (!raw) return null;
        parsed = parseMessage(raw);
      }
      const cost = 1024 + parsed.searchBody.length + parsed.searchHeaders.length;
      cache.set(m.blobId, { parsed, cost });
      cacheBytes += cost;
      while (cacheBytes > STRUCTURE_CACHE_BYTES && cache.size > 1) {
        const [k, v] = cache.entries().next().value!;
        cache.delete(k);
        cacheBytes -= v.cost;
      }
    }
    const shifted = shiftParsed(parsed, m.prefix.length);
    // The prefix (Return-Path, Delivered-To) is part of the header IMAP serves (FETCH
    // BODY[HEADER] shows it), so SEARCH HEADER / TEXT must find its fields too.
    return m.prefix.length ? { ...shifted, searchHeaders: searchHeaders(m.prefix, 0, m.prefix.length) + shifted.searchHeaders } : shifted;
  }

  /**
   * Message rows asked for in the same turn of the event loop (SEARCH loads many structures at
   * once, FETCH of a range) are read with one query per mailbox instead of one per message.
   */
  const pendingRows = new Map<number, Map<number, { resolve: (m: Located | null) => void; reject: (e: unknown) => void }[]>>();
  function one(mailboxId: number, uid: number): Promise<Located | null> {
    const known = locations.get(mailboxId)?.get(uid);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      let wanted = pendingRows.get(mailboxId);
      if (!wanted) {
        pendingRows.set(mailboxId, (wanted = new Map()));
        setImmediate(() => {
          pendingRows.delete(mailboxId);
          const asked = wanted!;
          mailstore.getMessages(mailboxId, [...asked.keys()].sort((a, b) => a - b)).then(
            (rows) => {
              remember(mailboxId, rows, false);
              const byUid = new Map(rows.map((r) => [r.uid, r]));
              for (const [u, waiters] of asked) for (const w of waiters) w.resolve(byUid.get(u) ?? null);
            },
            (err) => {
              for (const waiters of asked.values()) for (const w of waiters) w.reject(err);
            },
          );
        });
      }
      const list = wanted.get(uid);
      if (list) list.push({ resolve, reject });
      else wanted.set(uid, [{ resolve, reject }]);
    });
  }

  return {
    async authenticate(user, pass, remoteIp) {
      const account = await deps.checkPassword(user, pass, remoteIp);
      if (account) await ensureDefaults(account.accountId);
      return account;
    },

    async listMailboxes(accountId) {
      await ensureDefaults(accountId);
      return (await mailstore.listMailboxes(accountId)).map(toInfo);
    },
    subscriptions: (accountId) => mailstore.subscriptions(accountId),
    async getMailbox(accountId, name) {
      const box = await mailstore.getMailbox(accountId, name);
      return box ? toInfo(box) : null;
    },
    async createMailbox(accountId, name, specialUse) {
      await mailstore.createMailbox(accountId, name, specialUse ?? null).catch(mapStoreError);
    },
    async deleteMailbox(accountId, name) {
      if (name.toUpperCase() === "INBOX") throw new ImapBackendError("CANNOT", "INBOX cannot be deleted");
      const gone = await mailstore.deleteMailbox(accountId, name).catch(mapStoreError);
      if (!gone) throw new ImapBackendError("NONEXISTENT", `no mailbox ${name}`);
    },
    async renameMailbox(accountId, from, to) {
      await mailstore.renameMailbox(accountId, from, to).catch(mapStoreError);
    },
    async setSubscribed(accountId, name, subscribed) {
      await mailstore.setSubscribed(accountId, name, subscribed).catch(mapStoreError);
    },

    async messages(mailboxId) {
      const rows = await mailstore.listMessages(mailboxId);
      remember(mailboxId, rows, true);
      return rows.map(toMeta);
    },
    async changes(mailboxId, sinceModseq) {
      const box = await mailstore.getMailboxById(mailboxId);
      if (!box) throw new ImapBackendError("NONEXISTENT", "the mailbox was deleted");
      if (box.highestModseq <= sinceModseq) return { mailbox: toInfo(box), changed: [], expunged: [] };
      const [changed, expunged] = await Promise.all([mailstore.changedSince(mailboxId, sinceModseq), mailstore.expungedSince(mailboxId, sinceModseq)]);
      if (locations.has(mailboxId)) remember(mailboxId, changed, false);
      return { mailbox: toInfo(box), changed: changed.map(toMeta), expunged };
    },
    async content(mailboxId, uid) {
      const m = await one(mailboxId, uid);
      if (!m) return null;
      const [blob, parsed] = await Promise.all([mailstore.blob(m.blobId), blobStructure(m)]);
      if (!blob || !parsed) return null;
      return { raw: m.prefix.length ? Buffer.concat([m.prefix, blob]) : blob, parsed };
    },
    async structure(mailboxId, uid) {
      const m = await one(mailboxId, uid);
      return m ? blobStructure(m) : null;
    },

    storeFlags: (mailboxId, uids, op, flags, unchangedSince) => mailstore.storeFlags({ mailboxId, uids, op, flags, unchangedSince }).catch(mapStoreError),
    async append(accountId, name, raw, flags, internalDate) {
      const parsed = parseMessage(raw);
      const blob = { id: createHash("sha256").update(raw).digest("hex"), data: raw, size: raw.length, parsed };
      const r = await mailstore.append({ accountId, mailbox: name, internalDate: internalDate ?? Date.now(), flags, blob }).catch(mapStoreError);
      return { uidValidity: r.uidValidity, uid: r.uid };
    },
    async copy(mailboxId, uids, accountId, to) {
      const dest = await mailboxByName(accountId, to);
      return mailstore.copy(mailboxId, uids, dest.id).catch(mapStoreError);
    },
    async move(mailboxId, uids, accountId, to) {
      const dest = await mailboxByName(accountId, to);
      return mailstore.move(mailboxId, uids, dest.id).catch(mapStoreError);
    },
    expunge: (mailboxId, uids) => mailstore.expunge(mailboxId, uids),
    async quota(accountId) {
      const a = await directory.getAccountById(accountId);
      return { used: a?.usedBytes ?? 0, limit: a?.quota ?? null };
    },

    watch(mailboxId, listener) {
      let unsubscribe: (() => void) | undefined;
      let cancelled = false;
      // The account is needed so that a delivery (which names accounts) wakes the mailbox.
      void mailstore.getMailboxById(mailboxId).then((box) => {
        if (box && !cancelled) unsubscribe = events.watch(mailboxId, box.accountId, listener);
      });
      return () => {
        cancelled = true;
        unsubscribe?.();
      };
    },
  };
}
