/**
 * What to do with an inbound message given its SPF, DKIM, ARC and DMARC results: the end-of-
 * data verdict (accept, quarantine = deliver to Junk, reject 550 5.7.1, defer 451).
 *
 * The rules, in order (each one a config knob, global and per recipient domain):
 * - DMARC pass (RFC 7489 4.2: an aligned SPF or DKIM pass) authenticates the message: an SPF
 *   fail is then not held against it (RFC 7489 10.1: rejecting on SPF alone before DMARC breaks
 *   mail that DKIM would have authenticated).
 * - A DMARC failure is overridden by a valid ARC chain whose newest seal comes from a trusted
 *   sealer and whose ARC-Authentication-Results recorded dmarc=pass (RFC 8617 7.2, RFC 7489
 *   6.7 "local policy": trusted forwarders and mailing lists).
 * - SPF fail on MAIL FROM or HELO: spf.failAction (default reject), softfail:
 *   spf.softfailAction (default accept).
 * - DMARC fail with p=reject / p=quarantine (sp= for subdomains): after pct= sampling
 *   (RFC 7489 6.6.4: a message outside the sample gets the next less strict policy),
 *   dmarc.rejectAction (default reject) / dmarc.quarantineAction (default quarantine).
 * - Temporary DNS errors never cause a rejection: when a reject is due but a check that could
 *   have given the missing pass ended in temperror (SPF, DKIM, or the DMARC record itself), the
 *   message is deferred with 451 instead (RFC 7208 8.6, RFC 6376 6.1.2 TEMPFAIL, RFC 7489
 *   6.6.3). A temperror that could not change the outcome is recorded and the mail accepted.
 */
import type { Reply } from "../core/reply.js";
import { R } from "../smtp/replies.js";

export type AuthAction = "reject" | "quarantine" | "accept";

export interface InboundAuthPolicy {
  spf: { failAction: AuthAction; softfailAction: AuthAction };
  dmarc: { rejectAction: AuthAction; quarantineAction: AuthAction };
  arc: { trustedSealers: readonly string[] };
}

/** The facts the policy needs (a projection of msgauth's VerifyResults). */
export interface AuthFacts {
  ip: string;
  spf: { result: string; domain: string };
  helo: { result: string; domain: string } | null;
  /** DKIM results, one per signature. */
  dkim: readonly { result: string; domain: string }[];
  arc: { result: string; sealer: string | null; dmarcRecorded: string | null };
  /** null: no single From: address. */
  dmarc: { result: string; domain: string; fromDomain: string; policy: string | null; pct: number } | null;
}

export type InboundDecision =
  | { action: "accept"; note?: string }
  | { action: "quarantine"; reason: string }
  | { action: "reject" | "defer"; reason: string; reply: Reply };

const STRENGTH = { accept: 0, quarantine: 1, defer: 2, reject: 3 } as const;

/** RFC 7489 6.6.4: outside the pct= sample, reject becomes quarantine and quarantine none. */
function sampledPolicy(policy: string, pct: number, random: () => number): string {
  if (pct >= 100 || random() * 100 < pct) return policy;
  return policy === "reject" ? "quarantine" : "none";
}

export function isTrustedSealer(sealer: string | null, trusted: readonly string[]): boolean {
  if (!sealer) return false;
  const s = sealer.toLowerCase().replace(/\.$/, "");
  return trusted.some((t) => t.toLowerCase().replace(/\.$/, "") === s);
}

/**
 * The verdict for one recipient domain's policy. `random` gives [0, 1) for pct sampling.
 */
export function inboundDecision(f: AuthFacts, p: InboundAuthPolicy, random: () => number = Math.random): InboundDecision {
  const dmarcPass = f.dmarc?.result === "pass";
  const arcOverride = !dmarcPass && f.arc.result === "pass" && f.arc.dmarcRecorded === "pass" && isTrustedSealer(f.arc.sealer, p.arc.trustedSealers);
  const authenticated = dmarcPass || arcOverride;
  const temp =
    f.spf.result === "temperror" || f.helo?.result === "temperror" || f.dkim.some((d) => d.result === "temperror") || f.dmarc?.result === "temperror";

  type Want = { action: AuthAction; reason: string; spf: boolean };
  const wants: Want[] = [];
  if (!authenticated) {
    for (const [id, r] of [["MAIL FROM", f.spf], ["HELO", f.helo]] as const) {
      if (!r) continue;
      if (r.result === "fail") wants.push({ action: p.spf.failAction, reason: `SPF: ${r.domain} does not allow ${f.ip} to send its mail (${id})`, spf: true });
      else if (r.result === "softfail") wants.push({ action: p.spf.softfailAction, reason: `SPF: ${r.domain} does not designate ${f.ip} as a permitted sender (${id}, softfail)`, spf: true });
    }
    const d = f.dmarc;
    if (d && d.result === "fail" && d.policy) {
      const policy = sampledPolicy(d.policy, d.pct, random);
      const why = `DMARC: ${d.fromDomain} publishes p=${d.policy} and neither SPF nor DKIM authenticated it`;
      if (policy === "reject") wants.push({ action: p.dmarc.rejectAction, reason: why, spf: false });
      else if (policy === "quarantine") wants.push({ action: p.dmarc.quarantineAction, reason: why, spf: false });
    }
  }
  let worst: Want | undefined;
  for (const w of wants) if (!worst || STRENGTH[w.action] > STRENGTH[worst.action]) worst = w;
  const note = arcOverride ? `DMARC failure overridden: trusted ARC sealer ${f.arc.sealer} recorded dmarc=pass` : undefined;
  if (!worst || worst.action === "accept") return note ? { action: "accept", note } : { action: "accept" };
  if (worst.action === "quarantine") return { action: "quarantine", reason: worst.reason };
  // A reject that a lost DNS answer might have prevented is only a deferral.
  if (temp) {
    const reason = printable(`${worst.reason}; a DNS lookup failed temporarily, try again later`);
    return { action: "defer", reason, reply: worst.spf ? R.spfTempFailed(reason) : R.authTempFailed(reason) };
  }
  return { action: "reject", reason: worst.reason, reply: R.authRejected(printable(worst.reason)) };
}

/** Reply text comes partly from the message (From: domain): printable ASCII only. */
const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, "?").slice(0, 400);

/** Per recipient domain: the global policy with that domain's overrides. */
export function mergePolicy(base: InboundAuthPolicy, o: { spf?: Partial<InboundAuthPolicy["spf"]>; dmarc?: Partial<InboundAuthPolicy["dmarc"]>; arc?: Partial<InboundAuthPolicy["arc"]> } | undefined): InboundAuthPolicy {
  if (!o) return base;
  return { spf: { ...base.spf, ...o.spf }, dmarc: { ...base.dmarc, ...o.dmarc }, arc: { ...base.arc, ...o.arc } };
}

/** Several recipient domains, several policies: the strictest verdict wins (one reply per DATA). */
export function strictest(ds: readonly InboundDecision[]): InboundDecision {
  let worst: InboundDecision = { action: "accept" };
  for (const d of ds) if (STRENGTH[d.action] > STRENGTH[worst.action] || (d.action === "accept" && worst.action === "accept" && d.note)) worst = d;
  return worst;
}
