/**
 * `petrel doctor`: is this server set up to send and receive mail? Each check gives ok, warn,
 * fail or skip, one line, and a fix for what is not ok. The config has already loaded (the CLI
 * reports a config that does not). Checks: the listeners answer (the server runs), the
 * certificates (expiry, names), DNS of every local domain (check.ts), reverse DNS of the public
 * IP (FCrDNS), and the IP on common blocklists.
 */
import { connect } from "node:net";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { isIP } from "node:net";
import type { Config } from "../config/schema.js";
import { DnsError, type Resolver } from "../dns/types.js";
import { reverseName } from "../dns/resolver.js";
import { checkDomain } from "./check.js";
import { domainRecords, type DkimKeyInfo } from "./records.js";

export type DoctorStatus = "ok" | "warn" | "fail" | "skip";

export interface DoctorCheck {
  section: "config" | "listeners" | "tls" | "dns" | "reverse-dns" | "blocklists";
  status: DoctorStatus;
  message: string;
  fix?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorInput {
  config: Config & { hostname: string };
  /** The config file read (null: the development profile). */
  source: string | null;
  resolver: Resolver;
  /** Local domains with their DKIM keys. */
  domains: { name: string; dkimKeys: DkimKeyInfo[] }[];
  /** The server's public IPv4/IPv6 address, when known. */
  ip?: string;
  /** Certificates expiring sooner than this are a warning (default 14 days). */
  expiryWarningMs?: number;
  /** Blocklist zones (default: BLOCKLISTS). */
  blocklists?: readonly string[];
  now?: number;
}

/** DNS blocklists that large receivers consult; a listing there means refused mail. */
export const BLOCKLISTS = ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"] as const;

const CONNECT_TIMEOUT_MS = 2000;

/** Where to connect to reach a listener: a wildcard address is reached on loopback. */
export function dialAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  let host = address.slice(0, i).replace(/^\[|\]$/g, "");
  if (host === "0.0.0.0") host = "127.0.0.1";
  if (host === "::") host = "::1";
  return { host, port: Number(address.slice(i + 1)) };
}

function reachable(host: string, port: number): Promise<true | string> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (v: true | string) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(CONNECT_TIMEOUT_MS, () => done("no answer (timeout)"));
    s.once("connect", () => done(true));
    s.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "nothing listens there" : (e.code ?? e.message)));
  });
}

async function checkListeners(config: Config): Promise<DoctorCheck[]> {
  const enabled = Object.entries(config.listen).filter((e): e is [string, string] => e[1] !== false);
  if (enabled.length === 0) return [{ section: "listeners", status: "warn", message: "every listener is switched off (listen:)" }];
  const results = await Promise.all(enabled.map(async ([name, address]) => ({ name, address, r: await reachable(dialAddress(address).host, dialAddress(address).port) })));
  const up = results.filter((x) => x.r === true);
  if (up.length === 0) {
    return [{ section: "listeners", status: "fail", message: `Petrel is not running: nothing answers on ${results.map((x) => `${x.address} (${x.name})`).join(", ")}`, fix: "start it: systemctl start petrel (or petrel serve --config FILE); see journalctl -u petrel if it does not stay up" }];
  }
  return results.map((x) =>
    x.r === true
      ? { section: "listeners" as const, status: "ok" as const, message: `${x.name} answers on ${x.address}` }
      : { section: "listeners" as const, status: "fail" as const, message: `${x.name} does not answer on ${x.address}: ${x.r}`, fix: `check the log for the ${x.name} listener (a port taken by another program?), or set listen.${x.name}: false` },
  );
}

