/**
 * MTA-STS (RFC 8461) for the sending side: discovery (the `_mta-sts.DOMAIN` TXT record), the
 * policy fetched over HTTPS from https://mta-sts.DOMAIN/.well-known/mta-sts.txt, and the policy
 * cache in the store's key-value table (it survives restarts and is shared by every node).
 *
 * The HTTPS fetch resolves mta-sts.DOMAIN through our Resolver and connects to `port` (443;
 * tests point it at a local server) with the certificate checked for that name against the
 * system's CAs plus `ca` (tests add their own CA).
 */
import { request } from "node:https";
import { rootCertificates } from "node:tls";
import { domainToASCII } from "node:url";
import type { Logger } from "../../core/logger.js";
import { DnsError, type Resolver } from "../../dns/types.js";
import type { KeyValueStore } from "../../store/types.js";

export type StsMode = "enforce" | "testing" | "none";

export interface StsPolicy {
  /** The id of the TXT record the policy was fetched under. */
  id: string;
  mode: StsMode;
  /** MX patterns: "mx.example.com" or "*.example.com" (one label). */
  mx: string[];
  /** Seconds (RFC 8461 3.2: at most 31557600). */
  maxAge: number;
  /** When it was fetched, ms since the epoch. */
  fetchedAt: number;
  /** The policy text as fetched (TLS-RPT's policy-string). */
  text: string;
}

/** What delivery to a domain must obey: a policy, or none; why none when a fetch failed. */
export interface StsLookup {
  policy: StsPolicy | null;
  /** RFC 8460 result type when discovery or fetching went wrong (sts-policy-fetch-error, sts-policy-invalid, sts-webpki-invalid). */
  failure?: { type: string; detail: string };
}

const MAX_AGE_LIMIT = 31_557_600;
/** RFC 8461 3.3: policies are small; a limit keeps a hostile server from feeding us megabytes. */
const MAX_POLICY_BYTES = 64 * 1024;

export class StsPolicyError extends Error {}

/** RFC 8461 3.1: the TXT record "v=STSv1; id=...;" (exactly one); null when there is none. */
export function parseStsRecord(txts: readonly string[]): { id: string } | null {
  const records = txts.filter((t) => /^v=STSv1\s*(;|$)/.test(t));
  if (records.length !== 1) return null;
  let id: string | undefined;
  for (const part of records[0]!.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === "id") id = v;
  }
  return id && /^[A-Za-z0-9]{1,32}$/.test(id) ? { id } : null;
}

/** RFC 8461 3.2: "key: value" lines (CRLF or LF); version STSv1, mode, max_age, mx (repeated). */
export function parseStsPolicy(text: string, id: string, fetchedAt: number): StsPolicy {
  let version: string | undefined;
  let mode: string | undefined;
  let maxAge: number | undefined;
  const mx: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === "version") version ??= value;
    else if (key === "mode") mode ??= value;
    else if (key === "max_age") maxAge ??= /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    else if (key === "mx") mx.push(value.toLowerCase());
  }
  if (version !== "STSv1") throw new StsPolicyError("policy version is not STSv1");
  if (mode !== "enforce" && mode !== "testing" && mode !== "none") throw new StsPolicyError(`bad policy mode ${JSON.stringify(mode)}`);
  if (maxAge === undefined || !Number.isFinite(maxAge)) throw new StsPolicyError("bad or missing max_age");
  if (mode !== "none" && mx.length === 0) throw new StsPolicyError("no mx in the policy");
  return { id, mode, mx, maxAge: Math.min(maxAge, MAX_AGE_LIMIT), fetchedAt, text };
}

/** RFC 8461 4.1: an MX name matches a pattern exactly, or "*.example.com" with one more label on the left. */
export function mxMatches(host: string, patterns: readonly string[]): boolean {
  const h = host.replace(/\.$/, "").toLowerCase();
  return patterns.some((p) => {
    const pat = p.replace(/\.$/, "").toLowerCase();
    if (!pat.startsWith("*.")) return h === pat;
    const suffix = pat.slice(1);
    return h.endsWith(suffix) && h.length > suffix.length && !h.slice(0, -suffix.length).includes(".");
  });
}

export interface FetchOptions {
  resolver: Resolver;
  port: number;
  timeoutMs: number;
  /** Extra trusted CA certificates (PEM). */
  ca?: string;
}

/** RFC 8461 3.3: GET over HTTPS, certificate valid for mta-sts.DOMAIN, 200 only, no redirects, text/plain. */
export type PolicyFetcher = (domain: string) => Promise<string>;

export class PolicyFetchError extends Error {
  constructor(
    /** RFC 8460 result type. */
    readonly type: "sts-policy-fetch-error" | "sts-webpki-invalid",
    message: string,
  ) {
    super(message);
  }
}

