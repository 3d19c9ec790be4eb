/**
 * The storage contract. Backends (sqlite/, later postgres/) implement these interfaces and
 * pass one conformance suite. Everything is async so that a networked backend fits.
 */

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
  recipients: QueueRecipient[];
}

export interface QueueListOptions {
  limit?: number;
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
}

/** A recipient the scheduler leased for one delivery attempt. */
export interface DueRecipient extends QueueRecipient {
  messageId: string;
}

export type RecipientOutcome =
  | { idx: number; status: "delivered"; reply: string }
  | { idx: number; status: "deferred"; reply: string; nextAttemptAt: number }
  | { idx: number; status: "failed"; reply: string };

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
  finish(batch: readonly { messageId: string; outcomes: readonly RecipientOutcome[] }[], now: number): Promise<string[]>;
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
}

export interface NewAccount {
  address: string;
  displayName?: string | null;
  passwordHash: string;
  quota?: number | null;
}

export interface AccountPatch {
  displayName?: string | null;
  passwordHash?: string;
  quota?: number | null;
  enabled?: boolean;
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
  /** For authentication: the stored hash of an account, enabled or not. */
  credentials(address: string): Promise<{ account: Account; passwordHash: string } | null>;

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

export interface Mailstore {
  /** Deliver copies in one transaction per LocalDelivery; quota is checked per account. */
  deliver(batch: readonly LocalDelivery[]): Promise<DeliveryItemResult[][]>;
  listMailboxes(accountId: number): Promise<Mailbox[]>;
  getMailbox(accountId: number, name: string): Promise<Mailbox | null>;
  /** Messages of a mailbox in UID order. */
  listMessages(mailboxId: number): Promise<MailMessage[]>;
  /**
   * Remove messages from a mailbox (POP3 QUIT in UPDATE state, IMAP EXPUNGE): account usage and
   * blob references drop, HIGHESTMODSEQ rises. Returns the UIDs really removed (others were gone).
   */
  expunge(mailboxId: number, uids: readonly number[]): Promise<number[]>;
  /** Body octets of a blob (without prefix). */
  blob(blobId: string): Promise<Buffer | null>;
  /** The stored MIME parse of a blob. */
  parsed(blobId: string): Promise<unknown>;
}

export interface Store {
  readonly queue: QueueStore & QueueScheduling;
  readonly directory: Directory;
  readonly mailstore: Mailstore;
  close(): Promise<void>;
}
