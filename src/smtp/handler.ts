/**
 * What the SMTP engine needs from the rest of Petrel. smtp/ defines it; app/ implements it
 * with policy and the queue. Each hook answers undefined (go on with the standard reply) or a
 * Reply (a 4xx/5xx refuses, a 2xx replaces the text). A hook that throws becomes 451 4.3.0:
 * policy fails closed.
 */
import type { Reply } from "../core/reply.js";
import type { MailFrom, RcptTo, SessionFacts } from "../core/envelope.js";

export interface TlsInfo {
  readonly version: string;
  readonly cipher: string;
  readonly servername?: string;
}

/** The view of a session that hooks get: facts, never the socket. */
export interface SessionView {
  readonly id: string;
  readonly listener: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly helo?: string;
  readonly tls?: TlsInfo;
  readonly authUser?: string;
}

export interface TransactionView {
  readonly from: MailFrom;
  readonly rcpts: readonly RcptTo[];
}

/** Where message content goes; the queue implements it. */
export interface MessageSink {
  /** Queue id assigned to this message (shown in Received: and in the final 250). */
  readonly id: string;
  write(parts: readonly Buffer[]): void | Promise<void>;
  /**
   * Make the message durable and answer the client. Resolves with the reply to send:
   * 250 only once the message and envelope are on disk.
   */
  commit(facts: SessionFacts): Promise<Reply>;
  abort(): Promise<void>;
}

/** One SASL exchange (RFC 4422): the engine moves base64 and calls step with decoded bytes. */
export interface SaslExchange {
  /** Returns a challenge to send (334), or the outcome. */
  step(response: Buffer | null): Promise<{ challenge: Buffer } | { user: string } | { failed: true }>;
}

export interface SmtpHandler {
  connect?(s: SessionView): Promise<Reply | undefined>;
  helo?(s: SessionView, name: string): Promise<Reply | undefined>;
  mail(s: SessionView, from: MailFrom): Promise<Reply | undefined>;
  rcpt(s: SessionView, txn: TransactionView, rcpt: RcptTo): Promise<Reply | undefined>;
  /** Called at DATA / first BDAT with the accepted recipients. */
  openMessage(s: SessionView, txn: TransactionView): Promise<MessageSink>;
  /** SASL mechanisms offered on this session (empty: AUTH not offered). */
  saslMechanisms?(s: SessionView): readonly string[];
  startSasl?(s: SessionView, mechanism: string): SaslExchange | undefined;
}
