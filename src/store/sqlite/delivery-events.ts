/** Delivery events (DSNs about our messages) in SQLite: reads on this connection, writes through the writer. */
import type { Db } from "./database.js";
import type { Writer } from "./writer.js";
import type { DeliveryEvent, DeliveryEventStore } from "../types.js";
import { toDeliveryEvent, type DeliveryEventRow } from "../rows-delivery-events.js";

export class SqliteDeliveryEvents implements DeliveryEventStore {
  private readonly list_;

  constructor(
    db: Db,
    private readonly writer: Writer,
  ) {
    this.list_ = db.prepare("SELECT * FROM delivery_events WHERE queue_id = ? ORDER BY at, id");
  }

  async record(events: readonly DeliveryEvent[]): Promise<void> {
    if (events.length) await this.writer.run("recordDeliveryEvents", [...events]);
  }

  async list(queueId: string): Promise<DeliveryEvent[]> {
    return (this.list_.all(queueId) as DeliveryEventRow[]).map(toDeliveryEvent);
  }
}

/** The writer's side (write-ops.ts). */
export function deliveryEventWriteOps(db: Db) {
  const insert = db.prepare("INSERT INTO delivery_events (queue_id, recipient, action, status, diagnostic, remote_mta, at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  const record = db.transaction((events: readonly DeliveryEvent[]) => {
    for (const e of events) insert.run(e.queueId, e.recipient, e.action, e.status, e.diagnostic, e.remoteMta, e.at);
  });
  return { recordDeliveryEvents: (events: readonly DeliveryEvent[]) => record.immediate(events) };
}
