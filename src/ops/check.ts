/**
 * `petrel dns check`: what DNS publishes for a domain compared with what it should
 * (records.ts), record by record: OK, MISSING, WRONG (with the value to publish), or ERROR when
 * the lookup itself failed (SERVFAIL, timeout: nothing is concluded). SRV, CNAME and PTR records
 * are not checked here (PTR: `petrel doctor --ip`).
 */
import { isIP } from "node:net";
import { DnsError, type Resolver } from "../dns/types.js";
import { zoneLine, type DnsRecord, type DomainRecords } from "./records.js";

export type CheckStatus = "OK" | "MISSING" | "WRONG" | "ERROR";

export interface RecordCheck {
  /** "MX", "SPF", "DKIM petrel202611", "DMARC"... */
  check: string;
  name: string;
  status: CheckStatus;
  required: boolean;
  /** What was found, each record as one string (TXT character-strings joined). */
  found: string[];
  /** One line: what is right or wrong. */
  message: string;
  /** The zone-file line(s) to publish, when not OK. */
  publish?: string;
}

export interface DomainCheck {
  domain: string;
  /** False when a required record (MX, SPF, DKIM, DMARC) is missing, wrong or could not be read. */
  ok: boolean;
  checks: RecordCheck[];
}

const norm = (n: string) => n.toLowerCase().replace(/\.$/, "");

type Lookup<T> = { records: T[] } | { error: DnsError };

/** NXDOMAIN and NODATA mean "no records"; other failures are kept as errors. */
async function lookup<T>(q: () => Promise<T[]>): Promise<Lookup<T>> {
  try {
    return { records: await q() };
  } catch (e) {
    if (e instanceof DnsError && !e.temporary) return { records: [] };
    if (e instanceof DnsError) return { error: e };
    throw e;
  }
}

/** TXT records with their character-strings joined (RFC 7208 3.3, RFC 6376 3.6.2.2). */
async function txt(resolver: Resolver, name: string): Promise<Lookup<string>> {
  const r = await lookup(() => resolver.txt(name));
  return "error" in r ? r : { records: r.records.map((strings) => strings.join("")) };
}

/** "v=DKIM1; k=rsa; p=AB CD" -> {v, k, p} with whitespace removed from values (RFC 6376 3.2). */
export function tags(record: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of record.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ""));
  }
  return out;
}

function result(base: Omit<RecordCheck, "publish">, expected: DnsRecord | DnsRecord[]): RecordCheck {
  const list = Array.isArray(expected) ? expected : [expected];
  return base.status === "OK" ? base : { ...base, publish: list.map(zoneLine).join("\n") };
}

function errorCheck(check: string, r: DnsRecord, e: DnsError): RecordCheck {
  return result({ check, name: r.name, status: "ERROR", required: r.required, found: [], message: `lookup failed (${e.code}); try again, or check the domain's name servers` }, r);
}

async function checkMx(resolver: Resolver, r: DnsRecord, hostname: string): Promise<RecordCheck> {
  const got = await lookup(() => resolver.mx(r.name));
  if ("error" in got) return errorCheck("MX", r, got.error);
  const found = got.records.map((m) => `${m.priority} ${norm(m.exchange) || "."}`);
  const base = { check: "MX", name: r.name, required: true, found };
  if (got.records.length === 0) return result({ ...base, status: "MISSING", message: `no MX record: mail for ${r.name} cannot reach ${hostname}` }, r);
  if (got.records.some((m) => norm(m.exchange) === "")) return result({ ...base, status: "WRONG", message: `a null MX (RFC 7505) says ${r.name} receives no mail` }, r);
  const ours = got.records.filter((m) => norm(m.exchange) === norm(hostname));
  if (ours.length === 0) return result({ ...base, status: "WRONG", message: `MX points to ${got.records.map((m) => norm(m.exchange)).join(", ")}, not to ${hostname}` }, r);
  const best = Math.min(...got.records.map((m) => m.priority));
  if (ours.every((m) => m.priority > best)) return result({ ...base, status: "WRONG", message: `${hostname} is a backup MX: ${got.records.filter((m) => m.priority === best).map((m) => norm(m.exchange)).join(", ")} is preferred` }, r);
  return { ...base, status: "OK", message: `mail goes to ${hostname}` };
}

async function checkAddress(resolver: Resolver, hostname: string, expected: DnsRecord[]): Promise<RecordCheck> {
  const [a, aaaa] = await Promise.all([lookup(() => resolver.a(hostname)), lookup(() => resolver.aaaa(hostname))]);
  const placeholder: DnsRecord = { kind: "address", name: hostname, type: "A", value: "<the server's IPv4 address>", required: false, comment: "" };
  const want = expected.length ? expected : [placeholder];
  if ("error" in a) return errorCheck("A/AAAA", want[0]!, a.error);
  const found = [...a.records, ...("records" in aaaa ? aaaa.records : [])];
  const base = { check: "A/AAAA", name: hostname, required: false, found };
  if (found.length === 0) return result({ ...base, status: "MISSING", message: `${hostname} has no address: nobody can connect to it` }, want);
  const missing = expected.filter((r) => !found.some((ip) => sameIp(ip, r.value)));
  if (missing.length) return result({ ...base, status: "WRONG", message: `${hostname} resolves to ${found.join(", ")}, not to ${missing.map((r) => r.value).join(", ")}` }, want);
  return { ...base, status: "OK", message: `${hostname} resolves to ${found.join(", ")}` };
}

