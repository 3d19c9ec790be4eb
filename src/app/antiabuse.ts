/**
 * Builds the MX listener's anti-abuse checks (policy/antiabuse.ts) from the config: greylisting
 * state in the store's KeyValueStore, DNSBL and FCrDNS lookups through our resolver (dns.servers).
 */
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Config } from "../config/schema.js";
import type { Store } from "../store/types.js";
import { DnsResolver } from "../dns/resolver.js";
import { InboundGuard } from "../policy/antiabuse.js";
import { spfPassChecker } from "../policy/spf-whitelist.js";

export function createInboundGuard(config: Config & { hostname: string }, store: Store, log: Logger, clock: Clock): InboundGuard {
  const resolver = new DnsResolver({ servers: config.dns.servers, clock });
  const g = config.greylist;
  const guard = new InboundGuard(
    {
      hostname: config.hostname,
      localNetworks: config.inbound.localNetworks,
      clientChecks: config.inbound.clientChecks,
      rateLimits: config.inbound.rateLimits,
      dnsbl: { zones: config.dnsbl.zones, stage: config.dnsbl.stage, scoreThreshold: config.dnsbl.scoreThreshold, onError: config.dnsbl.onError, cacheTtlMs: config.dnsbl.cacheTtl },
      greylist: { enabled: g.enabled, delayMs: g.delay, windowMs: g.window, passTtlMs: g.passTtl, whitelistAfter: g.whitelistAfter, exemptNetworks: g.exemptNetworks, spfWhitelist: g.spfWhitelist },
    },
    {
      kv: store.keyValue,
      resolver,
      log,
      now: () => clock.now(),
      isLocalDomain: (d) => store.directory.isLocalDomain(d),
      spfPass: g.spfWhitelist.length ? spfPassChecker(resolver, config.hostname) : undefined,
    },
  );
  guard.start();
  return guard;
}
