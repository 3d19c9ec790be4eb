/**
 * The storage contract. Backends (sqlite/, later postgres/) implement these interfaces and
 * pass one conformance suite. Everything is async so that a networked backend fits.
 */
import type { DmarcStore } from "./dmarc-types.js";
import type { DeliveryEventStore } from "./delivery-event-types.js";

/** DSN parameters kept per recipient (RFC 3461). */
export interface StoredRcptDsn {
  notify?: string[];
  orcpt?: { type: string; address: string };
}

export interface NewQueueRecipient {
  address: string;
  dsn: StoredRcptDsn;
}

export interface NewQueueMessage {
  id: string;
  createdAt: number;
  /** Envelope sender, "" for the null reverse-path. */
  sender: string;
  /** Size in octets of the stored message (Received: header included). */
  size: number;
  /** MAIL parameters and session facts, as JSON-serialisable data. */
  envelope: unknown;
  /** The message itself when kept in the database; null when it lives in a spool file. */
  body: Buffer | null;
  recipients: NewQueueRecipient[];
}

export type RecipientState = "queued" | "inflight" | "deferred" | "delivered" | "failed";

export interface QueueRecipient extends NewQueueRecipient {
  idx: number;
  state: RecipientState;
  nextAttemptAt: number;
  attempts: number;
  lastReply: string | null;
}

export interface QueueEntry {
  id: string;
  createdAt: number;
  sender: string;
  size: number;
  envelope: unknown;
  spooled: boolean;
  held: boolean;
  /** A delay DSN was sent for this message (only one is). Stores always set it; absent = false. */
  delayNotified?: boolean;
  recipients: QueueRecipient[];
}

/** deferred / failed: messages with a recipient in that state; held: messages on hold. */
export type QueueFilter = "deferred" | "failed" | "held";

export interface QueueListOptions {
  limit?: number;
  filter?: QueueFilter;
}

/** What an administrator's bounce did (`petrel queue bounce`). */
export interface BounceResult {
  /** unknown: no such message; changed: a recipient was no longer waiting (re-read, try again). */
  status: "bounced" | "changed" | "unknown";
  /** The message left the queue (its spool file can go). */
  deleted: boolean;
}

export interface QueueStore {
  /** Insert messages with their recipients in one durable transaction (group commit). */
  insert(batch: readonly NewQueueMessage[]): Promise<void>;
  list(opts?: QueueListOptions): Promise<QueueEntry[]>;
  get(id: string): Promise<QueueEntry | null>;
  /** The body kept in the database, or null when the message is spooled to a file. */
  inlineBody(id: string): Promise<Buffer | null>;
  /** Which of these ids have a queue row (for the spool sweep at start-up). */
  existing(ids: readonly string[]): Promise<Set<string>>;
  count(): Promise<number>;
  /** Recipients per state, every state present (0 when none): /metrics reads it on each scrape. */
  countByState(): Promise<Record<RecipientState, number>>;

  // Administration (`petrel queue ...`), safe while a server runs on the same store.
  /** Hold (no delivery attempts) or release a message; false when there is no such message. */
  setHeld(id: string, held: boolean): Promise<boolean>;
  /**
   * Make waiting (queued or deferred) recipients due at `now`: of one message, or of every
   * message when id is null. Returns how many recipients were made due.
   */
  retryNow(id: string | null, now: number): Promise<number>;
  /** Delete a message with its recipients and body row; null when absent. */
  remove(id: string): Promise<{ spooled: boolean } | null>;
  /**
   * In one transaction: these recipients (which must still be queued or deferred, otherwise
   * "changed" and nothing is written) fail with `reply`, the notices (DSNs) are queued, and the
   * message is deleted when nothing is left to do.
   */
  bounce(id: string, idxs: readonly number[], reply: string, now: number, notices: readonly NewQueueMessage[]): Promise<BounceResult>;
}

