/** Per-account sending counters in PostgreSQL, shared by every node. */
import { transaction, type Pool } from "./database.js";
import type { SendCounterStore, SendCounts } from "../types.js";

export class PgSendCounters implements SendCounterStore {
  constructor(private readonly pool: Pool) {}

  async get(accountId: number, buckets: readonly string[]): Promise<Record<string, SendCounts>> {
    const { rows } = await this.pool.query<{ bucket: string; messages: number; recipients: number }>({
      name: "petrel.send.get",
      text: "SELECT bucket, messages, recipients FROM send_counters WHERE account_id = $1 AND bucket = ANY($2::text[])",
      values: [accountId, [...buckets]],
    });
    const out: Record<string, SendCounts> = {};
    for (const b of buckets) out[b] = { messages: 0, recipients: 0 };
    for (const r of rows) out[r.bucket] = { messages: Number(r.messages), recipients: Number(r.recipients) };
    return out;
  }

  async charge(accountId: number, buckets: readonly string[], messages: number, recipients: number): Promise<void> {
    await transaction(this.pool, async (c) => {
      for (const b of [...buckets].sort()) {
        await c.query(
          `INSERT INTO send_counters (account_id, bucket, messages, recipients) VALUES ($1, $2, $3, $4)
           ON CONFLICT (account_id, bucket) DO UPDATE SET messages = send_counters.messages + EXCLUDED.messages, recipients = send_counters.recipients + EXCLUDED.recipients`,
          [accountId, b, messages, recipients],
        );
      }
    });
  }

  async prune(keep: readonly string[]): Promise<number> {
    const r = await this.pool.query("DELETE FROM send_counters WHERE NOT (bucket = ANY($1::text[]))", [[...keep]]);
    return r.rowCount ?? 0;
  }
}
