/**
 * `petrel dns records|check DOMAIN`: the DNS records a local domain needs (zone-file lines, or
 * JSON), and whether DNS publishes them, through the resolvers of `dns.servers`.
 */
import type { Command } from "commander";
import { isIP } from "node:net";
import { isValidDomain } from "../core/address.js";
import { asciiDomain } from "../store/domain-name.js";
import type { Store } from "../store/types.js";
import type { Config } from "../config/schema.js";
import { DnsResolver } from "../dns/resolver.js";
import { checkDomain, domainRecords, formatCheck, formatZone, type DomainRecords } from "../ops/index.js";
import { fail, printJson, withStore, type GlobalOptions } from "./context.js";

const common = (c: Command) =>
  c
    .option("--config <file>", "config file")
    .option("--data-dir <dir>", "data directory")
    .option("--ip <address>", "the server's public IPv4 address")
    .option("--ipv6 <address>", "the server's public IPv6 address")
    .option("--json", "print JSON");

export interface DnsOptions extends GlobalOptions {
  ip?: string;
  ipv6?: string;
  json?: boolean;
}

export function checkIps(opts: { ip?: string; ipv6?: string }): void {
  if (opts.ip !== undefined && isIP(opts.ip) !== 4) throw new Error(`--ip ${opts.ip} is not an IPv4 address`);
  if (opts.ipv6 !== undefined && isIP(opts.ipv6) !== 6) throw new Error(`--ipv6 ${opts.ipv6} is not an IPv6 address`);
}

function asciiName(name: string): string {
  const ascii = asciiDomain(name);
  if (!isValidDomain(ascii) || name.startsWith("[")) throw new Error(`${name} is not a valid domain name`);
  return ascii;
}

/** The records of a local domain, from the config (hostname, ports) and the store (DKIM keys). */
export async function recordsFor(store: Store, config: Config & { hostname: string }, name: string, opts: { ip?: string; ipv6?: string }): Promise<DomainRecords> {
  const domain = asciiName(name);
  if (!(await store.directory.isLocalDomain(domain))) throw new Error(`${name} is not a local domain (add it with: petrel domain add ${name})`);
  await store.dkimKeys.expire(Date.now());
  const dkimKeys = await store.dkimKeys.list(domain);
  return domainRecords({ domain, hostname: asciiDomain(config.hostname), listen: config.listen, dkimKeys, ipv4: opts.ip, ipv6: opts.ipv6 });
}

/** A resolver for one-off checks: the configured servers, no cache (DNS is read fresh each run). */
export function freshResolver(config: Config): DnsResolver {
  return new DnsResolver({ servers: config.dns.servers, cacheSize: 0, timeoutMs: 2000, tries: 2 });
}

export function registerDns(program: Command): void {
  const dns = program.command("dns").description("the DNS records of local domains: what to publish, and whether it is");

  common(dns.command("records <domain>").description("print the DNS records the domain needs (zone-file format, or --json)")).action(async (name: string, opts: DnsOptions) => {
    try {
      checkIps(opts);
      await withStore(opts, async (store, loaded) => {
        const records = await recordsFor(store, loaded.config, name, opts);
        if (opts.json) return printJson(records);
        process.stdout.write(formatZone(records));
      });
    } catch (e) {
      fail(e);
    }
  });

  common(dns.command("check <domain>").description("compare what DNS publishes with what the domain needs; exit 1 when MX, SPF, DKIM or DMARC is missing or wrong")).action(
    async (name: string, opts: DnsOptions) => {
      try {
        checkIps(opts);
        const ok = await withStore(opts, async (store, loaded) => {
          const records = await recordsFor(store, loaded.config, name, opts);
          const ips = [opts.ip, opts.ipv6].filter((x): x is string => x !== undefined);
          const result = await checkDomain(freshResolver(loaded.config), records, ips);
          if (opts.json) printJson(result);
          else process.stdout.write(formatCheck(result));
          return result.ok;
        });
        process.exitCode = ok ? 0 : 1;
      } catch (e) {
        fail(e);
      }
    },
  );
}
