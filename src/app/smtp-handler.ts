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

export function createSmtpHandler(deps: { queue: Queue; directory: Directory; log: Logger }): SmtpHandler {
  const { queue, directory } = deps;
  return {
    async mail() {
      return undefined;
    },

    async rcpt(s, _txn, rcpt) {
      return relayVerdict(rcpt.address, { authenticated: s.authUser !== undefined, isLocalDomain: (d) => directory.isLocalDomain(d) });
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
          return R.queued(incoming.id);
        },
        abort: () => incoming.abort(),
      };
    },
  };
}