/** A recipient the scheduler leased for one delivery attempt. */
export interface DueRecipient extends QueueRecipient {
  messageId: string;
}

export type RecipientOutcome =
  | { idx: number; status: "delivered"; reply: string }
  /** notAttempted: nothing was tried (destination busy or over its rate): the attempt count stays. */
  | { idx: number; status: "deferred"; reply: string; nextAttemptAt: number; notAttempted?: boolean }
  | { idx: number; status: "failed"; reply: string };

/**
 * One message's attempt to record. The notices (DSNs caused by these outcomes, prepared with
 * Queue.prepare) are inserted in the same transaction as the outcomes, so a crash loses
 * neither or both; they are dropped when the message was deleted meanwhile (administrator).
 */
export interface FinishItem {
  messageId: string;
  outcomes: readonly RecipientOutcome[];
  notices?: readonly NewQueueMessage[];
  /**
   * The message's delay DSN: inserted, and the message marked delayNotified, only if it is not
   * marked yet (two attempts of one message at once still send one).
   */
  delayNotice?: NewQueueMessage;
}

export interface QueueScheduling {
  /**
   * Lease up to `limit` recipients whose next attempt is due (state queued or deferred, or
   * inflight with an expired lease: a crashed node's work is taken over). They become
   * inflight until `leaseUntil`.
   */
  claimDue(now: number, limit: number, leaseUntil: number, node: string): Promise<DueRecipient[]>;
  /** Record attempt outcomes (one transaction). */
  recordOutcomes(messageId: string, outcomes: readonly RecipientOutcome[], now: number): Promise<void>;
  /** Delete a message whose recipients are all delivered or failed; true when deleted. */
  deleteIfDone(messageId: string): Promise<boolean>;
  /**
   * Record the outcomes of several messages' attempts and delete the messages left with
   * nothing to do, in one transaction (group commit). Returns the deleted message ids.
   */
  finish(batch: readonly FinishItem[], now: number): Promise<string[]>;
  /** Release the leases a node holds (a restarted node takes its own work back at once). */
  releaseLeases(node: string): Promise<number>;
  /** Earliest next attempt among waiting recipients, or null when none wait. */
  nextDue(): Promise<number | null>;
}

export interface Domain {
  name: string;
  createdAt: number;
}

export interface Account {
  id: number;
  /** As created (Unicode domain); matched case-insensitively through its key. */
  address: string;
  displayName: string | null;
  /** Bytes; null = unlimited. */
  quota: number | null;
  usedBytes: number;
  enabled: boolean;
  createdAt: number;
  /** Extra sender addresses this account may use ("@domain" for a whole domain). */
  sendAs: string[];
  /** Per-account sending limits; a missing key uses the configured default, null is unlimited. */
  sendLimits: SendLimitsOverride;
}

/** Sending limits of one account (RFC 6409 submission); null = unlimited. */
export interface SendLimits {
  messagesPerHour: number | null;
  messagesPerDay: number | null;
  recipientsPerHour: number | null;
  recipientsPerDay: number | null;
}

export type SendLimitsOverride = Partial<SendLimits>;

export interface NewAccount {
  address: string;
  displayName?: string | null;
  passwordHash: string;
  quota?: number | null;
  /** SCRAM-SHA-256 keys (auth/sasl/scram.ts format); absent: the account cannot use SCRAM. */
  scramSha256?: string | null;
}

export interface AccountPatch {
  displayName?: string | null;
  passwordHash?: string;
  /** Set with passwordHash; null removes the keys (the account can no longer use SCRAM). */
  scramSha256?: string | null;
  quota?: number | null;
  enabled?: boolean;
  sendAs?: string[];
  sendLimits?: SendLimitsOverride;
}

export interface Credentials {
  account: Account;
  passwordHash: string;
  /** Present only when the account has SCRAM-SHA-256 keys. */
  scramSha256?: string;
}

