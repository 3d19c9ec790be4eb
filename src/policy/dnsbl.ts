/**
 * DNS blocklists (RFC 5782): the client's address is looked up as <reversed address>.<zone>;
 * an A record means "listed", the address of the answer says why (127.0.0.2 ... by list
 * convention). Each zone either refuses a listed client outright or adds its weight to a score
 * that the caller records (and refuses on when the score reaches a threshold).
 *
 * RFC 5782 2.1: answers are in 127.0.0.0/8. Answers outside it, and 127.255.255.0/24 (the
 * error codes large lists send to queries they refuse, e.g. through a public resolver), never
 * count as a listing; a zone's `codes`, when given, is the exact list of answers that count.
 * A lookup that fails (timeout, SERVFAIL) counts as "not listed" unless onError is tempfail:
 * a blocklist being down must not stop all inbound mail; it is logged.
 */
import { isIP } from "node:net";
import { DnsError, type Resolver } from "../dns/types.js";
import { dnsblQueryName, plainIp } from "./net.js";

export interface DnsblZone {
  zone: string;
  /** The answers that count as listed; empty or absent: any 127.0.0.0/8 answer (errors excepted). */
  codes?: readonly string[];
  action: "reject" | "score";
  weight: number;
}

export interface DnsblOptions {
  zones: readonly DnsblZone[];
  /** Reject when the summed weight of listing "score" zones reaches this; null: never. */
  scoreThreshold: number | null;
  /** A zone that cannot be asked: count it as not listing (accept) or answer 451 (tempfail). */
  onError: "accept" | "tempfail";
  /** How long a client's result is kept in this process (ms); 0: not kept. */
  cacheTtlMs: number;
  /** Clients kept in the cache. */
  cacheSize?: number;
}

export interface DnsblListing {
  zone: string;
  /** The answers that matched. */
  codes: string[];
  action: "reject" | "score";
  weight: number;
}

export interface DnsblResult {
  listings: DnsblListing[];
  /** Summed weight of the listing "score" zones. */
  score: number;
  /** The zone that refuses this client (a listing reject zone, or "score" when the threshold is reached). */
  rejectBy?: string;
  /** Zones whose lookup failed temporarily. */
  errors: string[];
}

export class Dnsbl {
  private readonly cache = new Map<string, { expires: number; result: Promise<DnsblResult> }>();
  private readonly cacheSize: number;

  constructor(
    private readonly resolver: Resolver,
    private readonly opts: DnsblOptions,
    private readonly now: () => number,
  ) {
    this.cacheSize = opts.cacheSize ?? 10_000;
  }

  get enabled(): boolean {
    return this.opts.zones.length > 0;
  }

  get onError(): "accept" | "tempfail" {
    return this.opts.onError;
  }

  /** Every zone asked at once; concurrent and recent checks of one address share one result. */
  check(rawIp: string): Promise<DnsblResult> {
    const ip = plainIp(rawIp);
    const now = this.now();
    const hit = this.cache.get(ip);
    if (hit && hit.expires > now) return hit.result;
    if (hit) this.cache.delete(ip);
    const result = this.lookup(ip);
    if (this.opts.cacheTtlMs > 0 && this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
      const entry = { expires: now + this.opts.cacheTtlMs, result };
      this.cache.set(ip, entry);
      // A result with a failed zone is not kept: the next client asks again.
      void result.then((r) => {
        if (r.errors.length && this.cache.get(ip) === entry) this.cache.delete(ip);
      });
    }
    return result;
  }

  private async lookup(ip: string): Promise<DnsblResult> {
    const out: DnsblResult = { listings: [], score: 0, errors: [] };
    if (!isIP(ip)) return out;
    const answers = await Promise.all(
      this.opts.zones.map(async (z) => {
        try {
          return { z, a: await this.resolver.a(dnsblQueryName(ip, z.zone)) };
        } catch (e) {
          if (e instanceof DnsError && !e.temporary) return { z, a: [] as string[] };
          return { z, a: null };
        }
      }),
    );
    for (const { z, a } of answers) {
      if (a === null) {
        out.errors.push(z.zone);
        continue;
      }
      const codes = a.filter((x) => counts(x, z.codes));
      if (!codes.length) continue;
      out.listings.push({ zone: z.zone, codes, action: z.action, weight: z.weight });
      if (z.action === "reject") out.rejectBy ??= z.zone;
      else out.score += z.weight;
    }
    if (!out.rejectBy && this.opts.scoreThreshold !== null && out.listings.some((l) => l.action === "score") && out.score >= this.opts.scoreThreshold) {
      out.rejectBy = out.listings.filter((l) => l.action === "score").map((l) => l.zone).join(", ");
    }
    return out;
  }
}

function counts(answer: string, codes: readonly string[] | undefined): boolean {
  if (codes?.length) return codes.includes(answer);
  return answer.startsWith("127.") && !answer.startsWith("127.255.255.");
}
