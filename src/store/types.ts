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

export interface Domain {
  name: string;
  createdAt: number;
}

/** Local domains (accounts and aliases come with the mail store). */
export interface Directory {
  isLocalDomain(domain: string): Promise<boolean>;
  addDomain(name: string): Promise<Domain>;
  removeDomain(name: string): Promise<boolean>;
  listDomains(): Promise<Domain[]>;
}

export interface Store {
  readonly queue: QueueStore;
  readonly directory: Directory;
  close(): Promise<void>;
}