const sameIp = (a: string, b: string) => a.toLowerCase() === b.toLowerCase() || (isIP(a) === 6 && isIP(b) === 6 && expand6(a) === expand6(b));

function expand6(ip: string): string {
  const [head, tail] = ip.toLowerCase().split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  return all.map((g) => g.padStart(4, "0")).join(":");
}

/**
 * RFC 7208 4.5: more than one "v=spf1" record is a permerror. The record must let our server
 * send (mx, a:HOSTNAME, or its IP; an include or redirect is trusted, not followed) and must not
 * end in +all, which lets anyone send.
 */
async function checkSpf(resolver: Resolver, r: DnsRecord, hostname: string, ips: string[]): Promise<RecordCheck> {
  const got = await txt(resolver, r.name);
  if ("error" in got) return errorCheck("SPF", r, got.error);
  const spf = got.records.filter((t) => /^v=spf1(\s|$)/i.test(t.trim()));
  const base = { check: "SPF", name: r.name, required: true, found: spf };
  if (spf.length === 0) return result({ ...base, status: "MISSING", message: "no SPF record: receivers cannot tell that the server may send for the domain" }, r);
  if (spf.length > 1) return result({ ...base, status: "WRONG", message: `${spf.length} SPF records: receivers treat that as an error (RFC 7208 4.5); merge them into one` }, r);
  const terms = spf[0]!.trim().toLowerCase().split(/\s+/).slice(1);
  if (terms.some((t) => t === "+all" || t === "all")) return result({ ...base, status: "WRONG", message: "the SPF record ends in +all: anyone may send as the domain" }, r);
  const host = norm(hostname);
  const authorizes = terms.some((t) => {
    const m = /^[+~?]?(mx|a|ip4|ip6|include|redirect)(?::|=|$)(.*)$/.exec(t);
    if (!m) return false;
    const [, mech, arg] = m;
    if (mech === "mx") return arg === "" || norm(arg!) === norm(r.name);
    if (mech === "a") return norm(arg!.split("/")[0]!) === host;
    if (mech === "ip4" || mech === "ip6") return ips.some((ip) => sameIp(ip, arg!.split("/")[0]!) || (arg!.includes("/") && inCidr(ip, arg!)));
    return true; // include: / redirect=: not followed, trusted to name the server
  });
  if (!authorizes) return result({ ...base, status: "WRONG", message: `the SPF record does not name the server (no mx, a:${host}${ips.length ? ` or ${ips.join("/")}` : ""})` }, r);
  return { ...base, status: "OK", message: "one SPF record, naming the server" };
}

/** IPv4 CIDR match (IPv6 prefixes are accepted unchecked). */
function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split("/") as [string, string];
  if (isIP(ip) !== 4 || isIP(net) !== 4) return isIP(ip) === 6 && isIP(net) === 6;
  const n = Number(bits);
  const toInt = (s: string) => s.split(".").reduce((v, o) => (v << 8) + Number(o), 0) >>> 0;
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  return (toInt(ip) & mask) === (toInt(net) & mask);
}

/** RFC 6376 3.6.1: the published p= must be our public key; an empty p= means revoked. */
async function checkDkim(resolver: Resolver, r: DnsRecord): Promise<RecordCheck> {
  const selector = r.name.slice(0, r.name.indexOf("._domainkey."));
  const check = `DKIM ${selector}`;
  const got = await txt(resolver, r.name);
  if ("error" in got) return errorCheck(check, r, got.error);
  const keys = got.records.filter((t) => tags(t).has("p"));
  const base = { check, name: r.name, required: true, found: got.records };
  if (keys.length === 0) return result({ ...base, status: "MISSING", message: `no DKIM key published for selector ${selector}: receivers cannot verify the signatures` }, r);
  if (keys.length > 1) return result({ ...base, status: "WRONG", message: `${keys.length} DKIM records for one selector: publish exactly one` }, r);
  const ours = tags(r.value).get("p");
  const theirs = tags(keys[0]!);
  if (theirs.get("p") === "") return result({ ...base, status: "WRONG", message: "the published key is revoked (empty p=)" }, r);
  if (theirs.get("p") !== ours) return result({ ...base, status: "WRONG", message: "the published key (p=) differs from the server's key: signatures will fail" }, r);
  const k = theirs.get("k") ?? "rsa";
  const ourK = tags(r.value).get("k") ?? "rsa";
  if (k.toLowerCase() !== ourK) return result({ ...base, status: "WRONG", message: `the published key type is k=${k}, the key is ${ourK}` }, r);
  return { ...base, status: "OK", message: "published key matches" };
}