export function httpsPolicyFetcher(o: FetchOptions): PolicyFetcher {
  const ca = o.ca ? [...rootCertificates, o.ca] : undefined;
  return async (domain) => {
    const host = `mta-sts.${domain}`;
    let addresses: string[] = [];
    for (const lookup of [() => o.resolver.a(host), () => o.resolver.aaaa(host)]) {
      try {
        addresses = await lookup();
      } catch (e) {
        if (!(e instanceof DnsError)) throw e;
      }
      if (addresses.length) break;
    }
    if (!addresses.length) throw new PolicyFetchError("sts-policy-fetch-error", `${host} has no address`);
    return new Promise<string>((resolve, reject) => {
      const req = request(
        { host: addresses[0], port: o.port, servername: host, path: "/.well-known/mta-sts.txt", method: "GET", headers: { host, "user-agent": "Petrel" }, ca, rejectUnauthorized: true, timeout: o.timeoutMs, agent: false },
        (res) => {
          const type = String(res.headers["content-type"] ?? "");
          if (res.statusCode !== 200) {
            res.resume();
            return reject(new PolicyFetchError("sts-policy-fetch-error", `HTTP ${res.statusCode} from ${host}`));
          }
          if (!/^text\/plain\b/i.test(type)) {
            res.resume();
            return reject(new PolicyFetchError("sts-policy-fetch-error", `content type ${JSON.stringify(type)} from ${host}`));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_POLICY_BYTES) {
              req.destroy();
              reject(new PolicyFetchError("sts-policy-fetch-error", `policy from ${host} is too large`));
            } else chunks.push(c);
          });
          res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
          res.on("error", (e) => reject(new PolicyFetchError("sts-policy-fetch-error", e.message)));
        },
      );
      req.on("timeout", () => req.destroy(new Error(`timeout after ${o.timeoutMs} ms`)));
      req.on("error", (e: NodeJS.ErrnoException) => {
        const certError = /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME/.test(String(e.code ?? e.message));
        reject(new PolicyFetchError(certError ? "sts-webpki-invalid" : "sts-policy-fetch-error", `${host}: ${e.code ?? e.message}`));
      });
      req.end();
    });
  };
}

export interface MtaStsDeps {
  resolver: Resolver;
  kv: KeyValueStore;
  fetch: PolicyFetcher;
  log: Logger;
  now?: () => number;
}

const cacheKey = (domain: string) => `mta-sts:${domain}`;

/** Policy discovery with the store as cache (RFC 8461 5.1). */
export class MtaSts {
  private readonly now: () => number;
  /** One fetch per domain at a time. */
  private readonly inflight = new Map<string, Promise<StsLookup>>();

  constructor(private readonly deps: MtaStsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** The cached policy, if still within its max_age. */
  async cached(domain: string): Promise<StsPolicy | null> {
    const d = domainToASCII(domain).toLowerCase() || domain.toLowerCase();
    const got = await this.deps.kv.get([cacheKey(d)], this.now());
    const e = got[cacheKey(d)];
    if (!e) return null;
    try {
      return JSON.parse(e.value) as StsPolicy;
    } catch {
      return null;
    }
  }

  lookup(domain: string): Promise<StsLookup> {
    const d = domainToASCII(domain).toLowerCase() || domain.toLowerCase();
    let p = this.inflight.get(d);
    if (!p) {
      p = this.discover(d).finally(() => this.inflight.delete(d));
      this.inflight.set(d, p);
    }
    return p;
  }

  private async discover(domain: string): Promise<StsLookup> {
    const { resolver, log } = this.deps;
    const cached = await this.cached(domain);
    const active = (p: StsPolicy | null): StsPolicy | null => (p && p.mode !== "none" ? p : null);
    let record: { id: string } | null;
    try {
      record = parseStsRecord((await resolver.txt(`_mta-sts.${domain}`)).map((parts) => parts.join("")));
    } catch (e) {
      if (!(e instanceof DnsError)) throw e;
      // No record (NXDOMAIN/NODATA) or a DNS failure: RFC 8461 5.1, a cached policy still holds.
      return { policy: active(cached) };
    }
    if (!record) return { policy: active(cached) };
    if (cached && cached.id === record.id) return { policy: active(cached) };
    let text: string;
    try {
      text = await this.deps.fetch(domain);
    } catch (e) {
      const type = e instanceof PolicyFetchError ? e.type : "sts-policy-fetch-error";
      log.warn({ event: "mta-sts-fetch", domain, error: (e as Error).message }, "MTA-STS policy fetch failed");
      // RFC 8461 5.1: keep using the cached policy when a new one cannot be fetched.
      return { policy: active(cached), failure: { type, detail: (e as Error).message } };
    }
    let policy: StsPolicy;
    try {
      policy = parseStsPolicy(text, record.id, this.now());
    } catch (e) {
      log.warn({ event: "mta-sts-fetch", domain, error: (e as Error).message }, "MTA-STS policy invalid");
      return { policy: active(cached), failure: { type: "sts-policy-invalid", detail: (e as Error).message } };
    }
    await this.deps.kv.put(cacheKey(domain), JSON.stringify(policy), policy.fetchedAt + policy.maxAge * 1000, this.now());
    log.info({ event: "mta-sts-policy", domain, id: policy.id, mode: policy.mode, mx: policy.mx, maxAge: policy.maxAge }, "MTA-STS policy fetched");
    return { policy: active(policy) };
  }
}
