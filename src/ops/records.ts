/**
 * The DNS records a domain needs so that Petrel can receive, send and be found for it: what
 * `petrel dns records` prints, `petrel init` shows and `petrel dns check` compares with DNS.
 * Pure: the config, the domain's DKIM keys and the server's addresses in, records out.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import type { Config } from "../config/schema.js";
import { reverseName } from "../dns/resolver.js";
import { dkimRecordName, dkimRecordValue, zoneFileStrings, type DkimKeyAlgorithm } from "../msgauth/dkim-keys.js";

export type RecordType = "MX" | "A" | "AAAA" | "TXT" | "SRV" | "CNAME" | "PTR";

/** What a record is for; `dns check` compares records by kind. */
export type RecordKind = "mx" | "address" | "spf" | "dkim" | "dmarc" | "mta-sts" | "tls-rpt" | "srv" | "autoconfig" | "ptr";

export interface DnsRecord {
  kind: RecordKind;
  /** Owner name, fully qualified, without the trailing dot. */
  name: string;
  type: RecordType;
  /** The RDATA as one string: "10 mail.example.com." for MX, the joined text for TXT. */
  value: string;
  /** Mail is refused, rejected as spam or unsigned without it (MX, SPF, DKIM, DMARC). */
  required: boolean;
  /** Why the record is there, one line (zone-file comment). */
  comment: string;
}

export interface DkimKeyInfo {
  selector: string;
  algorithm: DkimKeyAlgorithm;
  publicKey: string;
  state: "active" | "retiring" | "retired";
}

export interface RecordsInput {
  domain: string;
  hostname: string;
  listen: Config["listen"];
  dkimKeys: readonly DkimKeyInfo[];
  /** The server's public addresses, when known (--ip, --ipv6). */
  ipv4?: string;
  ipv6?: string;
}

export interface DomainRecords {
  domain: string;
  hostname: string;
  records: DnsRecord[];
  /** The MTA-STS policy file to serve at https://mta-sts.DOMAIN/.well-known/mta-sts.txt (RFC 8461 3.2). */
  mtaStsPolicy: { url: string; content: string };
  /** What could not be printed as a record, and what to do about it. */
  notes: string[];
}

/** The MX priority Petrel publishes (any value works with a single MX). */
export const MX_PRIORITY = 10;

/**
 * p=quarantine, not none: Petrel signs with DKIM and the SPF record names the server from the
 * first day, so the domain's own mail passes DMARC, and forged mail should not reach inboxes.
 * Not reject yet: a forwarder or mailing list that breaks alignment sends mail to spam rather
 * than losing it while the aggregate reports (rua, RFC 7489 7.2) show what else sends for the
 * domain; move to p=reject once those reports are clean.
 */
export function dmarcValue(domain: string): string {
  return `v=DMARC1; p=quarantine; rua=mailto:postmaster@${domain}`;
}

/** SPF (RFC 7208): the server's addresses when known, else "whatever the MX is"; -all for the rest. */
export function spfValue(ipv4?: string, ipv6?: string): string {
  const ips = [ipv4 ? `ip4:${ipv4}` : "", ipv6 ? `ip6:${ipv6}` : ""].filter(Boolean);
  return ips.length ? `v=spf1 mx ${ips.join(" ")} -all` : "v=spf1 mx -all";
}

/**
 * RFC 8461 3.2. mode testing: senders report failures (TLS-RPT) but still deliver; switch to
 * enforce once the reports show that the certificate is valid for the MX name.
 */
export function mtaStsPolicy(hostname: string): string {
  return `version: STSv1\nmode: testing\nmx: ${hostname}\nmax_age: 604800\n`;
}

/** RFC 8461 3.1: the id changes whenever the policy does, so it is derived from the policy. */
export function mtaStsId(policy: string): string {
  return createHash("sha256").update(policy).digest("hex").slice(0, 20);
}

const port = (address: string | false): number | null => (address === false ? null : Number(address.slice(address.lastIndexOf(":") + 1)));

/**
 * RFC 6186 service records (with RFC 8314's _submissions): implicit TLS first (priority 0), the
 * STARTTLS services after (priority 10), and IMAP before POP3 (RFC 6186 3.4). A service whose
 * listener is off is published with target "." (RFC 6186 3.4: not available).
 */
const SERVICES: { service: string; listener: keyof Config["listen"]; priority: number; comment: string }[] = [
  { service: "_submissions._tcp", listener: "submissions", priority: 0, comment: "mail submission, implicit TLS (RFC 8314)" },
  { service: "_submission._tcp", listener: "submission", priority: 10, comment: "mail submission, STARTTLS (RFC 6186)" },
  { service: "_imaps._tcp", listener: "imaps", priority: 0, comment: "IMAP, implicit TLS (RFC 6186, 8314)" },
  { service: "_imap._tcp", listener: "imap", priority: 10, comment: "IMAP, STARTTLS (RFC 6186)" },
  { service: "_pop3s._tcp", listener: "pop3s", priority: 20, comment: "POP3, implicit TLS: after IMAP (RFC 6186 3.4)" },
];

