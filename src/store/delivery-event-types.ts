/**
 * Delivery events reported back to us: a DSN (RFC 3464) that a remote MTA sent about a message
 * Petrel delivered, recorded against our queue id (kept after the queue entry is gone).
 */
export interface DeliveryEvent {
  /** Our queue id of the original message. */
  queueId: string;
  /** Final-Recipient (or Original-Recipient) address. */
  recipient: string;
  /** failed | delayed | delivered | relayed | expanded (RFC 3464 2.3.3). */
  action: string;
  /** Status, e.g. 5.1.1. */
  status: string;
  diagnostic: string | null;
  remoteMta: string | null;
  /** When the report arrived (ms since the epoch). */
  at: number;
}

export interface DeliveryEventStore {
  record(events: readonly DeliveryEvent[]): Promise<void>;
  /** A message's events, oldest first. */
  list(queueId: string): Promise<DeliveryEvent[]>;
}