/** source is "local@domain", or "@domain" for a catch-all. */
export interface Alias {
  source: string;
  targets: string[];
}

/** Local domains, accounts and aliases. Addresses are matched through addressKey(). */
export interface Directory {
  isLocalDomain(domain: string): Promise<boolean>;
  addDomain(name: string): Promise<Domain>;
  /** Refused (DirectoryError "IN_USE") while accounts or aliases exist, unless force. */
  removeDomain(name: string, opts?: { force?: boolean }): Promise<boolean>;
  listDomains(): Promise<Domain[]>;

  /** Creates the account and its INBOX. DirectoryError "EXISTS" / "NO_DOMAIN". */
  addAccount(a: NewAccount): Promise<Account>;
  getAccount(address: string): Promise<Account | null>;
  getAccountById(id: number): Promise<Account | null>;
  listAccounts(domain?: string): Promise<Account[]>;
  updateAccount(address: string, patch: AccountPatch): Promise<boolean>;
  /** Removes the account with its mailboxes and messages. */
  removeAccount(address: string): Promise<boolean>;
  /** For authentication: the stored hash (and SCRAM keys, when set) of an account, enabled or not. */
  credentials(address: string): Promise<Credentials | null>;

  /** Adds targets to an alias (creating it). */
  addAlias(source: string, targets: readonly string[]): Promise<Alias>;
  /** Removes one target, or the whole alias when target is omitted. */
  removeAlias(source: string, target?: string): Promise<boolean>;
  getAlias(source: string): Promise<string[] | null>;
  listAliases(domain?: string): Promise<Alias[]>;
}

export class DirectoryError extends Error {
  constructor(
    readonly code: "EXISTS" | "NO_DOMAIN" | "IN_USE" | "NOT_FOUND" | "INVALID",
    message: string,
  ) {
    super(message);
    this.name = "DirectoryError";
  }
}

export type SpecialUse = "\\Sent" | "\\Drafts" | "\\Trash" | "\\Junk" | "\\Archive";

export interface Mailbox {
  id: number;
  accountId: number;
  name: string;
  specialUse: string | null;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  subscribed: boolean;
  messages: number;
  unseen: number;
  size: number;
}

export interface MailMessage {
  mailboxId: number;
  uid: number;
  modseq: number;
  flags: string[];
  internalDate: number;
  /** Octets as IMAP/POP3 serve them: header prefix + blob. */
  size: number;
  blobId: string;
  /** Header lines added at delivery (Return-Path, Delivered-To), served before the blob. */
  prefix: Buffer;
}

/** One stored message body, shared by every copy of the same content. */
export interface BlobInput {
  /** sha256 hex of data. */
  id: string;
  /** The octets; null once a backend has stored them elsewhere (a blob file). */
  data: Buffer | null;
  size: number;
  /** The MIME parse (mime/ ParsedMessage), JSON-serialisable, computed once. */
  parsed: unknown;
}

export interface DeliveryItem {
  accountId: number;
  /** "INBOX", or a special-use mailbox created on first use (e.g. Junk). */
  mailbox: string;
  specialUse?: string | null;
  prefix: Buffer;
}

export interface LocalDelivery {
  /** Idempotency: an account gets at most one copy of a queued message, whichever recipient led there. */
  queueId: string;
  rcptIdx: number;
  internalDate: number;
  blob: BlobInput;
  items: DeliveryItem[];
  flags?: string[];
}

export type DeliveryItemResult = { accountId: number; status: "delivered" | "duplicate"; uid: number | null } | { accountId: number; status: "over-quota" | "no-account" };

/** A local delivery as the deliveries table keeps it (mailbox and UID null when it was a duplicate). */
export interface DeliveryRecord {
  rcptIdx: number;
  /** The account's address (null when the account was removed since). */
  account: string | null;
  mailbox: string | null;
  uid: number | null;
  deliveredAt: number;
}

