/** delivery_events rows (both backends) to DeliveryEvent. */
import type { DeliveryEvent } from "./delivery-event-types.js";

export type DeliveryEventRow = { queue_id: string; recipient: string; action: string; status: string; diagnostic: string | null; remote_mta: string | null; at: number | string };

export function toDeliveryEvent(r: DeliveryEventRow): DeliveryEvent {
  return { queueId: r.queue_id, recipient: r.recipient, action: r.action, status: r.status, diagnostic: r.diagnostic, remoteMta: r.remote_mta, at: Number(r.at) };
}