/** RFC 7489 6.6.3: exactly one record starting "v=DMARC1", with a valid p=. */
async function checkDmarc(resolver: Resolver, r: DnsRecord): Promise<RecordCheck> {
  const got = await txt(resolver, r.name);
  if ("error" in got) return errorCheck("DMARC", r, got.error);
  const dmarc = got.records.filter((t) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(t.trim()));
  const base = { check: "DMARC", name: r.name, required: true, found: dmarc };
  if (dmarc.length === 0) return result({ ...base, status: "MISSING", message: "no DMARC record: some receivers (Gmail, Yahoo) refuse or junk bulk mail without one" }, r);
  if (dmarc.length > 1) return result({ ...base, status: "WRONG", message: `${dmarc.length} DMARC records: receivers ignore them all (RFC 7489 6.6.3)` }, r);
  const p = tags(dmarc[0]!).get("p")?.toLowerCase();
  if (p !== "none" && p !== "quarantine" && p !== "reject") return result({ ...base, status: "WRONG", message: `the DMARC record has no valid p= (${p ?? "missing"})` }, r);
  return { ...base, status: "OK", message: p === "none" ? "published, p=none (monitoring only: forged mail is still delivered)" : `published, p=${p}` };
}

/** MTA-STS (RFC 8461 3.1) and TLS-RPT (RFC 8460 3): one record with the right version. */
async function checkVersioned(resolver: Resolver, r: DnsRecord, check: string, version: string, need: string): Promise<RecordCheck> {
  const got = await txt(resolver, r.name);
  if ("error" in got) return errorCheck(check, r, got.error);
  const recs = got.records.filter((t) => new RegExp(`^v=${version}\\s*(;|$)`).test(t.trim()));
  const base = { check, name: r.name, required: false, found: recs };
  if (recs.length === 0) return result({ ...base, status: "MISSING", message: `no ${check} record (recommended)` }, r);
  if (recs.length > 1) return result({ ...base, status: "WRONG", message: `${recs.length} ${check} records: publish exactly one` }, r);
  const value = tags(recs[0]!).get(need);
  const valid = need === "id" ? /^[A-Za-z0-9]{1,32}$/.test(value ?? "") : /^(mailto:|https:)/.test(value ?? "");
  if (!valid) return result({ ...base, status: "WRONG", message: `the ${check} record has no valid ${need}=` }, r);
  return { ...base, status: "OK", message: "published" };
}

/** Check every record of `expected` that can be checked, in the order printed. */
export async function checkDomain(resolver: Resolver, expected: DomainRecords, ips: string[] = []): Promise<DomainCheck> {
  const by = (kind: DnsRecord["kind"]) => expected.records.filter((r) => r.kind === kind);
  const checks: RecordCheck[] = [];
  checks.push(await checkMx(resolver, by("mx")[0]!, expected.hostname));
  checks.push(await checkAddress(resolver, expected.hostname, by("address")));
  checks.push(await checkSpf(resolver, by("spf")[0]!, expected.hostname, ips));
  const dkim = by("dkim");
  if (dkim.length === 0) {
    checks.push({ check: "DKIM", name: `*._domainkey.${expected.domain}`, status: "MISSING", required: true, found: [], message: "the domain has no DKIM key, so its mail is not signed", publish: `; create a key first: petrel dkim keygen ${expected.domain}` });
  }
  for (const r of dkim) checks.push(await checkDkim(resolver, r));
  checks.push(await checkDmarc(resolver, by("dmarc")[0]!));
  checks.push(await checkVersioned(resolver, by("mta-sts")[0]!, "MTA-STS", "STSv1", "id"));
  checks.push(await checkVersioned(resolver, by("tls-rpt")[0]!, "TLS-RPT", "TLSRPTv1", "rua"));
  return { domain: expected.domain, ok: checks.every((c) => !c.required || c.status === "OK"), checks };
}

/** The text report: one line per record, the record to publish under each that is not OK. */
export function formatCheck(c: DomainCheck): string {
  const lines = [`${c.domain}: ${c.ok ? "the required records are published" : "some required records are missing or wrong"}`];
  for (const r of c.checks) {
    lines.push(`  ${r.status.padEnd(7)} ${r.check.padEnd(22)} ${r.name}: ${r.message}${r.required || r.status === "OK" ? "" : " (recommended)"}`);
    if (r.found.length && r.status !== "OK") lines.push(...r.found.map((f) => `          found: ${f.length > 120 ? `${f.slice(0, 117)}...` : f}`));
    if (r.publish) lines.push(...r.publish.split("\n").map((l) => `          publish: ${l}`));
  }
  return lines.join("\n") + "\n";
}
