/**
 * Writes of the per-account sending counters (messages and recipients per hour and day).
 */
import type { Db } from "./database.js";

export function sendingWriteOps(db: Db) {
  const s = {
    charge: db.prepare(
      `INSERT INTO send_counters (account_id, bucket, messages, recipients) VALUES (?, ?, ?, ?)
       ON CONFLICT (account_id, bucket) DO UPDATE SET messages = messages + excluded.messages, recipients = recipients + excluded.recipients`,
    ),
  };
  const charge = db.transaction((accountId: number, buckets: readonly string[], messages: number, recipients: number) => {
    for (const b of buckets) s.charge.run(accountId, b, messages, recipients);
  });
  /** Charges of many accepted messages in one transaction (one fsync). */
  const chargeMany = db.transaction((items: readonly { accountId: number; buckets: readonly string[]; messages: number; recipients: number }[]) => {
    for (const i of items) for (const b of i.buckets) s.charge.run(i.accountId, b, i.messages, i.recipients);
  });
  return {
    chargeSendCountersBatch: (items: readonly { accountId: number; buckets: readonly string[]; messages: number; recipients: number }[]) => chargeMany.immediate(items),
    chargeSendCounters: (accountId: number, buckets: readonly string[], messages: number, recipients: number) => charge.immediate(accountId, buckets, messages, recipients),
    pruneSendCounters: (keep: readonly string[]): number => {
      const marks = keep.map(() => "?").join(", ");
      const sql = keep.length ? `DELETE FROM send_counters WHERE bucket NOT IN (${marks})` : "DELETE FROM send_counters";
      return db.prepare(sql).run(...keep).changes;
    },
  };
}
