/**
 * From a queue entry and what happened to some of its recipients to the DSN that reports it,
 * ready to be queued (Queue.prepare): sent from the null reverse-path to the envelope sender.
 * Who wants which notice (NOTIFY) and "never bounce a bounce" are decided here, for the
 * scheduler and the `petrel queue bounce` command alike.
 */
import type { NewQueueMessage, QueueEntry, QueueRecipient } from "../store/types.js";
import type { Queue } from "./queue.js";
import { buildDsn, statusFor, wantsNotice, type DsnAction, type NoticeKind } from "./dsn.js";

export interface NoticeOptions {
  hostname: string;
  /** How long the queue keeps trying (Will-Retry-Until of delay reports). */
  maxQueueTimeMs: number;
  /** Largest original returned whole in a failure report without RET (headers only above). */
  fullMax?: number;
}

/** One recipient's event: the reply that decided it, and the server that gave it. */
export interface NoticeEvent {
  recipient: QueueRecipient;
  reply: string | null;
  remoteMta?: string;
  /** Overrides the status derived from the reply (e.g. 5.4.7 when the queue gave up). */
  status?: string;
  /** A success at a remote server that did not take the DSN request over (RFC 3461 "relayed"). */
  relayed?: boolean;
}

const ACTION: Record<NoticeKind, DsnAction> = { failure: "failed", delay: "delayed", success: "delivered" };

interface Envelope {
  mail?: { ret?: string; envid?: string };
}

/**
 * The DSN for these events of one message, or null when none is due: the sender is the null
 * reverse-path (a DSN is never answered with a DSN, RFC 3461 6.2), or no recipient asked for
 * this kind. The returned row is prepared, not committed.
 */
export async function prepareNotice(queue: Queue, opts: NoticeOptions, entry: QueueEntry, original: Buffer, kind: NoticeKind, events: readonly NoticeEvent[], now: number): Promise<NewQueueMessage | null> {
  if (entry.sender === "") return null;
  const wanted = events.filter((e) => wantsNotice(e.recipient.dsn, kind));
  if (wanted.length === 0) return null;
  const mail = (entry.envelope as Envelope | null)?.mail ?? {};
  const dsn = buildDsn({
    hostname: opts.hostname,
    queueId: entry.id,
    sender: entry.sender,
    arrivalDate: entry.createdAt,
    envid: mail.envid,
    ret: mail.ret,
    original,
    now,
    fullMax: opts.fullMax,
    recipients: wanted.map((e) => {
      const action: DsnAction = kind === "success" && e.relayed ? "relayed" : ACTION[kind];
      return {
        address: e.recipient.address,
        orcpt: e.recipient.dsn.orcpt,
        action,
        status: e.status ?? statusFor(action, e.reply),
        reply: e.reply,
        remoteMta: e.remoteMta,
        lastAttemptAt: now,
        willRetryUntil: kind === "delay" ? entry.createdAt + opts.maxQueueTimeMs : undefined,
      };
    }),
  });
  return queue.prepare("", [entry.sender], dsn.body, { body: dsn.eightBit ? "8BITMIME" : undefined, smtputf8: dsn.smtputf8, dsnFor: entry.id, dsnKind: kind }, { listener: "internal", helo: opts.hostname });
}

/** Whether the message has no sender to report to (logged by callers: "not bouncing a bounce"). */
export const isNullSender = (entry: QueueEntry) => entry.sender === "";
