/**
 * The queue's view of delivery (the queue defines it, delivery/ implements it): one attempt
 * for some recipients of one message, answered per recipient.
 */
import type { DueRecipient, QueueEntry } from "../store/types.js";

export interface DeliveryJob {
  message: QueueEntry;
  recipients: DueRecipient[];
  /** The stored message (Received: header included). */
  body(): Promise<Buffer>;
}

/** "retry" outcomes get their next attempt time from the queue's retry policy. */
export type AttemptOutcome = { idx: number; status: "delivered" | "failed" | "retry"; reply: string };

export interface Transport {
  deliver(job: DeliveryJob): Promise<AttemptOutcome[]>;
}
