/**
 * What the client's DNS and greeting say about it, as score inputs (never a refusal on their
 * own): forward-confirmed reverse DNS, and the sanity of the HELO/EHLO name.
 */
import { isIP } from "node:net";
import { DnsError, type Resolver } from "../dns/types.js";
import { plainIp, ipv6Groups } from "./net.js";

export interface FcrdnsResult {
  /**
   * pass: a PTR name resolves back to the client's address; fail: PTR names exist but none
   * does; none: no PTR record; temperror: a lookup failed for now.
   */
  status: "pass" | "fail" | "none" | "temperror";
  /** The confirmed name (pass), or the PTR names found. */
  names: string[];
}

/** PTR names looked up forward at most (a client controls its PTR set). */
const MAX_NAMES = 10;

/** Forward-confirmed reverse DNS (RFC 8601 2.7.3 "iprev"): PTR, then A/AAAA of each name. */
export async function fcrdns(resolver: Resolver, rawIp: string): Promise<FcrdnsResult> {
  const ip = plainIp(rawIp);
  const family = isIP(ip);
  if (!family) return { status: "none", names: [] };
  let names: string[];
  try {
    names = (await resolver.ptr(ip)).map((n) => n.replace(/\.$/, "").toLowerCase()).slice(0, MAX_NAMES);
  } catch (e) {
    if (e instanceof DnsError && !e.temporary) return { status: "none", names: [] };
    return { status: "temperror", names: [] };
  }
  if (!names.length) return { status: "none", names: [] };
  let temporary = false;
  for (const name of names) {
    try {
      const addrs = family === 4 ? await resolver.a(name) : await resolver.aaaa(name);
      if (addrs.some((a) => sameIp(a, ip))) return { status: "pass", names: [name] };
    } catch (e) {
      if (!(e instanceof DnsError) || e.temporary) temporary = true;
    }
  }
  return { status: temporary ? "temperror" : "fail", names };
}

function sameIp(a: string, b: string): boolean {
  if (isIP(a) === 6 && isIP(b) === 6) return ipv6Groups(a).join(":") === ipv6Groups(b).join(":");
  return a === b;
}

/**
 * Findings about a HELO/EHLO name:
 * - ip-literal-mismatch: an address literal ([192.0.2.1], RFC 5321 4.1.3) that is not the client's;
 * - bare-name: not a domain (no dot), e.g. "localhost" or a Windows machine name;
 * - ours: our own host name or one of our domains, from a client outside the local networks
 *   (nobody else has a right to it; a classic forgery).
 */
export type HeloFinding = "ip-literal-mismatch" | "bare-name" | "ours";

export async function heloFindings(helo: string, rawIp: string, ours: (name: string) => boolean | Promise<boolean>): Promise<HeloFinding[]> {
  const ip = plainIp(rawIp);
  const name = helo.toLowerCase().replace(/\.$/, "");
  const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(name);
  if (literal) {
    const lit = plainIp(literal[1]!);
    return isIP(lit) && sameIp(lit, ip) ? [] : ["ip-literal-mismatch"];
  }
  const out: HeloFinding[] = [];
  if (!name.includes(".")) out.push("bare-name");
  if (await ours(name)) out.push("ours");
  return out;
}
