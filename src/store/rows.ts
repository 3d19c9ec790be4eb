/**
 * Row shapes and conversions that both backends share: queue recipients come back from SQLite
 * and PostgreSQL with the same columns, and aliases are grouped the same way.
 */
import type { Alias, QueueRecipient, RecipientState } from "./types.js";

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