export interface Mailstore {
  /** Deliver copies in one transaction per LocalDelivery; quota is checked per account. */
  deliver(batch: readonly LocalDelivery[]): Promise<DeliveryItemResult[][]>;
  listMailboxes(accountId: number): Promise<Mailbox[]>;
  getMailbox(accountId: number, name: string): Promise<Mailbox | null>;
  /** Messages of a mailbox in UID order. */
  listMessages(mailboxId: number): Promise<MailMessage[]>;
  /** Where a queued message went in local mailboxes (`petrel trace`): one row per recipient and account. */
  deliveriesOf(queueId: string): Promise<DeliveryRecord[]>;
  /**
   * Remove messages from a mailbox (POP3 QUIT in UPDATE state, IMAP EXPUNGE): account usage and
   * blob references drop, HIGHESTMODSEQ rises. Returns the UIDs really removed (others were gone).
   */
  expunge(mailboxId: number, uids: readonly number[]): Promise<number[]>;
  /** Body octets of a blob (without prefix). */
  blob(blobId: string): Promise<Buffer | null>;
  /** The stored MIME parse of a blob. */
  parsed(blobId: string): Promise<unknown>;
  /**
   * Re-indexing (`petrel reindex`): ids of stored blobs in id order after `after` (null: from
   * the start), at most `limit`; only those of one account's messages when accountId is given.
   */
  blobIds(after: string | null, limit: number, accountId?: number): Promise<string[]>;
  /** How many blobs blobIds would list in all. */
  countBlobs(accountId?: number): Promise<number>;
  /** Replace the stored MIME parse of these blobs (after a parser change). */
  setParsed(items: readonly { id: string; parsed: unknown }[]): Promise<void>;
}

/** Mailstore failures IMAP maps to response codes (RFC 5530). */
export class MailstoreError extends Error {
  constructor(
    readonly code: "EXISTS" | "NOT_FOUND" | "OVER_QUOTA" | "INVALID" | "CANNOT",
    message: string,
  ) {
    super(message);
    this.name = "MailstoreError";
  }
}

export type FlagOperation = "add" | "remove" | "replace";

export interface FlagChange {
  mailboxId: number;
  uids: readonly number[];
  op: FlagOperation;
  /** System flags (\\Seen...) and keywords, as the client wrote them (case kept). */
  flags: readonly string[];
  /** CONDSTORE (RFC 7162 3.1.3): messages whose modseq is above this are left alone. */
  unchangedSince?: number;
}

export interface FlagChangeResult {
  /** Messages whose flags changed, with their new flags and modseq (one new modseq per call). */
  updated: { uid: number; flags: string[]; modseq: number }[];
  /** UIDs refused because of unchangedSince (the MODIFIED response code). */
  modified: number[];
}

export interface AppendInput {
  accountId: number;
  mailbox: string;
  internalDate: number;
  flags: readonly string[];
  blob: BlobInput;
}

export interface CopyResult {
  /** UIDVALIDITY of the destination (COPYUID, RFC 4315). */
  uidValidity: number;
  /** [source uid, destination uid] in source UID order; messages already gone are skipped. */
  map: [number, number][];
}

