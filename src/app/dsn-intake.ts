/**
 * Incoming DSNs about messages we sent (RFC 3464): a delivery-status report with the null
 * sender, delivered to a local mailbox (the original sender's, or any local address on the
 * MX), is read (queue/dsn-report.ts) and its per-recipient results recorded against our
 * queue id in the store (`petrel queue show ID` lists them, also after the entry is gone).
 * A wrapper around the local transport: the report is delivered like any other message first;
 * recording it never changes the delivery's outcome. DSNs Petrel made itself are skipped.
 */
import type { Logger } from "../core/logger.js";
import type { Transport } from "../queue/transport.js";
import { readDeliveryReport } from "../queue/dsn-report.js";
import type { DeliveryEventStore } from "../store/types.js";

export function withDsnIntake(local: Transport, deps: { events: DeliveryEventStore; hostname: () => string; log: Logger; now: () => number }): Transport {
  return {
    async deliver(job) {
      const outcomes = await local.deliver(job);
      const own = (job.message.envelope as { mail?: { dsnKind?: string } } | null)?.mail?.dsnKind !== undefined;
      if (job.message.sender !== "" || own || !outcomes.some((o) => o.status === "delivered")) return outcomes;
      try {
        const report = readDeliveryReport(await job.body(), deps.hostname());
        if (report) {
          const at = deps.now();
          await deps.events.record(report.recipients.map((r) => ({ queueId: report.queueId, ...r, at })));
          deps.log.info({ event: "dsn-received", queueId: report.queueId, reportQueueId: job.message.id, recipients: report.recipients.map((r) => ({ rcpt: r.recipient, action: r.action, status: r.status })) }, "delivery status notification recorded");
        }
      } catch (err) {
        deps.log.warn({ err, queueId: job.message.id }, "cannot record the delivery status notification");
      }
      return outcomes;
    },
  };
}
