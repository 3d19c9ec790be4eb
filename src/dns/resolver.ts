/**
 * The Resolver over node:dns/promises (c-ares): configurable servers, per-try timeout, and a
 * small cache. RFC 1035 says a record may be cached for its TTL: c-ares gives the TTL of A/AAAA
 * answers, which are cached for exactly that long; TXT/MX/PTR answers carry no TTL through
 * node:dns, so they are kept for `otherTtl` (short by default). Negative answers (NXDOMAIN,
 * NODATA) are kept for `negativeTtl` (RFC 2308 would use the SOA minimum, which node:dns hides).
 * Temporary failures are never cached. Concurrent lookups of one name share one query.
 */
import { Resolver as NodeResolver } from "node:dns/promises";
import { isIP } from "node:net";
import type { Clock } from "../core/clock.js";
import { systemClock } from "../core/clock.js";
import { DnsError, type DnsErrorCode, type MxRecord, type Resolver } from "./types.js";

export interface DnsResolverOptions {
  /** "ip", "ip:port" or "[ipv6]:port"; empty: the system's resolvers (/etc/resolv.conf). */
  servers?: readonly string[];
  /** Per-try timeout in milliseconds (default 3000). */
  timeoutMs?: number;
  /** Tries per server (default 2). */
  tries?: number;
  /** Seconds to keep TXT/MX/PTR answers (default 60; 0 turns their caching off). */
  otherTtl?: number;
  /** Seconds to keep NXDOMAIN/NODATA (default 30; 0 turns negative caching off). */
  negativeTtl?: number;
  /** Upper bound for any TTL, in seconds (default 3600). */
  maxTtl?: number;
  /** Cache entries (default 10000; 0 turns the cache off). */
  cacheSize?: number;
  clock?: Clock;
}

type Entry = { expires: number; value?: unknown; error?: DnsError };

/** node:dns error codes to ours. Anything unknown is treated as a temporary failure. */
const CODES: Record<string, DnsErrorCode> = {
  ENOTFOUND: "NXDOMAIN",
  ENODATA: "NODATA",
  ETIMEOUT: "TIMEOUT",
  ECONNREFUSED: "TIMEOUT",
  ESERVFAIL: "SERVFAIL",
  EREFUSED: "REFUSED",
  EFORMERR: "FORMERR",
  EBADNAME: "BADNAME",
  EBADQUERY: "BADNAME",
};

export class DnsResolver implements Resolver {
  private readonly node: NodeResolver;
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly clock: Clock;
  private readonly otherTtl: number;
  private readonly negativeTtl: number;
  private readonly maxTtl: number;
  private readonly cacheSize: number;

  constructor(opts: DnsResolverOptions = {}) {
    this.node = new NodeResolver({ timeout: opts.timeoutMs ?? 3000, tries: opts.tries ?? 2 });
    if (opts.servers?.length) this.node.setServers([...opts.servers]);
    this.clock = opts.clock ?? systemClock;
    this.otherTtl = opts.otherTtl ?? 60;
    this.negativeTtl = opts.negativeTtl ?? 30;
    this.maxTtl = opts.maxTtl ?? 3600;
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  txt(name: string): Promise<string[][]> {
    return this.lookup("TXT", name, async (n) => ({ value: await this.node.resolveTxt(n), ttl: this.otherTtl }));
  }

  mx(name: string): Promise<MxRecord[]> {
    return this.lookup("MX", name, async (n) => ({ value: await this.node.resolveMx(n), ttl: this.otherTtl }));
  }

  a(name: string): Promise<string[]> {
    return this.lookup("A", name, async (n) => withTtl(await this.node.resolve4(n, { ttl: true })));
  }

  aaaa(name: string): Promise<string[]> {
    return this.lookup("AAAA", name, async (n) => withTtl(await this.node.resolve6(n, { ttl: true })));
  }

  ptr(ipOrName: string): Promise<string[]> {
    const name = isIP(ipOrName) ? reverseName(ipOrName) : ipOrName;
    return this.lookup("PTR", name, async (n) => ({ value: await this.node.resolvePtr(n), ttl: this.otherTtl }));
  }

  /** Forget every cached answer (tests that change their records; `petrel dns check`). */
  clearCache(): void {
    this.cache.clear();
  }

  private lookup<T>(rrtype: string, rawName: string, query: (name: string) => Promise<{ value: T; ttl: number }>): Promise<T> {
    const name = rawName.endsWith(".") ? rawName.slice(0, -1) : rawName;
    const key = `${rrtype} ${name.toLowerCase()}`;
    const now = this.clock.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) {
      if (hit.error) return Promise.reject(hit.error);
      return Promise.resolve(hit.value as T);
    }
    if (hit) this.cache.delete(key);
    const pending = this.inflight.get(key);
    if (pending) return pending as Promise<T>;
    const p = query(name).then(
      ({ value, ttl }) => {
        this.remember(key, { expires: this.clock.now() + Math.min(ttl, this.maxTtl) * 1000, value }, ttl);
        return value;
      },
      (e: NodeJS.ErrnoException) => {
        const err = new DnsError(CODES[e.code ?? ""] ?? "SERVFAIL", name, rrtype, { cause: e });
        if (!err.temporary) this.remember(key, { expires: this.clock.now() + Math.min(this.negativeTtl, this.maxTtl) * 1000, error: err }, this.negativeTtl);
        throw err;
      },
    );
    this.inflight.set(key, p);
    const forget = () => this.inflight.delete(key);
    p.then(forget, forget);
    return p;
  }

  private remember(key: string, entry: Entry, ttl: number): void {
    if (this.cacheSize <= 0 || ttl <= 0) return;
    if (this.cache.size >= this.cacheSize) {
      // Oldest insertion first (Map keeps insertion order): enough for a small cache.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, entry);
  }
}

function withTtl(records: { address: string; ttl: number }[]): { value: string[]; ttl: number } {
  return { value: records.map((r) => r.address), ttl: records.reduce((m, r) => Math.min(m, r.ttl), Infinity) };
}

/** 192.0.2.1 -> 1.2.0.192.in-addr.arpa; IPv6 nibbles -> ip6.arpa (RFC 3596 2.5). */
export function reverseName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split(".").reverse().join(".")}.in-addr.arpa`;
  const halves = ip.split("::");
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const last = tail.length ? tail : head;
  const v4 = last[last.length - 1];
  if (v4?.includes(".")) {
    // IPv4-mapped or -embedded (::ffff:192.0.2.1): the last 32 bits as two groups.
    const o = v4.split(".").map(Number);
    last.splice(last.length - 1, 1, ((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16));
  }
  const all = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill("0"), ...tail] : head;
  const hex = all.map((g) => g.padStart(4, "0")).join("");
  return `${hex.split("").reverse().join(".")}.ip6.arpa`;
}
