/**
 * Local delivery (the MDA): each local recipient's copy goes into the account's INBOX in one
 * store transaction, with Return-Path and Delivered-To prepended (RFC 5321 4.4). The MIME
 * structure is parsed once here, so IMAP never reparses. Delivery is idempotent by
 * (queue id, recipient, account): after a crash the retry adds nothing twice.
 */
import { createHash } from "node:crypto";
import type { Logger } from "../../core/logger.js";
import { Batcher } from "../../core/batcher.js";
import type { DeliveryItemResult, Directory, DueRecipient, LocalDelivery, Mailstore } from "../../store/types.js";
import type { AttemptOutcome, DeliveryJob, Transport } from "../../queue/transport.js";
import { envelopeVerdict } from "../../queue/verdict.js";
import { resolveRecipient, type ResolveOptions } from "./resolve.js";
import { parseMessage } from "../../mime/index.js";
import { traceHeaders } from "./trace.js";

export interface LocalTransportOptions {
  resolve: ResolveOptions;
  /** Over quota: retry later (452 4.2.2) or fail at once (552 5.2.2). */
  quotaExceeded: "temporary" | "permanent";
  /** More Received: headers than this is a mail loop (RFC 5321 6.3). */
  maxHops: number;
}

/** About a forwarded copy: the alias's domain (SRS, ARC), and whether the message demanded TLS. */
export interface ForwardVia {
  aliasDomain?: string;
  requireTls?: boolean;
}

export interface LocalTransportDeps {
  directory: Directory;
  mailstore: Mailstore;
  /** Hand remote alias targets back to the queue (outbound delivery takes them). */
  forward(sender: string, recipients: string[], body: Buffer, queueId: string, via?: ForwardVia): Promise<string>;
  log: Logger;
  opts: LocalTransportOptions;
}

export function createLocalTransport(deps: LocalTransportDeps): Transport {
  const { directory, mailstore, opts } = deps;
  // Copies from many concurrent attempts share one transaction.
  const batcher = new Batcher<LocalDelivery, DeliveryItemResult[]>((items) => mailstore.deliver(items), 200);

  return {
    async deliver(job: DeliveryJob): Promise<AttemptOutcome[]> {
      const raw = await job.body();
      const parsed = parseMessage(raw);
      const trace = traceHeaders(raw, parsed.headerEnd);
      if (trace.received > opts.maxHops) {
        return job.recipients.map((r) => ({ idx: r.idx, status: "failed", reply: `554 5.4.6 Too many hops (${trace.received} Received: headers); mail loop?` }));
      }
      const blob = { id: createHash("sha256").update(raw).digest("hex"), data: raw, size: raw.length, parsed };
      const sender = job.message.sender;
      const internalDate = job.message.createdAt;
      const remoteTargets = new Set<string>();
      /** The domain of the (first) alias that forwards: SRS and ARC speak for it. */
      let aliasDomain: string | undefined;
      // DMARC p=quarantine and the like (queue/verdict.ts): local copies go to Junk (RFC 6154 \Junk).
      const box = envelopeVerdict(job.message.envelope) ? { mailbox: "Junk", specialUse: "\\Junk" } : { mailbox: "INBOX" };

      const perRecipient = await Promise.all(
        job.recipients.map(async (r: DueRecipient): Promise<AttemptOutcome | Promise<AttemptOutcome>> => {
          const res = await resolveRecipient(r.address, directory, opts.resolve);
          if (res.kind === "unknown") return { idx: r.idx, status: "failed", reply: `550 5.1.1 <${r.address}>: no such user here` };
          if (res.kind === "loop") return { idx: r.idx, status: "failed", reply: `554 5.4.6 <${r.address}>: alias loop` };
          if (res.kind === "unrouted") {
            deps.log.warn({ event: "delivery", rcpt: r.address }, "no mailbox for postmaster/abuse: set delivery.postmaster to an account");
            return { idx: r.idx, status: "retry", reply: `451 4.3.0 <${r.address}>: no mailbox configured for this role address (delivery.postmaster)` };
          }
          // The router sends only local domains here: this one stopped being local since; the
          // next attempt goes through the router again and out to its MX.
          if (res.kind === "remote") return { idx: r.idx, status: "retry", reply: `451 4.4.0 <${r.address}>: no longer a local domain; will be routed again` };
          for (const t of res.remote) remoteTargets.add(t);
          if (res.remote.length) aliasDomain ??= r.address.slice(r.address.lastIndexOf("@") + 1);
          const items = res.accounts
            .filter((a) => !trace.deliveredTo.has(a.address.toLowerCase()))
            .map((a) => ({ accountId: a.id, ...box, prefix: Buffer.from(`Return-Path: <${sender}>\r\nDelivered-To: ${a.address}\r\n`) }));
          if (items.length === 0 && res.accounts.length > 0 && res.remote.length === 0) {
            return { idx: r.idx, status: "failed", reply: `554 5.4.6 <${r.address}>: mail loop (already delivered to this mailbox)` };
          }
          if (items.length === 0) return { idx: r.idx, status: "delivered", reply: "250 2.1.5 forwarded" };
          const results = await batcher.add({ queueId: job.message.id, rcptIdx: r.idx, internalDate, blob, items });
          return outcomeOf(r, results, opts.quotaExceeded);
        }),
      );
      if (remoteTargets.size > 0) {
        // RFC 8689: a message received with REQUIRETLS keeps it when forwarded.
        const requireTls = (job.message.envelope as { mail?: { requireTls?: boolean } } | null)?.mail?.requireTls === true;
        const id = await deps.forward(sender, [...remoteTargets], raw, job.message.id, { ...(aliasDomain ? { aliasDomain } : {}), ...(requireTls ? { requireTls } : {}) });
        deps.log.info({ event: "forward", queueId: job.message.id, newQueueId: id, to: [...remoteTargets] }, "forwarded to remote alias targets");
      }
      return perRecipient as AttemptOutcome[];
    },
  };
}

function outcomeOf(r: DueRecipient, results: DeliveryItemResult[], quota: "temporary" | "permanent"): AttemptOutcome {
  if (results.some((x) => x.status === "no-account")) return { idx: r.idx, status: "failed", reply: `550 5.1.1 <${r.address}>: mailbox no longer exists` };
  if (results.some((x) => x.status === "over-quota")) {
    return quota === "permanent" ? { idx: r.idx, status: "failed", reply: `552 5.2.2 <${r.address}>: mailbox full` } : { idx: r.idx, status: "retry", reply: `452 4.2.2 <${r.address}>: mailbox full` };
  }
  return { idx: r.idx, status: "delivered", reply: `250 2.0.0 delivered to ${results.length} mailbox${results.length > 1 ? "es" : ""}` };
}