function checkCertificate(label: string, certFile: string, keyFile: string | null, names: readonly string[], now: number, warnMs: number): DoctorCheck[] {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(certFile));
  } catch (e) {
    return [{ section: "tls", status: "fail", message: `${label} ${certFile} cannot be read: ${(e as Error).message}`, fix: "check tls.cert in the config and the file's permissions (the petrel user must read it)" }];
  }
  const out: DoctorCheck[] = [];
  const expires = Date.parse(cert.validTo);
  const days = Math.floor((expires - now) / 86_400_000);
  if (expires <= now) out.push({ section: "tls", status: "fail", message: `${label} ${certFile} expired on ${new Date(expires).toISOString()}`, fix: "renew it (certbot renew), then reload: systemctl reload petrel" });
  else if (Date.parse(cert.validFrom) > now) out.push({ section: "tls", status: "fail", message: `${label} ${certFile} is not valid before ${new Date(Date.parse(cert.validFrom)).toISOString()}`, fix: "check the server's clock (timedatectl)" });
  else if (expires - now < warnMs) out.push({ section: "tls", status: "warn", message: `${label} ${certFile} expires in ${days} day(s)`, fix: "renew it (certbot renew); Petrel reloads changed certificate files by itself" });
  const uncovered = names.filter((n) => cert.checkHost(n.replace(/^\*\./, "x.")) === undefined);
  if (uncovered.length) out.push({ section: "tls", status: "fail", message: `${label} ${certFile} does not cover ${uncovered.join(", ")} (it names ${cert.subjectAltName ?? cert.subject})`, fix: `get a certificate for ${uncovered.join(", ")} (certbot certonly -d ${uncovered[0]})` });
  if (keyFile) {
    try {
      if (!cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)))) out.push({ section: "tls", status: "fail", message: `${label} key ${keyFile} does not belong to ${certFile}`, fix: "point tls.key at the certificate's own private key" });
    } catch (e) {
      out.push({ section: "tls", status: "fail", message: `${label} key ${keyFile} cannot be read: ${(e as Error).message}`, fix: "check tls.key and the file's permissions" });
    }
  }
  if (out.length === 0) out.push({ section: "tls", status: "ok", message: `${label} ${certFile} covers ${names.join(", ")}, valid for ${days} more day(s)` });
  return out;
}

function checkTls(config: Config & { hostname: string }, now: number, warnMs: number): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  if (config.tls.cert && config.tls.key) {
    out.push(...checkCertificate("certificate", config.tls.cert, config.tls.key, [config.hostname], now, warnMs));
  } else {
    const self = join(config.dataDir, "tls", "selfsigned.crt");
    if (!existsSync(self)) out.push({ section: "tls", status: "warn", message: "no certificate configured: Petrel makes a self-signed one on its first start", fix: `get one for ${config.hostname} (certbot certonly --standalone -d ${config.hostname}) and set tls.cert and tls.key` });
    else {
      out.push(...checkCertificate("self-signed certificate", self, join(config.dataDir, "tls", "selfsigned.key"), [config.hostname], now, warnMs));
      out.push({ section: "tls", status: "warn", message: "the certificate is self-signed: mail clients warn, and MTA-STS senders will not deliver", fix: `get one for ${config.hostname} (certbot certonly --standalone -d ${config.hostname}) and set tls.cert and tls.key` });
    }
  }
  for (const c of config.tls.certificates) out.push(...checkCertificate(`certificate for ${c.hostnames.join(", ")}`, c.cert, c.key, c.hostnames, now, warnMs));
  return out;
}

async function checkDns(input: DoctorInput): Promise<DoctorCheck[]> {
  const domains = input.domains.filter((d) => d.name !== "localhost");
  if (domains.length === 0) return [{ section: "dns", status: "warn", message: "no local domain yet", fix: "petrel domain add example.com (or petrel init)" }];
  const ipv4 = input.ip && isIP(input.ip) === 4 ? input.ip : undefined;
  const ipv6 = input.ip && isIP(input.ip) === 6 ? input.ip : undefined;
  const out: DoctorCheck[] = [];
  for (const d of domains) {
    const expected = domainRecords({ domain: d.name, hostname: input.config.hostname, listen: input.config.listen, dkimKeys: d.dkimKeys, ipv4, ipv6 });
    const result = await checkDomain(input.resolver, expected, input.ip ? [input.ip] : []);
    const bad = result.checks.filter((c) => c.status !== "OK");
    if (bad.length === 0) out.push({ section: "dns", status: "ok", message: `${d.name}: every record is published` });
    for (const c of bad) {
      out.push({ section: "dns", status: c.required || c.status === "ERROR" ? "fail" : "warn", message: `${d.name}: ${c.check} ${c.status}: ${c.message}`, fix: c.publish ? `publish ${c.publish.split("\n").join(" and ")} (petrel dns check ${d.name} shows the details)` : `petrel dns check ${d.name}` });
    }
  }
  return out;
}

async function names(q: () => Promise<string[]>): Promise<string[] | DnsError> {
  try {
    return await q();
  } catch (e) {
    if (e instanceof DnsError) return e.temporary ? e : [];
    throw e;
  }
}

const norm = (n: string) => n.toLowerCase().replace(/\.$/, "");

