/**
 * The SmtpHandler that the engine calls: relay policy at RCPT, the durable queue at DATA.
 * Only app/ knows both sides.
 */
import { formatAddress } from "../core/address.js";
import type { Logger } from "../core/logger.js";
import type { SessionFacts } from "../core/envelope.js";
import type { MessageSink, SmtpHandler } from "../smtp/handler.js";
import { R } from "../smtp/replies.js";
import type { Queue } from "../queue/queue.js";
import type { Directory } from "../store/types.js";
import { relayVerdict } from "../policy/relay.js";
import { resolveRecipient, type ResolveOptions } from "../delivery/local/resolve.js";

export interface SmtpHandlerDeps {
  queue: Queue;
  directory: Directory;
  log: Logger;
  resolve: ResolveOptions;
  quotaExceeded: "temporary" | "permanent";
  /** Called after each message is committed (wakes the delivery scheduler). */
  onQueued(): void;
}

export function createSmtpHandler(deps: SmtpHandlerDeps): SmtpHandler {
  const { queue, directory } = deps;
  return {
    async mail() {
      return undefined;
    },

    async rcpt(s, _txn, rcpt) {
      const relay = await relayVerdict(rcpt.address, { authenticated: s.authUser !== undefined, isLocalDomain: (d) => directory.isLocalDomain(d) });
      if (relay) return relay;
      // Unknown local users are refused now, at RCPT, so that Petrel never sends backscatter.
      const a = rcpt.address;
      const res = await resolveRecipient(a.domain ? formatAddress(a) : a.local, directory, deps.resolve);
      if (res.kind === "unknown") return R.userUnknown();
      if (res.kind === "loop") return R.aliasLoop();
      if (res.kind === "local" && res.accounts.some((acc) => acc.quota !== null && acc.usedBytes >= acc.quota)) {
        return deps.quotaExceeded === "permanent" ? R.mailboxFullPermanent() : R.mailboxFullTemporary();
      }
      return undefined;
    },

    async openMessage(_s, txn): Promise<MessageSink> {
      const from = txn.from;
      const incoming = queue.receive({
        sender: from.address ? formatAddress(from.address) : "",
        recipients: txn.rcpts.map((r) => ({ address: r.address.domain ? formatAddress(r.address) : r.address.local, dsn: { notify: r.dsn.notify ? [...r.dsn.notify] : undefined, orcpt: r.dsn.orcpt } })),
        mail: { body: from.body, smtputf8: from.smtputf8, requireTls: from.requireTls, declaredSize: from.declaredSize, ret: from.dsn.ret, envid: from.dsn.envid, auth: from.auth },
      });
      return {
        id: incoming.id,
        write: (parts) => incoming.write(parts),
        async commit(facts: SessionFacts) {
          await incoming.commit(facts);
          deps.onQueued();
          return R.queued(incoming.id);
        },
        abort: () => incoming.abort(),
      };
    },
  };
}
