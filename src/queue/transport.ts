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

/**
 * "retry" outcomes get their next attempt time from the queue's retry policy. reply is the
 * full SMTP reply that decided it (the remote server's, or one made up locally); it becomes
 * the DSN's Diagnostic-Code.
 */
export type AttemptOutcome = {
  idx: number;
  status: "delivered" | "failed" | "retry";
  reply: string;
  /** The remote server that gave the reply (the DSN's Remote-MTA), when one did. */
  remoteMta?: string;
  /**
   * Delivered to a server that supports DSN, with the recipient's NOTIFY passed on (RFC 3461
   * 5.2.1): that server reports success, so Petrel does not.
   */
  dsnPassedOn?: boolean;
  /**
   * For "retry": nothing was attempted (e.g. too many deliveries to that destination in
   * progress, or over its rate), so try again after this long instead of backing off along the
   * retry schedule; the recipient's attempt count stays as it was.
   */
  retryAfterMs?: number;
  /**
   * For "retry": nothing was attempted because the destination had no free connection slot.
   * The scheduler may keep the recipients leased and try again as soon as another delivery
   * finishes, instead of recording a deferral (retryAfterMs applies when it does record one).
   */
  busy?: boolean;
};

export interface Transport {
  deliver(job: DeliveryJob): Promise<AttemptOutcome[]>;
}