/** Forward-confirmed reverse DNS (RFC 8601 2.7.3 "iprev"): PTR names the hostname, which resolves back to the IP. */
async function checkReverse(input: DoctorInput): Promise<DoctorCheck[]> {
  const { ip, resolver } = input;
  const host = input.config.hostname;
  if (!ip) return [{ section: "reverse-dns", status: "skip", message: "the server's public IP is not known: reverse DNS and blocklists not checked", fix: "run petrel doctor --ip YOUR.PUBLIC.IP" }];
  const fix = `ask your hosting provider to set the PTR record of ${ip} to ${host}`;
  const ptr = await names(() => resolver.ptr(ip));
  if (ptr instanceof DnsError) return [{ section: "reverse-dns", status: "warn", message: `PTR of ${ip}: lookup failed (${ptr.code})` }];
  if (ptr.length === 0) return [{ section: "reverse-dns", status: "fail", message: `${ip} has no PTR record: many receivers refuse mail from it`, fix }];
  if (!ptr.some((n) => norm(n) === norm(host))) return [{ section: "reverse-dns", status: "fail", message: `the PTR of ${ip} is ${ptr.map(norm).join(", ")}, not ${host}`, fix }];
  const forward = await names(() => (isIP(ip) === 6 ? resolver.aaaa(host) : resolver.a(host)));
  if (forward instanceof DnsError) return [{ section: "reverse-dns", status: "warn", message: `${host}: lookup failed (${forward.code})` }];
  if (!forward.includes(ip)) return [{ section: "reverse-dns", status: "fail", message: `${ip} has PTR ${host}, but ${host} resolves to ${forward.join(", ") || "nothing"} (not forward-confirmed)`, fix: `publish ${host}. IN ${isIP(ip) === 6 ? "AAAA" : "A"} ${ip}` }];
  return [{ section: "reverse-dns", status: "ok", message: `${ip} <-> ${host} (forward-confirmed)` }];
}

/**
 * DNSBL query (RFC 5782 2.1): A record of the reversed IP under the list's zone; NXDOMAIN means
 * not listed, 127.0.0.x listed. Spamhaus answers 127.255.255.x to refuse the query (public
 * resolvers, RFC 5782 2.3): that is reported as "could not check", not as a listing.
 */
async function checkBlocklists(input: DoctorInput): Promise<DoctorCheck[]> {
  const { ip } = input;
  if (!ip) return [];
  if (isIP(ip) !== 4) return [{ section: "blocklists", status: "skip", message: "blocklists are checked for IPv4 addresses only" }];
  const reversed = reverseName(ip).replace(/\.in-addr\.arpa$/, "");
  return Promise.all(
    (input.blocklists ?? BLOCKLISTS).map(async (zone): Promise<DoctorCheck> => {
      const got = await names(() => input.resolver.a(`${reversed}.${zone}`));
      if (got instanceof DnsError) return { section: "blocklists", status: "warn", message: `${zone}: lookup failed (${got.code})` };
      if (got.length === 0) return { section: "blocklists", status: "ok", message: `${ip} is not on ${zone}` };
      if (got.every((a) => a.startsWith("127.255.255."))) return { section: "blocklists", status: "warn", message: `${zone} refused the query (${got.join(", ")}): it does not answer public resolvers`, fix: "set dns.servers to a resolver of your own (e.g. a local unbound) to check" };
      return { section: "blocklists", status: "fail", message: `${ip} is listed on ${zone} (${got.join(", ")})`, fix: `find out why and ask for removal at the list's web site (for ${zone}: look the IP up there)` };
    }),
  );
}

export async function runDoctor(input: DoctorInput): Promise<DoctorReport> {
  const now = input.now ?? Date.now();
  const checks: DoctorCheck[] = [{ section: "config", status: "ok", message: input.source ? `config ${input.source} loads` : "no config file: the development profile (not for a real domain)" }];
  if (!input.source) checks[0] = { ...checks[0]!, status: "warn", fix: "petrel init --domain example.com --hostname mail.example.com" };
  checks.push(...(await checkListeners(input.config)));
  checks.push(...checkTls(input.config, now, input.expiryWarningMs ?? 14 * 86_400_000));
  checks.push(...(await checkDns(input)));
  checks.push(...(await checkReverse(input)));
  checks.push(...(await checkBlocklists(input)));
  return { ok: checks.every((c) => c.status !== "fail"), checks };
}

const MARK: Record<DoctorStatus, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", skip: "skip" };

export function formatDoctor(r: DoctorReport): string {
  const lines = r.checks.map((c) => `[${MARK[c.status]}] ${c.section}: ${c.message}${c.fix && c.status !== "ok" ? `\n       fix: ${c.fix}` : ""}`);
  const fails = r.checks.filter((c) => c.status === "fail").length;
  const warns = r.checks.filter((c) => c.status === "warn").length;
  lines.push("", fails ? `${fails} problem(s) to fix, ${warns} warning(s)` : `no problems${warns ? `, ${warns} warning(s)` : ""}`);
  return lines.join("\n") + "\n";
}
