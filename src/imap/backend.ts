/**
 * What the IMAP engine needs from the rest of Petrel. imap/ defines it; app/imap-backend.ts
 * implements it with the directory, the mailstore and the authentication lockout. The engine
 * keeps each session's view (sequence numbers, \Recent, pending expunges); the backend is
 * stateless per call apart from change notification.
 */
import type { ParsedMessage } from "../mime/index.js";

export interface ImapAccount {
  accountId: number;
  address: string;
}

/** Mailbox names are full UTF-8 paths with "/" as hierarchy separator; INBOX is "INBOX". */
export interface ImapMailboxInfo {
  id: number;
  name: string;
  /** "\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive" or null. */
  specialUse: string | null;
  subscribed: boolean;
  uidValidity: number;
  uidNext: number;
  highestModseq: number;
  messages: number;
  unseen: number;
  /** Octets of all its messages (STATUS SIZE, RFC 8438). */
  size: number;
}

/** One message as a session's view holds it. */
export interface ImapMessageMeta {
  uid: number;
  modseq: number;
  flags: string[];
  internalDate: number;
  /** RFC822.SIZE: the octets FETCH BODY[] returns. */
  size: number;
}

/** A message's octets and MIME structure; offsets of `parsed` index `raw`. */
export interface ImapMessageContent {
  raw: Buffer;
  parsed: ParsedMessage;
}

export interface ImapChanges {
  mailbox: ImapMailboxInfo;
  /** Messages added or changed (flags) with modseq > since, in UID order. */
  changed: ImapMessageMeta[];
  /** UIDs expunged with modseq > since, ascending. */
  expunged: number[];
}

/** Failures the engine maps to tagged NO with a response code (RFC 5530). */
export class ImapBackendError extends Error {
  constructor(
    readonly code: "NONEXISTENT" | "ALREADYEXISTS" | "OVERQUOTA" | "CANNOT" | "LIMIT" | "INUSE" | "UNAVAILABLE",
    message: string,
  ) {
    super(message);
    this.name = "ImapBackendError";
  }
}

export type ImapFlagOperation = "add" | "remove" | "replace";

export interface ImapBackend {
  /**
   * Check a user name and password; null for an unknown user, a wrong password, a disabled
   * account or a locked-out user or IP, in the same time whichever it is.
   */
  authenticate(user: string, pass: string, remoteIp: string): Promise<ImapAccount | null>;

  /** Every mailbox of the account (the backend makes sure INBOX and the special-use ones exist). */
  listMailboxes(accountId: number): Promise<ImapMailboxInfo[]>;
  subscriptions(accountId: number): Promise<string[]>;
  getMailbox(accountId: number, name: string): Promise<ImapMailboxInfo | null>;
  createMailbox(accountId: number, name: string, specialUse?: string | null): Promise<void>;
  deleteMailbox(accountId: number, name: string): Promise<void>;
  renameMailbox(accountId: number, from: string, to: string): Promise<void>;
  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void>;

  /** All messages of a mailbox in UID order (SELECT/EXAMINE). */
  messages(mailboxId: number): Promise<ImapMessageMeta[]>;
  /** What changed since a modseq (NOOP, IDLE, after another session's write, QRESYNC). */
  changes(mailboxId: number, sinceModseq: number): Promise<ImapChanges>;
  /** Octets and structure (prefix headers included); null when the message is gone. */
  content(mailboxId: number, uid: number): Promise<ImapMessageContent | null>;
  /** Structure only (ENVELOPE, BODYSTRUCTURE, SEARCH text) without reading the octets. */
  structure(mailboxId: number, uid: number): Promise<ParsedMessage | null>;

  storeFlags(mailboxId: number, uids: readonly number[], op: ImapFlagOperation, flags: readonly string[], unchangedSince?: number): Promise<{ updated: { uid: number; flags: string[]; modseq: number }[]; modified: number[] }>;
  append(accountId: number, mailbox: string, raw: Buffer, flags: readonly string[], internalDate?: number): Promise<{ uidValidity: number; uid: number }>;
  copy(mailboxId: number, uids: readonly number[], accountId: number, to: string): Promise<{ uidValidity: number; map: [number, number][] }>;
  move(mailboxId: number, uids: readonly number[], accountId: number, to: string): Promise<{ uidValidity: number; map: [number, number][] }>;
  /** Removes messages; returns the UIDs really removed. */
  expunge(mailboxId: number, uids: readonly number[]): Promise<number[]>;
  /** Storage quota of the account (RFC 9208 STORAGE resource, in octets); limit null = none. */
  quota(accountId: number): Promise<{ used: number; limit: number | null }>;

  /**
   * Call `listener` (soon, coalesced) whenever the mailbox may have changed: a delivery, another
   * session's write, another node's write (polled). Returns the unsubscribe function.
   */
  watch(mailboxId: number, listener: () => void): () => void;
}

export interface ImapTlsInfo {
  readonly version: string;
  readonly cipher: string;
  readonly servername?: string;
}

/** The socket as the session sees it; app/serve-socket.ts implements it (as for POP3). */
export interface ImapTransport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Set for implicit-TLS listeners (imaps) from the start. */
  readonly tls?: ImapTlsInfo;
  /** Returns false when the peer is not reading. */
  write(data: Buffer | string): boolean;
  waitDrain(): Promise<void>;
  /** Upgrade to TLS after the tagged OK to STARTTLS has been written. */
  startTls(): Promise<ImapTlsInfo>;
  pause(): void;
  resume(): void;
  close(): void;
}

export interface ImapOptions {
  hostname: string;
  listener: string;
  /** STARTTLS offered (the imap listener with a certificate). */
  starttls: boolean;
  /** LOGIN and AUTHENTICATE allowed before TLS (else LOGINDISABLED is advertised). */
  allowInsecureAuth: boolean;
  /** Autologout of a non-IDLE session (RFC 9051 5.4: at least 30 minutes). */
  idleTimeoutMs: number;
  /** An IDLE may last this long before the server ends it (clients re-IDLE; 29 min is common). */
  idleMaxMs: number;
  /** A failed login is answered after this long (whatever the reason it failed). */
  authFailureDelayMs: number;
  /** Longest command line, and longest literal (APPEND is bounded by maxMessageSize). */
  maxLineLength: number;
  maxLiteralSize: number;
  maxMessageSize: number;
}