/** What IMAP needs beyond delivery and POP3. Hierarchy separator "/". */
export interface ImapMailstore {
  getMailboxById(mailboxId: number): Promise<Mailbox | null>;
  /** MailstoreError EXISTS. Superior names that are missing are created too (RFC 9051 6.3.4 SHOULD). */
  createMailbox(accountId: number, name: string, specialUse?: string | null): Promise<Mailbox>;
  /** Removes the mailbox and its messages (usage and blob references drop). False when absent. */
  deleteMailbox(accountId: number, name: string): Promise<boolean>;
  /**
   * Renames the mailbox and every mailbox below it ("from/..."). Renaming INBOX moves its
   * messages to a new mailbox `to` and leaves INBOX empty (RFC 9051 6.3.6).
   * MailstoreError NOT_FOUND / EXISTS.
   */
  renameMailbox(accountId: number, from: string, to: string): Promise<void>;
  /** Subscriptions are names: they may outlive the mailbox (RFC 9051 6.3.7). */
  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void>;
  subscriptions(accountId: number): Promise<string[]>;
  /** These messages of a mailbox (those that exist), in UID order: FETCH of a few messages. */
  getMessages(mailboxId: number, uids: readonly number[]): Promise<MailMessage[]>;
  /** Messages of a mailbox with modseq > since, in UID order (CONDSTORE/QRESYNC). */
  changedSince(mailboxId: number, since: number): Promise<MailMessage[]>;
  /** UIDs expunged with modseq > since, ascending (QRESYNC VANISHED). */
  expungedSince(mailboxId: number, since: number): Promise<number[]>;
  storeFlags(change: FlagChange): Promise<FlagChangeResult>;
  /** MailstoreError NOT_FOUND (no such mailbox) / OVER_QUOTA. */
  append(input: AppendInput): Promise<{ mailboxId: number; uidValidity: number; uid: number }>;
  /** Copies keep flags and internal date; quota is checked for the whole copy (OVER_QUOTA). */
  copy(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult>;
  /** Copy then expunge from the source, in one transaction (RFC 6851). */
  move(fromMailboxId: number, uids: readonly number[], toMailboxId: number): Promise<CopyResult>;
}

/** Messages and recipients an account sent in one bucket ("h:2026-11-30T09" or "d:2026-11-30", UTC). */
export interface SendCounts {
  messages: number;
  recipients: number;
}

/** Per-account sending counters for the submission limits. */
export interface SendCounterStore {
  /** Counts of these buckets (a bucket never charged counts zero). */
  get(accountId: number, buckets: readonly string[]): Promise<Record<string, SendCounts>>;
  /** Add one accepted message's counts to each bucket (one transaction). */
  charge(accountId: number, buckets: readonly string[], messages: number, recipients: number): Promise<void>;
  /** Delete every bucket not listed (the current hour and day); returns how many went. */
  prune(keep: readonly string[]): Promise<number>;
}

/**
 * One row of the authentication lockout (auth/lockout.ts decides; the store only keeps rows).
 * key is "ip:<address>" or "user:<name>"; times are ms since the epoch.
 */
export interface AuthFailure {
  key: string;
  /** Failures in the current window. */
  failures: number;
  windowStart: number;
  lastFailureAt: number;
  /** Attempts are refused until then; null when not blocked. */
  blockedUntil: number | null;
  /** How many blocks so far (the block time doubles with each). */
  level: number;
}

/**
 * Rows of the shared authentication lockout. Updates are compare-and-set, so that nodes and
 * sessions counting failures at once never lose one: the caller re-reads and retries on false.
 */
export interface AuthFailureStore {
  get(keys: readonly string[]): Promise<AuthFailure[]>;
  /** Write `next` if the row is still `expected` (null: no row yet). True when written. */
  replace(expected: AuthFailure | null, next: AuthFailure): Promise<boolean>;
  /** Rows blocked after `now`, by blockedUntil. */
  listBlocked(now: number): Promise<AuthFailure[]>;
  /** Delete rows (unblock); all rows when keys is omitted. Returns how many were deleted. */
  remove(keys?: readonly string[]): Promise<number>;
  /** Delete rows that are not blocked and had no failure since `before`. */
  prune(before: number, now: number): Promise<number>;
}

export type DkimAlgorithm = "rsa" | "ed25519";

/**
 * active: signs new mail. retiring: no longer signs, its DNS record stays published until
 * retireAt so that mail signed before the rotation still verifies. retired: its record can be
 * removed from DNS (a retiring key becomes retired when `expire` runs after retireAt).
 */
export type DkimKeyState = "active" | "retiring" | "retired";

/** A DKIM signing key (RFC 6376, RFC 8463). Domains are stored in ASCII (A-labels). */
export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** PKCS#8 PEM. It lives in the store (the data directory's or the database's permissions). */
  privateKey: string;
  /** SPKI PEM; the DNS p= value is derived from it (msgauth/dkim-keys.ts). */
  publicKey: string;
  state: DkimKeyState;
  createdAt: number;
  retireAt: number | null;
}

