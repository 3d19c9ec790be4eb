/** Per-account sending counters in SQLite: reads on this connection, writes through the writer. */
import type { Db } from "./database.js";
import { Batcher } from "../../core/batcher.js";
import type { Writer } from "./writer.js";
import type { SendCounterStore, SendCounts } from "../types.js";

export class SqliteSendCounters implements SendCounterStore {
  private readonly one;

  constructor(
    db: Db,
    private readonly writer: Writer,
  ) {
    this.one = db.prepare("SELECT messages, recipients FROM send_counters WHERE account_id = ? AND bucket = ?");
  }

  async get(accountId: number, buckets: readonly string[]): Promise<Record<string, SendCounts>> {
    const out: Record<string, SendCounts> = {};
    for (const b of buckets) {
      const r = this.one.get(accountId, b) as SendCounts | undefined;
      out[b] = { messages: r?.messages ?? 0, recipients: r?.recipients ?? 0 };
    }
    return out;
  }

  async charge(accountId: number, buckets: readonly string[], messages: number, recipients: number): Promise<void> {
    await this.charges.add({ accountId, buckets: [...buckets], messages, recipients });
  }

  /** Every submitted message is charged after its 250: those that arrive together share a transaction. */
  private readonly charges = new Batcher<{ accountId: number; buckets: string[]; messages: number; recipients: number }, void>(async (items) => {
    await this.writer.run("chargeSendCountersBatch", items);
    return items.map(() => undefined);
  }, 500);

  async prune(keep: readonly string[]): Promise<number> {
    return this.writer.run("pruneSendCounters", [...keep]);
  }
}
