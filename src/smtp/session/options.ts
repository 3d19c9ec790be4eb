/** Limits and switches of one SMTP session; app/ fills them from the config. */
export interface SessionOptions {
  hostname: string;
  /** Listener name: "smtp", "submission", "submissions". */
  listener: string;
  maxMessageSize: number;
  maxRecipients: number;
  /** Transactions per session (RFC 9422 MAILMAX). */
  maxTransactions: number;
  /** Error replies before the session is closed with 421. */
  maxErrors: number;
  /** NOOP/RSET/VRFY/HELP/EHLO commands allowed without a MAIL in between. */
  maxJunkCommands: number;
  /** Longest command line including CRLF (RFC 5321 4.5.3.1.4: 512). */
  maxCommandLine: number;
  /** Longest text line in a message including CRLF (RFC 5321 4.5.3.1.6: 1000). */
  maxTextLine: number;
  bareLineEndings: "reject" | "normalize";
  /** Waiting for a whole command line (RFC 5321 4.5.3.2.7: at least 5 minutes). */
  commandTimeoutMs: number;
  /** Waiting for the next chunk of message data (RFC 5321 4.5.3.2.5: 3 minutes). */
  dataTimeoutMs: number;
  /** Longest time for one message's whole content (a trickling client cannot hold a slot forever). */
  dataMaxTimeMs: number;
  /** STARTTLS can be offered (a certificate is configured and the listener is not implicit TLS). */
  starttls: boolean;
  /** MAIL requires an authenticated session (submission listeners). */
  requireAuth: boolean;
  /** AUTH is offered only inside TLS. */
  authRequiresTls: boolean;
}

export const RFC_DEFAULTS: Omit<SessionOptions, "hostname" | "listener" | "starttls" | "requireAuth"> = {
  maxMessageSize: 50 * 1024 * 1024,
  maxRecipients: 1000,
  maxTransactions: 100,
  maxErrors: 10,
  maxJunkCommands: 50,
  maxCommandLine: 512,
  maxTextLine: 1000,
  bareLineEndings: "reject",
  commandTimeoutMs: 5 * 60_000,
  dataTimeoutMs: 3 * 60_000,
  dataMaxTimeMs: 30 * 60_000,
  authRequiresTls: true,
};

/** RFC 4954 4: an AUTH command line (and each SASL response) may be up to 12288 octets. */
export const MAX_AUTH_LINE = 12288;
