/**
 * Anti-abuse on the MX listener, one hook per SMTP stage (the SmtpHandler's connect, helo,
 * mail and rcpt call these): connection and message rate limits, DNS blocklists, greylisting,
 * and the FCrDNS / HELO findings recorded as facts of the session. Authenticated sessions and
 * the submission listeners are never checked: this is about strangers delivering mail to us.
 *
 * Order: CONNECT  rate limit (421), DNSBL when dnsbl.stage is "connect" (554), FCrDNS started
 *        HELO     HELO findings
 *        MAIL     message rate limits per client address and per sender domain (451)
 *        RCPT     DNSBL when dnsbl.stage is "rcpt" (554; postmaster@ and abuse@ let through,
 *                 RFC 5321 4.5.1, RFC 2142), then greylisting (451 4.7.1)
 */
import type { Address } from "../core/address.js";
import type { Logger } from "../core/logger.js";
import type { Reply } from "../core/reply.js";
import type { Resolver } from "../dns/types.js";
import type { KeyValueStore } from "../store/types.js";
import { R } from "../smtp/replies.js";
import { Greylist, type GreylistOptions } from "./greylist.js";
import { Dnsbl, type DnsblOptions, type DnsblResult } from "./dnsbl.js";
import { RateLimiter } from "./rate-limit.js";
import { fcrdns, heloFindings, type FcrdnsResult, type HeloFinding } from "./client-checks.js";
import { NetworkList, plainIp } from "./net.js";
import type { SpfPass } from "./spf-whitelist.js";

/** The part of a session the checks look at (smtp/'s SessionView fits). */
export interface ClientView {
  readonly id: string;
  readonly listener: string;
  readonly remoteAddress: string;
  readonly helo?: string;
  readonly authUser?: string;
}

export interface InboundOptions {
  hostname: string;
  /** Our own networks: trusted by every check here (no rate limit, DNSBL, greylisting; may HELO as us). */
  localNetworks: readonly string[];
  /** FCrDNS of each client and HELO findings, as facts. */
  clientChecks: boolean;
  rateLimits: { connectionsPerMinute: number | null; messagesPerMinutePerIp: number | null; messagesPerMinutePerSenderDomain: number | null };
  dnsbl: DnsblOptions & { stage: "connect" | "rcpt" };
  greylist: (GreylistOptions & { enabled: boolean }) | null;
}

export interface InboundDeps {
  kv: KeyValueStore;
  resolver: Resolver;
  log: Logger;
  now: () => number;
  isLocalDomain(domain: string): Promise<boolean>;
  /** SPF of a sender for greylist.spfWhitelist; without it that whitelist is not used. */
  spfPass?: SpfPass;
}

/** What the checks found about a client, for the log and for later stages (Authentication-Results, scores). */
export interface ClientFacts {
  fcrdns?: FcrdnsResult;
  helo?: { name: string; findings: HeloFinding[] };
  dnsbl?: { listings: DnsblResult["listings"]; score: number; errors: string[] };
  /** The last greylisting verdict of the session ("retried", "known", "new"...). */
  greylist?: string;
}

interface SessionState {
  started: number;
  facts: ClientFacts;
  dnsbl?: Promise<DnsblResult>;
  fcrdns?: Promise<FcrdnsResult>;
  /** SPF verdicts for greylist.spfWhitelist, per sender (a transaction's recipients share one). */
  spf?: Map<string, Promise<boolean>>;
}

/** Sessions whose facts are kept (the oldest go first); the handler has no close hook. */
const MAX_SESSIONS = 20_000;
const SESSION_MAX_AGE = 2 * 3_600_000;

export class InboundGuard {
  readonly greylist: Greylist | null;
  readonly dnsbl: Dnsbl;
  private readonly local: NetworkList;
  private readonly connections: RateLimiter | null;
  private readonly messagesPerIp: RateLimiter | null;
  private readonly messagesPerDomain: RateLimiter | null;
  private readonly sessions = new Map<string, SessionState>();
  private pruneTimer?: NodeJS.Timeout;

