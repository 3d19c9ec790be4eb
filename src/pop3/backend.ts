/**
 * What the POP3 engine needs from the rest of Petrel. pop3/ defines it; app/ implements it with
 * the directory and the mailstore (the maildrop is the account's INBOX).
 */
export interface Pop3Account {
  accountId: number;
  address: string;
}

export interface Maildrop {
  /** In UID order; size is exactly the octets RETR sends before byte-stuffing. */
  messages: { uid: number; size: number }[];
  uidValidity: number;
}

export interface Pop3Backend {
  /**
   * Check a user name and password; null for an unknown user, a wrong password or a disabled
   * account, in the same time whichever it is.
   */
  authenticate(user: string, pass: string, remoteIp: string): Promise<Pop3Account | null>;
  openMaildrop(accountId: number): Promise<Maildrop>;
  /** The message octets (CRLF line endings), or null when it is gone. */
  retrieve(accountId: number, uid: number): Promise<Buffer | null>;
  /** Remove messages (UPDATE state); UIDs already gone are ignored. */
  expunge(accountId: number, uids: readonly number[]): Promise<void>;
}

export interface Pop3TlsInfo {
  readonly version: string;
  readonly cipher: string;
  readonly servername?: string;
}

/** The socket as the session sees it; app/serve-socket.ts implements it. */
export interface Pop3Transport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Set for implicit-TLS listeners (pop3s) from the start. */
  readonly tls?: Pop3TlsInfo;
  /** Returns false when the peer is not reading. */
  write(data: Buffer | string): boolean;
  waitDrain(): Promise<void>;
  /** Upgrade to TLS after "+OK Begin TLS negotiation" has been written. */
  startTls(): Promise<Pop3TlsInfo>;
  pause(): void;
  resume(): void;
  close(): void;
}

export interface Pop3Options {
  hostname: string;
  listener: string;
  /** STLS offered (the pop3 listener with a certificate). */
  starttls: boolean;
  /** USER/PASS and AUTH PLAIN allowed before TLS. */
  allowInsecureAuth: boolean;
  /** RFC 1939 3: an autologout timer of at least 10 minutes. */
  idleTimeoutMs: number;
  /** A failed login is answered after this long (whatever the reason it failed). */
  failureDelayMs: number;
  /** The session is closed after this many failed logins. */
  maxAuthFailures: number;
}

/** RFC 2449 4: command lines are at most 255 octets; AUTH responses may be longer (RFC 5034 4). */
export const MAX_COMMAND_LINE = 255;
export const MAX_AUTH_LINE = 8192;
