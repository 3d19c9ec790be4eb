/**
 * The transport the scheduler uses: recipients at local domains (and "<Postmaster>" with no
 * domain) go to the local transport, the rest to the remote one; both run at once on one
 * reading of the body, and the outcomes are merged per recipient. A transport that throws
 * costs its own recipients a retry, never the other's outcomes.
 */
import type { Logger } from "../core/logger.js";
import type { AttemptOutcome, DeliveryJob, Transport } from "../queue/transport.js";
import type { DueRecipient } from "../store/types.js";
import { domainOf } from "./remote/transport.js";

export interface RouterDeps {
  isLocalDomain(domain: string): Promise<boolean>;
  local: Transport;
  /** null: outbound delivery is off; remote recipients wait in the queue. */
  remote: (Transport & { close?(graceMs?: number): Promise<void> }) | null;
  log: Logger;
}

export interface RoutingTransport extends Transport {
  /** Shutdown: remote deliveries in progress get `graceMs`, then their connections are dropped. */
  close(graceMs?: number): Promise<void>;
}

export function createRouter(deps: RouterDeps): RoutingTransport {
  return {
    async deliver(job: DeliveryJob): Promise<AttemptOutcome[]> {
      const local: DueRecipient[] = [];
      const remote: DueRecipient[] = [];
      for (const r of job.recipients) {
        const d = domainOf(r.address);
        if (d === "" || (await deps.isLocalDomain(d))) local.push(r);
        else remote.push(r);
      }
      let body: Promise<Buffer> | undefined;
      const once = () => (body ??= job.body());
      const run = async (t: Transport | null, recipients: DueRecipient[], name: string): Promise<AttemptOutcome[]> => {
        if (recipients.length === 0) return [];
        if (!t) return recipients.map((r) => ({ idx: r.idx, status: "retry", reply: "451 4.4.0 Outbound delivery is not enabled on this node" }));
        try {
          return await t.deliver({ ...job, recipients, body: once });
        } catch (err) {
          deps.log.error({ err, queueId: job.message.id, transport: name }, "delivery attempt failed");
          return recipients.map((r) => ({ idx: r.idx, status: "retry", reply: "451 4.3.0 Local error in delivery" }));
        }
      };
      const [a, b] = await Promise.all([run(deps.local, local, "local"), run(deps.remote, remote, "remote")]);
      return [...a, ...b];
    },
    async close(graceMs) {
      await deps.remote?.close?.(graceMs);
    },
  };
}