  constructor(
    private readonly opts: InboundOptions,
    private readonly deps: InboundDeps,
  ) {
    this.local = new NetworkList(opts.localNetworks);
    this.greylist = opts.greylist?.enabled ? new Greylist(deps.kv, opts.greylist, deps.now) : null;
    this.dnsbl = new Dnsbl(deps.resolver, opts.dnsbl, deps.now);
    const limiter = (n: number | null) => (n === null ? null : new RateLimiter(n, deps.now));
    this.connections = limiter(opts.rateLimits.connectionsPerMinute);
    this.messagesPerIp = limiter(opts.rateLimits.messagesPerMinutePerIp);
    this.messagesPerDomain = limiter(opts.rateLimits.messagesPerMinutePerSenderDomain);
  }

  /** Checked: a stranger on the MX listener (not logged in, not from our networks). */
  private applies(s: ClientView): boolean {
    return s.listener === "smtp" && s.authUser === undefined && !this.local.has(s.remoteAddress);
  }

  /** The facts gathered so far about a session's client (undefined: not checked). */
  facts(sessionId: string): ClientFacts | undefined {
    return this.sessions.get(sessionId)?.facts;
  }

  async connect(s: ClientView): Promise<Reply | undefined> {
    if (!this.applies(s)) return undefined;
    const ip = plainIp(s.remoteAddress);
    const state = this.track(s.id);
    if (this.connections && !this.connections.hit(ip)) {
      this.deps.log.info({ event: "rate-limited", session: s.id, remote: ip, limit: "connectionsPerMinute" }, "too many connections from this address");
      return R.connectionRate(this.opts.hostname);
    }
    if (this.dnsbl.enabled) state.dnsbl = this.dnsblFacts(s.id, ip, state);
    if (this.opts.clientChecks) {
      state.fcrdns = fcrdns(this.deps.resolver, ip).then((r) => {
        state.facts.fcrdns = r;
        this.deps.log.info({ event: "fcrdns", session: s.id, remote: ip, status: r.status, names: r.names }, "reverse DNS checked");
        return r;
      });
      // Nobody waits for it before HELO; a failure is a fact, never a crash.
      state.fcrdns.catch(() => undefined);
    }
    if (this.opts.dnsbl.stage === "connect" && state.dnsbl) return this.dnsblVerdict(ip, await state.dnsbl);
    return undefined;
  }

  async helo(s: ClientView, name: string): Promise<Reply | undefined> {
    if (!this.applies(s) || !this.opts.clientChecks) return undefined;
    const state = this.track(s.id);
    const host = this.opts.hostname.toLowerCase();
    const findings = await heloFindings(name, s.remoteAddress, (n) => n === host || this.deps.isLocalDomain(n));
    state.facts.helo = { name, findings };
    if (findings.length) this.deps.log.info({ event: "helo-check", session: s.id, remote: plainIp(s.remoteAddress), helo: name, findings }, "suspicious HELO name");
    return undefined;
  }

  async mail(s: ClientView, from: Address | null): Promise<Reply | undefined> {
    if (!this.applies(s)) return undefined;
    const ip = plainIp(s.remoteAddress);
    if (this.messagesPerIp && !this.messagesPerIp.hit(ip)) {
      this.deps.log.info({ event: "rate-limited", session: s.id, remote: ip, limit: "messagesPerMinutePerIp" }, "too many messages from this address");
      return R.messageRate("address");
    }
    const domain = from?.domain.toLowerCase();
    if (this.messagesPerDomain && domain && !this.messagesPerDomain.hit(domain)) {
      this.deps.log.info({ event: "rate-limited", session: s.id, remote: ip, domain, limit: "messagesPerMinutePerSenderDomain" }, "too many messages from this sender domain");
      return R.messageRate("domain");
    }
    return undefined;
  }

