/** Delivery events (DSNs about our messages) in PostgreSQL. */
import { transaction, type Pool } from "./database.js";
import type { DeliveryEvent, DeliveryEventStore } from "../types.js";
import { toDeliveryEvent, type DeliveryEventRow } from "../rows-delivery-events.js";

export class PgDeliveryEvents implements DeliveryEventStore {
  constructor(private readonly pool: Pool) {}

  async record(events: readonly DeliveryEvent[]): Promise<void> {
    if (!events.length) return;
    await transaction(this.pool, async (c) => {
      for (const e of events) {
        await c.query("INSERT INTO delivery_events (queue_id, recipient, action, status, diagnostic, remote_mta, at) VALUES ($1, $2, $3, $4, $5, $6, $7)", [e.queueId, e.recipient, e.action, e.status, e.diagnostic, e.remoteMta, e.at]);
      }
    });
  }

  async list(queueId: string): Promise<DeliveryEvent[]> {
    const { rows } = await this.pool.query<DeliveryEventRow>({ name: "petrel.devents.list", text: "SELECT * FROM delivery_events WHERE queue_id = $1 ORDER BY at, id", values: [queueId] });
    return rows.map(toDeliveryEvent);
  }
}