export function domainRecords(input: RecordsInput): DomainRecords {
  const { domain, hostname } = input;
  const host = `${hostname}.`;
  const records: DnsRecord[] = [];
  const notes: string[] = [];
  const add = (r: DnsRecord) => records.push(r);

  add({ kind: "mx", name: domain, type: "MX", value: `${MX_PRIORITY} ${host}`, required: true, comment: `mail for ${domain} goes to ${hostname}` });
  if (input.ipv4) add({ kind: "address", name: hostname, type: "A", value: input.ipv4, required: false, comment: "the mail server's IPv4 address" });
  if (input.ipv6) add({ kind: "address", name: hostname, type: "AAAA", value: input.ipv6, required: false, comment: "the mail server's IPv6 address" });
  if (!input.ipv4 && !input.ipv6) notes.push(`${hostname} needs A (and AAAA, if the server has IPv6) records with the server's public addresses; give --ip/--ipv6 to print them`);
  add({ kind: "spf", name: domain, type: "TXT", value: spfValue(input.ipv4, input.ipv6), required: true, comment: "SPF: only the MX may send for the domain (RFC 7208)" });

  const published = input.dkimKeys.filter((k) => k.state !== "retired");
  for (const k of published) {
    add({ kind: "dkim", name: dkimRecordName(k.selector, domain), type: "TXT", value: dkimRecordValue(k.algorithm, k.publicKey), required: true, comment: `DKIM ${k.algorithm} key ${k.selector} (${k.state === "active" ? "signs new mail" : "retiring: keep until it is retired"})` });
  }
  if (published.length === 0) notes.push(`${domain} has no DKIM key: create one with petrel dkim keygen ${domain}, then publish its record`);

  add({ kind: "dmarc", name: `_dmarc.${domain}`, type: "TXT", value: dmarcValue(domain), required: true, comment: "DMARC: quarantine mail that fails SPF and DKIM alignment; reports to postmaster (RFC 7489)" });

  const policy = mtaStsPolicy(hostname);
  add({ kind: "mta-sts", name: `_mta-sts.${domain}`, type: "TXT", value: `v=STSv1; id=${mtaStsId(policy)}`, required: false, comment: "MTA-STS: senders must use TLS to the MX (RFC 8461); serve the policy file below" });
  add({ kind: "tls-rpt", name: `_smtp._tls.${domain}`, type: "TXT", value: `v=TLSRPTv1; rua=mailto:postmaster@${domain}`, required: false, comment: "TLS reporting: senders report TLS failures (RFC 8460)" });
  notes.push(`MTA-STS: serve the policy file at https://mta-sts.${domain}/.well-known/mta-sts.txt with a valid certificate for mta-sts.${domain} (Petrel does not serve this file: use any web server, or the HTTPS proxy in front of listen.http), and change the policy's mode to enforce once the TLS reports are clean`);

  for (const s of SERVICES) {
    const p = port(input.listen[s.listener]);
    add({ kind: "srv", name: `${s.service}.${domain}`, type: "SRV", value: p === null ? "0 0 0 ." : `${s.priority} 1 ${p} ${host}`, required: false, comment: p === null ? `${s.comment}: not offered` : s.comment });
  }
  for (const name of ["autoconfig", "autodiscover"]) {
    add({ kind: "autoconfig", name: `${name}.${domain}`, type: "CNAME", value: host, required: false, comment: `${name === "autoconfig" ? "Thunderbird" : "Outlook"} account set-up: Petrel answers on listen.http; put an HTTPS proxy for ${name}.${domain} in front` });
  }

  for (const ip of [input.ipv4, input.ipv6]) {
    if (ip && isIP(ip)) add({ kind: "ptr", name: reverseName(ip), type: "PTR", value: host, required: false, comment: `reverse DNS of ${ip}: set it at your hosting provider; receivers check it matches ${hostname}` });
  }
  if (!input.ipv4 && !input.ipv6) notes.push(`the server's IP address needs a PTR record naming ${hostname} (set at your hosting provider)`);

  return { domain, hostname, records, mtaStsPolicy: { url: `https://mta-sts.${domain}/.well-known/mta-sts.txt`, content: policy }, notes };
}

/** One record as a zone-file line; TXT values longer than 255 octets become several strings. */
export function zoneLine(r: DnsRecord): string {
  const value = r.type === "TXT" ? zoneFileStrings(r.value) : r.value;
  return `${r.name}. 3600 IN ${r.type} ${value}`;
}

/** The records as a zone-file fragment with comments, then the policy file and the notes. */
export function formatZone(d: DomainRecords): string {
  const lines = [`; DNS records for ${d.domain} (mail server ${d.hostname}), generated by petrel dns records`];
  let section = "";
  for (const r of d.records) {
    const required = r.required ? "required" : "recommended";
    if (r.kind !== section) lines.push("");
    section = r.kind;
    lines.push(`; ${r.comment} [${required}]`, zoneLine(r));
  }
  lines.push("", `; MTA-STS policy file, to serve at ${d.mtaStsPolicy.url}:`, ...d.mtaStsPolicy.content.trimEnd().split("\n").map((l) => `;   ${l}`));
  if (d.notes.length) lines.push("", ...d.notes.map((n) => `; note: ${n}`));
  return lines.join("\n") + "\n";
}