  async rcpt(s: ClientView, from: Address | null, rcpt: Address): Promise<Reply | undefined> {
    if (!this.applies(s)) return undefined;
    const ip = plainIp(s.remoteAddress);
    const state = this.track(s.id);
    const local = rcpt.local.toLowerCase();
    // RFC 5321 4.5.1 / RFC 2142: a blocked sender must still be able to reach postmaster and abuse.
    const role = local === "postmaster" || local === "abuse";
    if (this.dnsbl.enabled && this.opts.dnsbl.stage === "rcpt" && !role) {
      state.dnsbl ??= this.dnsblFacts(s.id, ip, state);
      const r = this.dnsblVerdict(ip, await state.dnsbl);
      if (r) return r;
    }
    if (this.greylist) {
      const sender = from ? `${from.local}@${from.domain}` : "";
      const recipient = rcpt.domain ? `${rcpt.local}@${rcpt.domain}` : rcpt.local;
      const spfPass = this.deps.spfPass;
      const spf = () => {
        state.spf ??= new Map();
        let p = state.spf.get(sender);
        if (!p) state.spf.set(sender, (p = spfPass!(ip, s.helo ?? "", sender)));
        return p;
      };
      const v = await this.greylist.check({ ip, sender, recipient, spfPass: spfPass && sender ? spf : undefined });
      state.facts.greylist = v.reason;
      if (v.action === "defer") {
        this.deps.log.info({ event: "greylisted", session: s.id, remote: ip, from: sender, to: recipient, reason: v.reason, retryIn: v.retryInSeconds }, "recipient greylisted");
        return R.greylisted(v.retryInSeconds);
      }
      if (v.reason === "retried") this.deps.log.info({ event: "greylist-passed", session: s.id, remote: ip, from: sender, to: recipient }, "greylisted triplet retried and passed");
    }
    return undefined;
  }

  /** Prune expired greylisting state now and then (every node may: deletes are idempotent). */
  start(intervalMs = 10 * 60_000): void {
    if (!this.greylist || this.pruneTimer) return;
    this.pruneTimer = setInterval(() => {
      this.greylist?.prune().then(
        (n) => n && this.deps.log.debug({ event: "greylist-prune", removed: n }, "expired greylisting entries removed"),
        (err: unknown) => this.deps.log.warn({ err }, "greylisting prune failed"),
      );
    }, intervalMs);
    this.pruneTimer.unref();
  }

  stop(): void {
    clearInterval(this.pruneTimer);
    this.pruneTimer = undefined;
  }

  private dnsblFacts(id: string, ip: string, state: SessionState): Promise<DnsblResult> {
    const p = this.dnsbl.check(ip).then((r) => {
      state.facts.dnsbl = { listings: r.listings, score: r.score, errors: r.errors };
      if (r.listings.length || r.errors.length) this.deps.log.info({ event: "dnsbl", session: id, remote: ip, listings: r.listings.map((l) => `${l.zone}=${l.codes.join(",")}`), score: r.score, errors: r.errors.length ? r.errors : undefined }, r.listings.length ? "client listed" : "blocklist lookup failed");
      return r;
    });
    p.catch(() => undefined);
    return p;
  }

  private dnsblVerdict(ip: string, r: DnsblResult): Reply | undefined {
    if (r.rejectBy) return R.dnsblListed(ip, r.rejectBy);
    if (r.errors.length && this.dnsbl.onError === "tempfail") return R.dnsblUnavailable();
    return undefined;
  }

  private track(id: string): SessionState {
    let st = this.sessions.get(id);
    if (st) return st;
    const now = this.deps.now();
    for (const [k, v] of this.sessions) {
      if (this.sessions.size < MAX_SESSIONS && v.started > now - SESSION_MAX_AGE) break;
      this.sessions.delete(k);
    }
    st = { started: now, facts: {} };
    this.sessions.set(id, st);
    return st;
  }
}
