/**
 * Remote delivery: recipients of one message grouped by domain (one SMTP transaction per
 * domain), each domain's MX hosts tried in turn (or the smart host when one is configured), at
 * most N connections per destination, connections reused for the next message to the same
 * destination. Outcomes per recipient: "delivered" on the server's 250, "failed" on a 5xx
 * (with the server's reply verbatim, for the DSN), "retry" on 4xx or when no host could be
 * reached (with the last reply or error).
 */
import type { Logger } from "../../core/logger.js";
import type { Resolver } from "../../dns/types.js";
import type { AttemptOutcome, DeliveryJob, Transport } from "../../queue/transport.js";
import type { DueRecipient } from "../../store/types.js";
import { SmtpClient, type ClientTimeouts, type OutgoingMessage } from "../../smtp/client/client.js";
import { ClientError, type ClientIo } from "../../smtp/client/io.js";
import { replyString } from "../../smtp/client/reply-reader.js";
import { connectSmtp, type ConnectTarget } from "./connection.js";
import { Destination, RateLimiter, type Lease, type Rate } from "./destination.js";
import { traceHeaders } from "../local/trace.js";
import { hostAddresses, routeDomain, type Route, type RouteHost } from "./mx.js";
import { mxMatches, type MtaSts, type StsPolicy } from "./mta-sts.js";
import { resultTypeOf, type PolicyType, type TlsReportData, type TlsResultType } from "./tls-report.js";

/** A delivery refused because its destination is at its concurrency limit comes back after 5-10 s. */
const BUSY_RETRY_MS = 5_000;

/** What TLS a destination gets: none, STARTTLS when offered, STARTTLS required, or required with a valid certificate. */
export type TlsPolicy = "none" | "opportunistic" | "require" | "verify";

export interface RelayOptions {
  host: string;
  port: number;
  /** STARTTLS required, TLS from the start (port 465), or plain. */
  tls: "starttls" | "tls" | "none";
  /** Only a verified certificate will do. */
  verify: boolean;
  auth: { user: string; password: string } | null;
}

export interface RemoteTransportOptions {
  /** Our name in EHLO. */
  hostname: string;
  /** Port for MX delivery (25; tests use others). */
  port: number;
  relay: RelayOptions | null;
  /** Per-domain TLS policy; "*" is the default (else opportunistic). */
  tlsPolicies: Record<string, TlsPolicy>;
  maxConnectionsPerDestination: number;
  /**
   * Deliveries to one destination at once, connected or waiting for a connection; more are
   * deferred. Keep it below the scheduler's concurrency, so that one slow destination cannot
   * hold every delivery slot (app/ gives half of delivery.concurrency). A deferral for that
   * is marked `busy`: the scheduler keeps the recipients for the next free slot.
   */
  maxDeliveriesPerDestination?: number;
  connectTimeoutMs: number;
  timeouts: ClientTimeouts;
  /** How long an idle connection waits for another message to its destination. */
  idleMs: number;
  maxMessagesPerConnection: number;
  /** More trusted CA certificates (PEM) for verifying servers (outbound.caFile). */
  ca?: string;
  /**
   * Messages per destination per time window (outbound.ratePerDestination); per-domain entries
   * (or the smart host's name) override it, null there meaning no limit. Over it, the delivery
   * is deferred until the next free slot without counting as an attempt.
   */
  rate?: { default: Rate | null; domains: Record<string, Rate | null> };
  /** More Received: headers than this is a mail loop (delivery.maxHops, RFC 5321 6.3): fail with 5.4.6. */
  maxHops?: number;
}

export interface RemoteTransportDeps {
  resolver: Resolver;
  log: Logger;
  opts: RemoteTransportOptions;
  /** The socket side; tests may replace it. */
  connect?: (t: ConnectTarget) => Promise<ClientIo>;
  random?: () => number;
  /** Milliseconds since the epoch (rate limits); tests may replace it. */
  now?: () => number;
  /** MTA-STS policies (RFC 8461); none = not used. */
  mtaSts?: MtaSts;
  /** TLS-RPT data (RFC 8460) of each MX session. */
  tlsReport?: TlsReportData;
}

export interface RemoteTransport extends Transport {
  /**
   * Shutdown: take no new deliveries, give those in progress `graceMs` to finish, then drop
   * their connections (their recipients are retried after the restart), QUIT idle connections.
   */
  close(graceMs?: number): Promise<void>;
}

/** Recipients per transaction. */
const MAX_RCPTS = 100;