export type NewDkimKey = Omit<DkimKey, "state" | "retireAt">;

/** DKIM keys. Errors: DirectoryError NO_DOMAIN (not a local domain), EXISTS (selector taken). */
export interface DkimKeyStore {
  /** Add an active key. */
  add(key: NewDkimKey): Promise<DkimKey>;
  /** Keys of a domain, or of every domain; by domain, then newest first. */
  list(domain?: string): Promise<DkimKey[]>;
  /** The keys that sign a domain's mail (at most one per algorithm). */
  active(domain: string): Promise<DkimKey[]>;
  /**
   * In one transaction: the domain's active key of the new key's algorithm becomes retiring
   * (retireAt), and the new key is added, active. Returns the keys moved to retiring.
   */
  rotate(key: NewDkimKey, retireAt: number): Promise<DkimKey[]>;
  /** Retiring keys whose retireAt has passed become retired; returns how many. */
  expire(now: number): Promise<number>;
  /** Delete a key (its record is gone from DNS). False when there was none. */
  remove(domain: string, selector: string): Promise<boolean>;
}

/** One live entry of the KeyValueStore; times are ms since the epoch. */
export interface KeyValueEntry {
  value: string;
  /** The counter kept with the key (increment); 0 for a key only ever put. */
  counter: number;
  expiresAt: number;
}

/**
 * Small expiring state shared by every node: greylisting triplets, per-network pass counts
 * (policy/greylist.ts). A key whose expiresAt is at or before `now` is absent: reads skip it,
 * writes treat it as new, and prune deletes it. Every write is atomic on its own (nodes racing
 * on one key never lose an increment, and putIfAbsent has one winner).
 */
export interface KeyValueStore {
  /** The live entries among these keys (absent and expired keys are left out). */
  get(keys: readonly string[], now: number): Promise<Record<string, KeyValueEntry>>;
  /** Insert or replace a key's value and expiry (its counter is kept, or 0 when new or expired). */
  put(key: string, value: string, expiresAt: number, now: number): Promise<void>;
  /** Insert the key if it is absent or expired; returns the live entry (the new one, or the one that was there). */
  putIfAbsent(key: string, value: string, expiresAt: number, now: number): Promise<KeyValueEntry>;
  /**
   * Add delta to the key's counter (absent or expired: start from 0, value ""); the expiry
   * becomes the later of the two. Returns the new count.
   */
  increment(key: string, delta: number, expiresAt: number, now: number): Promise<number>;
  /** Delete these keys; returns how many existed. */
  delete(keys: readonly string[]): Promise<number>;
  /** Delete the entries expired at `now`; returns how many went. */
  prune(now: number): Promise<number>;
}

export interface Store {
  readonly queue: QueueStore & QueueScheduling;
  readonly directory: Directory;
  readonly mailstore: Mailstore & ImapMailstore;
  readonly sendCounters: SendCounterStore;
  readonly authFailures: AuthFailureStore;
  readonly dkimKeys: DkimKeyStore;
  readonly keyValue: KeyValueStore;
  readonly dmarc: DmarcStore;
  readonly deliveryEvents: DeliveryEventStore;
  close(): Promise<void>;
}

export type { DeliveryEvent, DeliveryEventStore } from "./delivery-event-types.js";
export type { DmarcStore, DmarcEventRow, DmarcReportRow, DmarcStoredRecord, NewDmarcReport } from "./dmarc-types.js";
