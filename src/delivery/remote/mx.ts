/**
 * Where mail for a domain goes (RFC 5321 5.1): the MX hosts by preference, shuffled among equal
 * preferences; with no MX record, the domain itself (implicit MX, its A/AAAA); a null MX
 * (RFC 7505: one MX "0 .") means the domain takes no mail at all.
 */
import { isIP } from "node:net";
import { domainToASCII } from "node:url";
import { DnsError, type MxRecord, type Resolver } from "../../dns/types.js";

export interface RouteHost {
  /** Host name (SNI, logs), or the IP of an address literal. */
  name: string;
  /** Addresses already known (address literals, IP smart hosts); else looked up. */
  addresses?: string[];
}

export type Route =
  | { kind: "hosts"; hosts: RouteHost[] }
  /** Permanent: the recipients fail with this reply. */
  | { kind: "fail"; reply: string }
  /** Temporary (DNS trouble): try again later. */
  | { kind: "retry"; reply: string };

/**
 * `self` is our own host name: RFC 5321 5.1 says that when it is among the MX hosts, only the
 * hosts preferred to it may be tried (we are a backup MX); none left is a mail loop.
 */
export async function routeDomain(domain: string, resolver: Resolver, random: () => number = Math.random, self?: string): Promise<Route> {
  // Address literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 4.1.3).
  if (domain.startsWith("[") && domain.endsWith("]")) {
    const ip = domain.slice(1, -1).replace(/^IPv6:/i, "");
    if (isIP(ip)) return { kind: "hosts", hosts: [{ name: ip, addresses: [ip] }] };
    return { kind: "fail", reply: `550 5.1.2 Bad destination address literal ${domain}` };
  }
  const ascii = domainToASCII(domain);
  if (!ascii) return { kind: "fail", reply: `550 5.1.2 Bad destination domain ${domain}` };
  let records: MxRecord[];
  try {
    records = await resolver.mx(ascii);
  } catch (e) {
    if (!(e instanceof DnsError)) throw e;
    if (e.code === "NXDOMAIN") return { kind: "fail", reply: `550 5.1.2 Domain ${domain} does not exist (DNS NXDOMAIN)` };
    if (e.code === "NODATA") records = [];
    else if (e.code === "BADNAME") return { kind: "fail", reply: `550 5.1.2 Bad destination domain ${domain}` };
    else return { kind: "retry", reply: `451 4.4.3 DNS lookup of MX ${domain} failed (${e.code}); will retry` };
  }
  const isNull = (r: MxRecord) => r.exchange === "" || r.exchange === ".";
  if (records.length > 0 && records.every(isNull)) {
    // RFC 7505 4.1: no delivery attempt at all, and the DSN says 5.1.10.
    return { kind: "fail", reply: `556 5.1.10 Domain ${domain} does not accept mail (null MX)` };
  }
  const real = records.filter((r) => !isNull(r));
  // RFC 5321 5.1: no MX at all: the domain itself is the host (implicit MX).
  const sorted = real.length === 0 ? [{ exchange: ascii, priority: 0 }] : sortMx(real, random);
  const me = self?.toLowerCase();
  const mine = sorted.find((r) => r.exchange.replace(/\.$/, "").toLowerCase() === me);
  const hosts = mine ? sorted.filter((r) => r.priority < mine.priority) : sorted;
  if (hosts.length === 0) return { kind: "fail", reply: `554 5.4.6 Mail for ${domain} loops back to myself (${self} is its best MX)` };
  return { kind: "hosts", hosts: hosts.map((r) => ({ name: r.exchange.replace(/\.$/, "") })) };
}

/** Lowest preference first; hosts of equal preference in random order (RFC 5321 5.1). */
export function sortMx(records: readonly MxRecord[], random: () => number = Math.random): MxRecord[] {
  const keyed = records.map((r) => ({ r, k: random() }));
  keyed.sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
  const seen = new Set<string>();
  return keyed.map((x) => x.r).filter((r) => {
    const k = r.exchange.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * A host's addresses, IPv4 first then IPv6. NXDOMAIN/NODATA for both is "no address"
 * (an empty list); a temporary DNS failure with nothing found is thrown as the DnsError.
 */
export async function hostAddresses(host: RouteHost, resolver: Resolver): Promise<string[]> {
  if (host.addresses) return host.addresses;
  if (isIP(host.name)) return [host.name];
  const [a, aaaa] = await Promise.allSettled([resolver.a(host.name), resolver.aaaa(host.name)]);
  const out = [...(a.status === "fulfilled" ? a.value : []), ...(aaaa.status === "fulfilled" ? aaaa.value : [])];
  if (out.length > 0) return out;
  for (const r of [a, aaaa]) if (r.status === "rejected" && !(r.reason instanceof DnsError && !r.reason.temporary)) throw r.reason;
  return [];
}