interface Pending {
  r: DueRecipient;
  reply: string;
  permanent: boolean;
  /** The server that gave `reply`, when one did (the DSN's Remote-MTA). */
  remoteMta?: string;
}

interface Envelope {
  mail?: { smtputf8?: boolean; ret?: "FULL" | "HDRS"; envid?: string; requireTls?: boolean };
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  return at < 0 ? "" : address.slice(at + 1).toLowerCase();
}

export function createRemoteTransport(deps: RemoteTransportDeps): RemoteTransport {
  const { opts, resolver } = deps;
  const connect = deps.connect ?? connectSmtp;
  const destinations = new Map<string, Destination>();
  let closed = false;
  /** Connections in use, and the deliveries in progress (for shutdown). */
  const inUse = new Set<SmtpClient>();
  const running = new Set<Promise<unknown>>();
  const now = deps.now ?? Date.now;
  const rates = new RateLimiter((key) => {
    const r = opts.rate;
    if (!r) return null;
    const name = key.startsWith("relay:") ? opts.relay!.host.toLowerCase() : key;
    return name in r.domains ? r.domains[name]! : r.default;
  });

  const destination = (key: string) => {
    let d = destinations.get(key);
    if (!d) {
      d = new Destination(key, opts.maxConnectionsPerDestination, opts.idleMs, opts.maxMessagesPerConnection, opts.maxDeliveriesPerDestination ?? opts.maxConnectionsPerDestination * 2);
      destinations.set(key, d);
    }
    return d;
  };

  const policyFor = (domain: string): TlsPolicy => opts.tlsPolicies[domain] ?? opts.tlsPolicies["*"] ?? "opportunistic";

  async function deliverGroup(job: DeliveryJob, domain: string, recipients: DueRecipient[], body: Buffer): Promise<AttemptOutcome[]> {
    const log = deps.log.child({ queueId: job.message.id, domain });
    const relay = opts.relay;
    const key = relay ? `relay:${relay.host}:${relay.port}` : domain;
    const dest = destination(key);
    const wait = rates.take(key, now());
    if (wait > 0) {
      log.info({ event: "outbound-rate", destination: key, retryAfterMs: wait }, "destination over its rate limit: deferred");
      return recipients.map((r) => ({ idx: r.idx, status: "retry", reply: `451 4.4.5 Rate limit for ${relay ? relay.host : domain} reached; will retry`, retryAfterMs: wait }));
    }
    const leased = dest.acquire();
    if (!leased) {
      // Jittered, so that a burst to one destination spreads over the next seconds.
      return recipients.map((r) => ({ idx: r.idx, status: "retry", reply: `451 4.4.5 Too many deliveries to ${relay ? relay.host : domain} in progress; will retry`, retryAfterMs: BUSY_RETRY_MS + Math.floor(Math.random() * BUSY_RETRY_MS), busy: true }));
    }
    let lease: Lease = await leased;
    if (lease.client) inUse.add(lease.client);
    const env = (job.message.envelope ?? {}) as Envelope;
    // RFC 8689: the message goes only over TLS to a verified server that takes REQUIRETLS.
    const requireTls = env.mail?.requireTls === true;
    // RFC 8461 5.1: the domain's MTA-STS policy (never for the smart host).
    let sts: StsPolicy | null = null;
    if (!relay && deps.mtaSts) {
      try {
        const found = await deps.mtaSts.lookup(domain);
        sts = found.policy;
        if (found.failure) report(found.policy ? "sts" : "no-policy-found", { ok: false, type: found.failure.type as TlsResultType });
      } catch (e) {
        // The cache (the store) failed: no policy this time rather than no delivery.
        log.warn({ event: "mta-sts", error: (e as Error).message }, "MTA-STS lookup failed");
      }
    }
    const enforce = sts?.mode === "enforce";
    const policyType: PolicyType = sts ? "sts" : "no-policy-found";
    function report(type: PolicyType, result: { ok: true } | { ok: false; type: TlsResultType }): void {
      if (relay || !deps.tlsReport) return;
      deps.tlsReport.record(domain, type, result, sts).catch((e: unknown) => log.warn({ event: "tls-report", error: (e as Error).message }, "TLS-RPT data not stored"));
    }
    /** A connection that may carry this message: verified when the policy or REQUIRETLS asks for it. */
    const fits = (client: SmtpClient, server: string | undefined): boolean => {
      if ((requireTls || enforce) && !client.tls?.verified) return false;
      if (requireTls && !client.caps.has("REQUIRETLS")) return false;
      return !(enforce && (!server || !mxMatches(server, sts!.mx)));
    };
    if (lease.client && !fits(lease.client, lease.server)) {
      inUse.delete(lease.client);
      void lease.client.quit();
      lease = { client: null, used: 0 };
    }
    const pending = new Map<number, Pending>(recipients.map((r) => [r.idx, { r, reply: "451 4.4.0 No delivery attempt was made", permanent: false }]));
    const done: AttemptOutcome[] = [];
    const message = (): OutgoingMessage => ({
      sender: job.message.sender,
      recipients: [...pending.values()].map(({ r }) => ({ address: r.address, notify: r.dsn?.notify, orcpt: r.dsn?.orcpt })),
      body,
      smtputf8: env.mail?.smtputf8 === true,
      ret: env.mail?.ret,
      // Our queue id when the client gave none: DSNs coming back name it (app/dsn-intake.ts).
      envid: env.mail?.envid ?? job.message.id,
      ...(requireTls ? { requireTls: true } : {}),
    });

    /** One transaction on an open client; throws ClientError when the client broke before an outcome. */
    const transact = async (client: SmtpClient, where: string, server: string): Promise<void> => {
      const msg = message();
      const results = await client.send(msg);
      const list = [...pending.values()];
      results.forEach((res, k) => {
        const p = list[k]!;
        const remoteMta = res.fromServer ? server : undefined;
        if (res.status === "retry") {
          p.reply = res.reply;
          p.permanent = false;
          p.remoteMta = remoteMta;
          return;
        }
        pending.delete(p.r.idx);
        done.push({ idx: p.r.idx, status: res.status, reply: res.reply, ...(remoteMta ? { remoteMta } : {}), ...(res.dsnPassedOn ? { dsnPassedOn: true } : {}) });
      });
      log.info({ event: "outbound", server: where, tls: client.tls ? `${client.tls.version} ${client.tls.cipher}` : null, verified: client.tls?.verified ?? false, results: results.map((r) => ({ rcpt: r.address, status: r.status, reply: r.reply })) }, "transaction done");
    };

    try {
      // A connection kept from an earlier message: use it, or forget it when it went stale.
      if (lease.client) {
        try {
          await transact(lease.client, key, lease.server ?? key);
          lease.used++;
        } catch (e) {
          if (!(e instanceof ClientError)) throw e;
          inUse.delete(lease.client);
          lease = { client: null, used: 0 };
          // Nothing was sent when the RSET failed: a new connection will do. Otherwise the
          // outcome is unknown: retry later.
          if (!e.stale) {
            for (const p of pending.values()) p.reply = failureReply(e, key);
            return finish();
          }
        }
      }
      if (pending.size > 0 && !lease.client) lease = await freshDelivery();
      return finish();
    } finally {
      if (lease.client) inUse.delete(lease.client);
      dest.release(lease.client, lease.used, lease.server);
    }

    function finish(): AttemptOutcome[] {
      const out = [...done];
      for (const p of pending.values()) out.push({ idx: p.r.idx, status: p.permanent ? "failed" : "retry", reply: p.reply, ...(p.remoteMta ? { remoteMta: p.remoteMta } : {}) });
      return out;
    }

    /** Hosts in turn, each address in turn, until no recipient is left to do. */
    /** TLS-RPT: this session's outcome; in testing mode, what enforce mode would have said. */
    function reportSession(client: SmtpClient, mx: string): void {
      if (!sts) return report("no-policy-found", client.tls ? { ok: true } : { ok: false, type: "starttls-not-supported" });
      const failure: TlsResultType | null = !client.tls ? "starttls-not-supported" : !client.tls.verified ? resultTypeOf(client.tls.verifyError ?? "") : !mxMatches(mx, sts.mx) ? "validation-failure" : null;
      // RFC 8461 5.2: testing mode delivers anyway, and only reports.
      if (failure) log.info({ event: "mta-sts", mode: sts.mode, mx, result: failure }, "MTA-STS policy not met (testing mode: delivered anyway)");
      report("sts", failure ? { ok: false, type: failure } : { ok: true });
    }

    async function freshDelivery(): Promise<Lease> {
      let route: Route;
      if (relay) route = { kind: "hosts", hosts: [{ name: relay.host }] };
      else {
        try {
          route = await routeDomain(domain, resolver, deps.random, opts.hostname);
        } catch (e) {
          route = { kind: "retry", reply: `451 4.4.3 DNS lookup for ${domain} failed: ${(e as Error).message}` };
        }
      }
      if (route.kind !== "hosts") {
        for (const p of pending.values()) {
          p.reply = route.reply;
          p.permanent = route.kind === "fail";
        }
        log.info({ event: "outbound-route", route: route.kind, reply: route.reply }, "no route");
        return { client: null, used: 0 };
      }
      let policy = relay ? (relay.tls === "none" ? "none" : relay.verify ? "verify" : "require") : policyFor(domain);
      // RFC 8461 5.2 / RFC 8689 4.2.1: a valid certificate for the MX name, never plain text.
      if (enforce || requireTls) policy = "verify";
      let hosts = route.hosts;
      if (enforce) {
        // RFC 8461 4.1: only MX hosts that the policy names.
        for (const h of hosts.filter((h) => !mxMatches(h.name, sts!.mx))) {
          log.info({ event: "mta-sts", mx: h.name, policy: sts!.mx }, "MX host not in the MTA-STS policy: skipped");
          report("sts", { ok: false, type: "validation-failure" });
        }
        hosts = hosts.filter((h) => mxMatches(h.name, sts!.mx));
        if (hosts.length === 0) {
          for (const p of pending.values()) {
            p.reply = `451 4.7.5 No MX host of ${domain} matches its MTA-STS policy; will retry`;
            p.permanent = false;
          }
          return { client: null, used: 0 };
        }
      }
      // Permanent only when every host said so at connection level (5xx greeting/EHLO).
      let allPermanent = true;
      let lastError = "";
      let lastMta: string | undefined;
      for (const host of hosts) {
        if (closed) {
          lastError = "451 4.3.2 Shutting down; will retry";
          lastMta = undefined;
          allPermanent = false;
          break;
        }
        let addresses: string[];
        try {
          addresses = await hostAddresses(host, resolver);
        } catch (e) {
          lastError = `451 4.4.3 DNS lookup for ${host.name} failed: ${(e as Error).message}`;
          lastMta = undefined;
          allPermanent = false;
          continue;
        }
        if (addresses.length === 0) {
          lastError = `451 4.4.4 ${host.name}: no A/AAAA record`;
          lastMta = undefined;
          allPermanent = false;
          continue;
        }
        for (const address of addresses) {
          if (closed) break;
          const where = `${host.name}[${address}]:${relay ? relay.port : opts.port}`;
          const client = await openClient(host, address, policy, where).catch((e: unknown) => {
            if (!(e instanceof ClientError)) throw e;
            lastError = failureReply(e, where);
            lastMta = e.reply ? host.name : undefined;
            if (e.kind === "tls") {
              report(policyType, { ok: false, type: resultTypeOf(e.message) });
              // RFC 8689 5: no TLS, or none that verifies: the message is returned (5.7.10).
              if (requireTls) lastError = `550 5.7.10 ${where}: REQUIRETLS: ${e.message}`;
              // RFC 8461 5.2: enforce mode defers, and never falls back to plain text.
              else if (enforce) lastError = `451 4.7.5 ${where}: MTA-STS policy of ${domain} not met: ${e.message}`;
            }
            if (!(e.kind === "reply" && e.reply && e.reply.code >= 500) && !(requireTls && e.kind === "tls")) allPermanent = false;
            log.info({ event: "outbound-connect", server: where, error: e.message }, "connection failed");
            return null;
          });
          if (!client) continue;
          if (!relay) reportSession(client, host.name);
          if (requireTls && !client.caps.has("REQUIRETLS")) {
            // RFC 8689 4.2.1: this server cannot carry the message; another MX might.
            lastError = `550 5.7.10 ${where} does not support REQUIRETLS`;
            lastMta = host.name;
            log.info({ event: "outbound-connect", server: where }, "REQUIRETLS not offered");
            void client.quit();
            continue;
          }
          inUse.add(client);
          try {
            if (closed) throw new ClientError("closed", "shutting down");
            await transact(client, where, host.name);
          } catch (e) {
            inUse.delete(client);
            if (!(e instanceof ClientError)) throw e;
            lastError = failureReply(e, where);
            lastMta = undefined;
            allPermanent = false;
            log.info({ event: "outbound-connect", server: where, error: e.message }, "connection lost");
            continue;
          }
          if (pending.size === 0) return { client, used: 1, server: host.name };
          // Some recipients got a 4xx here: the next host may take them.
          for (const p of pending.values()) [lastError, lastMta] = [p.reply, p.remoteMta];
          allPermanent = false;
          inUse.delete(client);
          void client.quit();
          break;
        }
        if (pending.size === 0) break;
      }
      for (const p of pending.values()) {
        if (lastError) [p.reply, p.remoteMta] = [lastError, lastMta];
        p.permanent = allPermanent && lastError !== "";
      }
      return { client: null, used: 0 };
    }
  }

  async function openClient(host: RouteHost, address: string, policy: TlsPolicy, where: string): Promise<SmtpClient> {
    const relay = opts.relay;
    const target: ConnectTarget = { address, port: relay ? relay.port : opts.port, servername: host.name, implicitTls: relay?.tls === "tls", connectTimeoutMs: opts.connectTimeoutMs, ...(opts.ca ? { ca: opts.ca } : {}) };
    const clientOpts = {
      hostname: opts.hostname,
      starttls: policy === "none" ? ("none" as const) : policy === "opportunistic" ? ("opportunistic" as const) : ("require" as const),
      verify: policy === "verify",
      auth: relay?.auth ?? null,
      timeouts: opts.timeouts,
    };
    const io = await connect(target);
    try {
      const client = await SmtpClient.open(io, clientOpts);
      deps.log.info({ event: "outbound-session", server: where, tls: client.tls ? `${client.tls.version} ${client.tls.cipher}` : null, verified: client.tls?.verified ?? false, verifyError: client.tls?.verifyError, authenticated: client.authenticated }, "connected");
      return client;
    } catch (e) {
      // Opportunistic TLS that fails in the handshake: the same server once more, in plain text
      // (RFC 3207 4.1 leaves this to the client; a broken TLS stack must not stop mail).
      if (e instanceof ClientError && e.kind === "tls" && policy === "opportunistic" && !target.implicitTls) {
        deps.log.info({ event: "outbound-tls-fallback", server: where, error: e.message }, "TLS failed; trying again without TLS");
        return SmtpClient.open(await connect(target), { ...clientOpts, starttls: "none" });
      }
      throw e;
    }
  }

  return {
    async deliver(job: DeliveryJob): Promise<AttemptOutcome[]> {
      if (closed) return job.recipients.map((r) => ({ idx: r.idx, status: "retry", reply: "451 4.3.2 Shutting down" }));
      const body = await job.body();
      // RFC 5321 6.3: a message that went round too often is a loop; no connection is made.
      if (opts.maxHops !== undefined) {
        const end = body.indexOf("\r\n\r\n");
        const hops = traceHeaders(body, end < 0 ? body.length : end + 2).received;
        if (hops > opts.maxHops) return job.recipients.map((r) => ({ idx: r.idx, status: "failed", reply: `554 5.4.6 Too many hops (${hops} Received: headers); mail loop?` }));
      }
      const groups = new Map<string, DueRecipient[]>();
      for (const r of job.recipients) {
        // With a smart host, every recipient goes in one transaction to it.
        const key = opts.relay ? "" : domainOf(r.address);
        const g = groups.get(key);
        if (g) g.push(r);
        else groups.set(key, [r]);
      }
      // RFC 5321 4.5.3.1.8: a server need not take more than 100 recipients in one transaction.
      const chunks = [...groups].flatMap(([domain, rs]) => Array.from({ length: Math.ceil(rs.length / MAX_RCPTS) }, (_, i) => [domain, rs.slice(i * MAX_RCPTS, (i + 1) * MAX_RCPTS)] as const));
      const all = Promise.all(chunks.map(([domain, rs]) => deliverGroup(job, domain, rs, body)));
      running.add(all);
      try {
        return (await all).flat();
      } finally {
        running.delete(all);
      }
    },
    async close(graceMs = 0) {
      closed = true;
      const settled = () => Promise.allSettled([...running]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
      for (const c of inUse) c.abort();
      await settled();
      await Promise.all([...destinations.values()].map((d) => d.close()));
    },
  };
}

/** A connection-level failure as a queue reply: the server's words when there are any. */
function failureReply(e: ClientError, where: string): string {
  if (e.reply) {
    const text = replyString(e.reply);
    return e.kind === "auth" ? `451 4.7.0 ${where} refused our credentials: ${text}` : `${text} (${where})`;
  }
  switch (e.kind) {
    case "timeout":
      return `451 4.4.2 ${where}: ${e.message}`;
    case "closed":
      return `451 4.4.1 ${where}: ${e.message}`;
    case "tls":
      return `451 4.7.10 ${where}: ${e.message}`;
    case "auth":
      return `451 4.7.0 ${where}: ${e.message}`;
    default:
      return `451 4.5.0 ${where}: ${e.message}`;
  }
}
