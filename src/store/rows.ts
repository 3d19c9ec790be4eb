/**
 * Row shapes and conversions that both backends share: queue recipients, messages and lockout
 * rows come back from SQLite and PostgreSQL with the same columns, aliases are grouped the same
 * way, and JSON columns are read the same way.
 */
import type { Alias, AuthFailure, MailMessage, QueueRecipient, RecipientState } from "./types.js";
import { parseFlags } from "./imap-rules.js";

export interface RecipientRow {
  message_id: string;
  idx: number;
  address: string;
  dsn: string;
  state: string;
  next_attempt_at: number;
  attempts: number;
  last_reply: string | null;
}

export function toRecipient(r: RecipientRow): QueueRecipient {
  return { idx: r.idx, address: r.address, dsn: JSON.parse(r.dsn), state: r.state as RecipientState, nextAttemptAt: r.next_attempt_at, attempts: r.attempts, lastReply: r.last_reply };
}

/** One alias per lookup key, however its source was spelt when each target was added. */
export function groupAliases(rows: readonly { source_key: string; source: string; target: string }[]): Alias[] {
  const by = new Map<string, Alias>();
  for (const r of rows) {
    const a = by.get(r.source_key) ?? { source: r.source, targets: [] };
    a.targets.push(r.target);
    by.set(r.source_key, a);
  }
  return [...by.values()];
}

/** A row of the messages table (SELECT *). */
export interface MessageRow {
  mailbox_id: number;
  uid: number;
  modseq: number;
  flags: string;
  internal_date: number;
  size: number;
  blob_id: string;
  prefix: Buffer;
}

export const toMessage = (r: MessageRow): MailMessage => ({ mailboxId: r.mailbox_id, uid: r.uid, modseq: r.modseq, flags: parseFlags(r.flags), internalDate: r.internal_date, size: r.size, blobId: r.blob_id, prefix: r.prefix });

/** A row of the auth_failures table. */
export interface AuthFailureRow {
  key: string;
  failures: number;
  window_start: number;
  last_failure_at: number;
  blocked_until: number | null;
  level: number;
}

export const toAuthFailure = (r: AuthFailureRow): AuthFailure => ({ key: r.key, failures: r.failures, windowStart: r.window_start, lastFailureAt: r.last_failure_at, blockedUntil: r.blocked_until, level: r.level });

/** A JSON column; a value that does not parse counts as the default. */
export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return (JSON.parse(text) as T | null) ?? fallback;
  } catch {
    return fallback;
  }
}
