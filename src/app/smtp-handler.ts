/**
 * The SmtpHandler that the engine calls: relay policy at RCPT, the durable queue at DATA.
 * Only app/ knows both sides.
 */
import { formatAddress } from "../core/address.js";
import type { Logger } from "../core/logger.js";
import type { SessionFacts } from "../core/envelope.js";
import type { MessageSink, SessionView, SmtpHandler } from "../smtp/handler.js";
import { R } from "../smtp/replies.js";
import type { Queue } from "../queue/queue.js";
import type { Directory } from "../store/types.js";
import { relayVerdict } from "../policy/relay.js";
import { resolveRecipient, type ResolveOptions } from "../delivery/local/resolve.js";
import type { Submission } from "./submission.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { DkimSigning } from "./dkim-signing.js";
import { MessageIdSniffer } from "./message-id.js";
import type { InboundAuth } from "./inbound-auth.js";
import type { InboundGuard } from "../policy/antiabuse.js";
import type { SpamFilter } from "./spam-filter.js";

export interface SmtpHandlerDeps {
  queue: Queue;
  directory: Directory;
  log: Logger;
  resolve: ResolveOptions;
  quotaExceeded: "temporary" | "permanent";
  /** Called after each message is committed (wakes the delivery scheduler). */
  onQueued(): void;
  /** Sender policy, sending limits and RFC 6409 fixes for authenticated and submission sessions. */
  submission?: Submission;
  /** SMTP AUTH (RFC 4954) on the submission listeners; without it AUTH is not offered. */
  authenticator?: Authenticator;
  /** DKIM signing of authenticated sessions' messages, after the submission gate's additions. */
  dkim?: DkimSigning;
  /** SPF/DKIM/ARC/DMARC of MX mail from unauthenticated sessions, with Authentication-Results. */
  inboundAuth?: InboundAuth;
  /** Rate limits, DNSBL, greylisting and client facts on the MX listener (policy/antiabuse.ts). */
  antiAbuse?: InboundGuard;
  /** rspamd at end of data on the MX listener (spamFilter.enabled). */
  spamFilter?: SpamFilter;
  /** Seconds from the end of the message data to the 250 (metrics). */
  observeAccept?(s: SessionView, seconds: number): void;
}

export function createSmtpHandler(deps: SmtpHandlerDeps): SmtpHandler {
  const { queue, directory } = deps;
  const { authenticator } = deps;
  return {
    // AUTH on submission and submissions only (RFC 6409): the MX listener takes mail for local
    // users, and logins there would only invite password guessing. The engine offers the
    // mechanisms inside TLS only, unless smtp.allowInsecureAuth.
    saslMechanisms: (s) => (authenticator && s.listener !== "smtp" ? authenticator.mechanisms() : []),

    startSasl(s, mechanism) {
      const mech = authenticator?.start(mechanism, { remoteIp: s.remoteAddress, protocol: "smtp" });
      if (!authenticator || !mech) return undefined;
      return {
        async step(response) {
          const started = authenticator.now();
          const r = await mech.step(response);
          // Every failure is answered after the same delay, whatever the reason.
          if ("failed" in r) await authenticator.delayFailure(started);
          return r;
        },
      };
    },

    connect: async (s) => deps.antiAbuse?.connect(s),

    helo: async (s, name) => deps.antiAbuse?.helo(s, name),

    async mail(s, from) {
      const abuse = await deps.antiAbuse?.mail(s, from.address ?? null);
      if (abuse) return abuse;
      return deps.submission?.mail(s, from.address ? formatAddress(from.address) : null);
    },

    async rcpt(s, txn, rcpt) {
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
      // DNSBL and greylisting after the recipient checks: no state is kept for unknown users.
      const abuse = await deps.antiAbuse?.rcpt(s, txn.from.address ?? null, a);
      if (abuse) return abuse;
      return deps.submission?.rcpt(s, txn.rcpts.length);
    },

    async openMessage(s, txn): Promise<MessageSink> {
      const from = txn.from;
      const incoming = queue.receive({
        sender: from.address ? formatAddress(from.address) : "",
        recipients: txn.rcpts.map((r) => ({ address: r.address.domain ? formatAddress(r.address) : r.address.local, dsn: { notify: r.dsn.notify ? [...r.dsn.notify] : undefined, orcpt: r.dsn.orcpt } })),
        mail: { body: from.body, smtputf8: from.smtputf8, requireTls: from.requireTls, declaredSize: from.declaredSize, ret: from.dsn.ret, envid: from.dsn.envid, auth: from.auth },
      });
      // The signer sees exactly what goes into the queue (after the gate's added fields).
      const signer = deps.dkim?.open(s);
      const store = signer
        ? (parts: readonly Buffer[]) => {
            signer.update(parts);
            return incoming.write(parts);
          }
        : (parts: readonly Buffer[]) => incoming.write(parts);
      const gate = await deps.submission?.open(s, incoming.id, store);
      // MX mail (never authenticated sessions, so never together with gate or signer).
      const inbound = deps.inboundAuth?.open(s, txn, store);
      // For `petrel trace <Message-ID>`: logged with the queue id once the message is accepted.
      const sniffer = new MessageIdSniffer();
      return {
        id: incoming.id,
        write: (parts) => {
          sniffer.update(parts);
          return gate ? gate.write(parts) : inbound ? inbound.write(parts) : store(parts);
        },
        async commit(facts: SessionFacts) {
          const started = performance.now();
          const refusal = await gate?.end();
          if (refusal) {
            await incoming.abort();
            return refusal;
          }
          // Signing comes last, over the message as it will be stored (RFC 6376 5: after any change).
          const signature = await signer?.finish();
          if (signature) await incoming.prepend(signature);
          const checked = await inbound?.finish();
          if (checked?.refusal) {
            await incoming.abort();
            return checked.refusal;
          }
          const spam = await deps.spamFilter?.scan(s, txn, incoming);
          if (spam?.refusal) {
            await incoming.abort();
            return spam.refusal;
          }
          // Authentication-Results, then the spam filter's fields, in one prepend (one copy of a spooled file).
          const head = Buffer.concat([checked?.header ?? Buffer.alloc(0), spam?.header ?? Buffer.alloc(0)]);
          if (head.length || spam?.drop) await incoming.prepend(head, spam?.drop);
          await incoming.commit(facts, checked?.verdict ?? spam?.verdict);
          deps.onQueued();
          await gate?.accepted(txn.rcpts.length);
          deps.observeAccept?.(s, (performance.now() - started) / 1000);
          deps.log.info({ event: "queued", session: s.id, queueId: incoming.id, messageId: sniffer.messageId ?? null, listener: s.listener, remote: s.remoteAddress, helo: s.helo, tls: s.tls ? `${s.tls.version} ${s.tls.cipher}` : undefined, authUser: s.authUser }, "message queued");
          return R.queued(incoming.id);
        },
        abort: () => {
          inbound?.abort();
          return incoming.abort();
        },
      };
    },
  };
}
