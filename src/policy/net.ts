/**
 * Client addresses for the anti-abuse checks: IPv4-mapped IPv6 unwrapped, the client's network
 * (the unit greylisting and whitelisting work on), CIDR lists, and DNSBL query names.
 */
import { BlockList, isIP } from "node:net";

/** "::ffff:192.0.2.1" (a dual-stack socket's IPv4 peer) -> "192.0.2.1"; anything else unchanged. */
export function plainIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** The eight 16-bit groups of an IPv6 address, as numbers (embedded IPv4 included). */
export function ipv6Groups(ip: string): number[] {
  const halves = ip.split("::");
  const part = (s: string | undefined): number[] => {
    if (!s) return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (g.includes(".")) {
        const o = g.split(".").map(Number);
        out.push((o[0]! << 8) | o[1]!, (o[2]! << 8) | o[3]!);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = part(halves[0]);
  const tail = part(halves[1]);
  return halves.length === 2 ? [...head, ...Array<number>(8 - head.length - tail.length).fill(0), ...tail] : head;
}

/**
 * The network a client is judged by: its /24 for IPv4 and its /64 for IPv6 (RFC 6647 4.1.1:
 * senders retry from another address of the same pool; an IPv6 end site gets at least a /64).
 */
export function clientNetwork(ip: string): string {
  const a = plainIp(ip);
  if (isIP(a) === 4) return `${a.split(".").slice(0, 3).join(".")}.0/24`;
  if (isIP(a) === 6) return `${ipv6Groups(a).slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`;
  return a;
}

/** A list of CIDR blocks ("10.0.0.0/8", "2001:db8::/32", or a bare address). Throws on a bad entry. */
export class NetworkList {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const [addr, bits] = c.split("/");
      const family = isIP(addr ?? "");
      if (!family) throw new Error(`not an IP network: ${c}`);
      const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`bad prefix length: ${c}`);
      this.list.addSubnet(addr!, prefix, family === 4 ? "ipv4" : "ipv6");
    }
    this.size = cidrs.length;
  }

  has(ip: string): boolean {
    if (this.size === 0) return false;
    const a = plainIp(ip);
    const family = isIP(a);
    if (!family) return false;
    return this.list.check(a, family === 4 ? "ipv4" : "ipv6");
  }
}

/**
 * The DNSBL query name of an address in a zone (RFC 5782 2.1, 2.4): IPv4 octets reversed
 * (192.0.2.99 -> 99.2.0.192.zone), IPv6 as 32 reversed nibbles.
 */
export function dnsblQueryName(ip: string, zone: string): string {
  const a = plainIp(ip);
  const z = zone.replace(/^\.+|\.+$/g, "");
  if (isIP(a) === 4) return `${a.split(".").reverse().join(".")}.${z}`;
  const hex = ipv6Groups(a)
    .map((g) => g.toString(16).padStart(4, "0"))
    .join("");
  return `${hex.split("").reverse().join(".")}.${z}`;
}
