/**
 * Inbound message authentication on the MX listener: a step between the engine and the queue,
 * one per message, like DkimSigning for submission. Unauthenticated sessions on `smtp` only.
 *
 * While the message arrives, each octet the client sent goes to the verifier (DKIM body hashes
 * on the fly; the SPF lookups started when the message was opened), and the header block is
 * held until complete so that forged Authentication-Results fields with our authserv-id can be
 * dropped (RFC 8601 5) before it goes on to the queue. At end of data: ARC, DMARC, the policy
 * verdict, and our Authentication-Results field to prepend.
 */
import type { Logger } from "../core/logger.js";
import type { Reply } from "../core/reply.js";
import type { Resolver } from "../dns/types.js";
import { mailauthResolver, type MailauthResolver } from "../dns/mailauth.js";
import type { SessionView, TransactionView } from "../smtp/handler.js";
import { R } from "../smtp/replies.js";
import { MessageVerifier, unmapIp, type VerifyResults } from "../msgauth/verify.js";
import { authResultsField } from "../msgauth/auth-results.js";
import { ForgedResultsFilter } from "../msgauth/forged-results.js";
import { inboundDecision, mergePolicy, strictest, type AuthFacts, type InboundAuthPolicy, type InboundDecision } from "../policy/inbound-auth.js";
import type { QueueVerdict } from "../queue/verdict.js";
import type { Config } from "../config/schema.js";
import { formatAddress } from "../core/address.js";
import { NetworkList } from "../policy/net.js";

/** Longest header block an inbound message may have (Gmail refuses larger ones too). */
export const MAX_INBOUND_HEADER = 1024 * 1024;

export interface InboundAuthDeps {
  resolver: Resolver;
  hostname: string;
  config: Config["inbound"];
  log: Logger;
  now(): number;
  /** [0, 1) for DMARC pct= sampling (tests fix it). */
  random?: () => number;
  /** Each message's results and verdict, for DMARC aggregate reports (app/dmarc-reports.ts). */
  onEvaluated?(s: SessionView, txn: TransactionView, results: VerifyResults, decision: InboundDecision): void;
}

/** What end of data gives. */
export interface InboundOutcome {
  /** A refusal (550 / 451 / 552) to send instead of queueing. */
  refusal?: Reply;
  /** The Authentication-Results field to prepend. */
  header?: Buffer;
  /** Stored with the message for delivery (quarantine = Junk). */
  verdict?: QueueVerdict;
}

export interface InboundCheck {
  write(parts: readonly Buffer[]): Promise<void>;
  finish(): Promise<InboundOutcome>;
  abort(): void;
}

export class InboundAuth {
  private readonly resolver: MailauthResolver;
  private readonly policy: InboundAuthPolicy;
  private readonly perDomain: Map<string, InboundAuthPolicy>;
  /**
   * inbound.localNetworks: our own hosts (scripts, content filters re-injecting mail with their
   * own Authentication-Results): not checked, like authenticated submission.
   */
  private readonly local: NetworkList;

  constructor(private readonly deps: InboundAuthDeps) {
    this.resolver = mailauthResolver(deps.resolver);
    const c = deps.config;
    this.policy = { spf: c.spf, dmarc: c.dmarc, arc: c.arc };
    this.local = new NetworkList(c.localNetworks ?? []);
    this.perDomain = new Map(Object.entries(c.perDomain).map(([d, o]) => [d.toLowerCase().replace(/\.$/, ""), mergePolicy(this.policy, o)]));
  }

  /** The check for this message, or undefined when it is not checked (submission, AUTH, local networks). */
  open(s: SessionView, txn: TransactionView, forward: (parts: readonly Buffer[]) => void | Promise<void>): InboundCheck | undefined {
    if (!this.deps.config.authentication || s.listener !== "smtp" || s.authUser !== undefined || this.local.has(s.remoteAddress)) return undefined;
    const { hostname, log } = this.deps;
    const sender = txn.from.address ? formatAddress(txn.from.address) : "";
    const verifier = new MessageVerifier({ resolver: this.resolver, ip: s.remoteAddress, helo: s.helo ?? "", sender, hostname, minBitLength: this.deps.config.minKeyBits, now: this.deps.now });
    const filter = new ForgedResultsFilter(hostname, forward, MAX_INBOUND_HEADER);
    const domains = [...new Set(txn.rcpts.map((r) => (r.address.domain ?? "").toLowerCase()))];
    let first = true;
    return {
      write: async (parts) => {
        // The engine's first write is our own Received: field: stored, not verified.
        if (first) first = false;
        else if (!filter.tooLarge) for (const p of parts) await verifier.write(p);
        await filter.write(parts);
      },
      finish: async () => {
        await filter.end();
        if (filter.tooLarge) {
          verifier.abort();
          return { refusal: R.headerTooLarge() };
        }
        const results = await verifier.finish();
        const decision = strictest(domains.map((d) => inboundDecision(facts(s.remoteAddress, results), this.perDomain.get(d) ?? this.policy, this.deps.random)));
        const header = authResultsField(hostname, results, { dmarc: decision.action === "accept" ? decision.note : undefined });
        log.info(
          {
            event: "inbound-auth",
            session: s.id,
            spf: results.spf.status.result,
            helo: results.helo?.status.result,
            dkim: results.dkim.filter((d) => d.signingDomain).map((d) => `${d.signingDomain}:${d.status.result}`),
            arc: results.arc.status.result,
            dmarc: results.dmarc?.status.result,
            action: decision.action,
            ...(filter.removed ? { forgedResultsRemoved: filter.removed } : {}),
          },
          decisionText(decision),
        );
        this.deps.onEvaluated?.(s, txn, results, decision);
        if (decision.action === "reject" || decision.action === "defer") return { refusal: decision.reply };
        if (decision.action === "quarantine") return { header, verdict: { action: "quarantine", reason: decision.reason } };
        return { header };
      },
      abort: () => verifier.abort(),
    };
  }
}

function decisionText(d: InboundDecision): string {
  return d.action === "accept" ? (d.note ?? "message authenticated or no policy applies") : `${d.action}: ${d.reason}`;
}

/** The facts the policy reads, from mailauth's results. */
export function facts(ip: string, r: VerifyResults): AuthFacts {
  const dmarcRec = r.arc.authenticationResults as { dmarc?: { result?: string } } | undefined;
  const d = r.dmarc;
  // The author domain DMARC judged (the least favourable one when there are several).
  const fromDomain = ((d?.status.header as { d?: string } | undefined)?.d ?? d?.domain ?? "").toLowerCase();
  return {
    ip: unmapIp(ip),
    spf: { result: r.spf.status.result, domain: r.spf.domain },
    helo: r.helo ? { result: r.helo.status.result, domain: r.helo.domain } : null,
    dkim: r.dkim.map((x) => ({ result: x.status.result, domain: x.signingDomain })),
    arc: { result: r.arc.status.result, sealer: r.arcSealer, dmarcRecorded: dmarcRec?.dmarc?.result?.toLowerCase() ?? null },
    dmarc: d
      ? {
          result: d.status.result,
          domain: d.domain,
          fromDomain,
          policy: typeof d.policy === "string" ? d.policy.toLowerCase() : null,
          pct: typeof d.pct === "number" ? d.pct : 100,
        }
      : null,
  };
}
