/**
 * Outbound delivery from the config: the remote transport (MX routing or the smart host) and
 * the router the scheduler uses, which sends local recipients to the local transport.
 */
import type { Config } from "../config/schema.js";
import type { Logger } from "../core/logger.js";
import type { Resolver } from "../dns/types.js";
import { DnsResolver } from "../dns/resolver.js";
import type { Transport } from "../queue/transport.js";
import type { Directory, KeyValueStore } from "../store/types.js";
import { readFileSync } from "node:fs";
import { httpsPolicyFetcher, MtaSts } from "../delivery/remote/mta-sts.js";
import { TlsReportData } from "../delivery/remote/tls-report.js";
import { createRemoteTransport, type RelayOptions } from "../delivery/remote/transport.js";
import { createRouter, type RoutingTransport } from "../delivery/router.js";

export function relayOptions(o: Config["outbound"]): RelayOptions | null {
  if (!o.relayHost) return null;
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(o.relayHost)!;
  return { host: m[1]!, port: Number(m[2]), tls: o.relayTls, verify: o.relayVerifyCertificate, auth: o.relayAuth };
}

/** instrument wraps each route's transport (metrics); the default leaves it as it is. */
export function createOutbound(config: Config & { hostname: string }, directory: Directory, local: Transport, log: Logger, resolver?: Resolver, instrument: <T extends Transport>(route: string, t: T) => T = (_r, t) => t, kv?: KeyValueStore): RoutingTransport {
  const o = config.outbound;
  const dns = resolver ?? new DnsResolver({ servers: config.dns.servers });
  const ca = o.caFile ? readCaFile(o.caFile) : undefined;
  // MTA-STS (RFC 8461) and TLS-RPT data (RFC 8460) keep their state in the store.
  const mtaSts = kv && o.mtaSts.enabled ? new MtaSts({ resolver: dns, kv, log: log.child({ transport: "remote" }), fetch: httpsPolicyFetcher({ resolver: dns, port: o.mtaSts.port, timeoutMs: o.mtaSts.fetchTimeout, ca }) }) : undefined;
  const remote = createRemoteTransport({
    resolver: dns,
    log: log.child({ transport: "remote" }),
    ...(mtaSts ? { mtaSts } : {}),
    ...(kv ? { tlsReport: new TlsReportData(kv) } : {}),
    opts: {
      ...(ca ? { ca } : {}),
      hostname: config.hostname,
      port: o.port,
      relay: relayOptions(o),
      tlsPolicies: Object.fromEntries(Object.entries(o.tlsPolicies).map(([d, p]) => [d.toLowerCase(), p])),
      maxConnectionsPerDestination: o.maxConnectionsPerDestination,
      // One destination may hold half the scheduler's slots; the rest stay free for the others.
      maxDeliveriesPerDestination: Math.max(1, Math.floor(config.delivery.concurrency / 2)),
      connectTimeoutMs: o.connectTimeout,
      timeouts: o.timeouts,
      idleMs: o.idleConnectionTime,
      maxMessagesPerConnection: o.maxMessagesPerConnection,
      maxHops: config.delivery.maxHops,
      rate: {
        default: o.ratePerDestination && { messages: o.ratePerDestination.messages, perMs: o.ratePerDestination.per },
        domains: Object.fromEntries(Object.entries(o.ratePerDomain).map(([d, r]) => [d.toLowerCase(), r && { messages: r.messages, perMs: r.per }])),
      },
    },
  });
  return createRouter({ isLocalDomain: (d) => directory.isLocalDomain(d), local: instrument("local", local), remote: instrument("remote", remote), log });
}

function readCaFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read outbound.caFile ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}
