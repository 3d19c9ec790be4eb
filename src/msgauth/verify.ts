/**
 * Inbound message authentication over one message as it is received: SPF on MAIL FROM and on
 * HELO (RFC 7208 2.3, 2.4), DKIM verification (RFC 6376 6, RSA and Ed25519), ARC chain
 * validation (RFC 8617 5.2) and DMARC (RFC 7489 6.6) — all mailauth 4.x, over our resolver.
 *
 * mailauth's authenticate() does the same steps in sequence over a complete message; here the
 * SPF lookups start when the message is opened (they need only the envelope), the message
 * streams through the DKIM verifier as it arrives (body hashes are computed on the fly, only
 * the header block is kept), and ARC and DMARC run at end of data. Nothing holds the body.
 */
import { PassThrough } from "node:stream";
import { once } from "node:events";
import { isIP } from "node:net";
import { arc, dkimVerify, dmarc, spf, type ARCResult, type DKIMResult, type DKIMVerifyResult, type DMARCResult, type SPFResult } from "mailauth";
import type { MailauthResolver } from "../dns/mailauth.js";
import { applyDkimRules, tagListViolation } from "./dkim-rules.js";

export interface VerifyOptions {
  resolver: MailauthResolver;
  /** The client's address (IPv4-mapped IPv6 is unmapped). */
  ip: string;
  /** EHLO/HELO argument as given ("" when none). */
  helo: string;
  /** MAIL FROM address, "" for the null reverse-path. */
  sender: string;
  /** Our host name: the authserv-id and the SPF %{r} macro. */
  hostname: string;
  /** Smallest RSA key accepted for DKIM/ARC (RFC 8301 3.2: 1024). */
  minBitLength?: number;
  /** Accept rsa-sha1 DKIM signatures (RFC 8301 3.1 forbids it; for old test corpora only). */
  allowRsaSha1?: boolean;
  /** Clock for DKIM x= (tests). */
  now?: () => number;
}

/** Everything that was found out about one message. */
export interface VerifyResults {
  spf: SPFResult;
  /** SPF on the HELO identity; null when HELO was an address literal or missing. */
  helo: SPFResult | null;
  dkim: DKIMResult[];
  arc: ARCResult;
  /** d= of the newest ARC-Seal (the sealer that handed us the message), when there is a chain. */
  arcSealer: string | null;
  /** DMARC (of the least favourable author domain); null when the message has no From: address. */
  dmarc: DMARCResult | null;
  /** The From: addresses found. */
  headerFrom: string[];
}

const CRLF = Buffer.from("\r\n");
const CRLFCRLF = Buffer.from("\r\n\r\n");

/** RFC 7208 4.3: a domain name HELO can be checked; an address literal cannot. */
function heloDomain(helo: string): string | null {
  const h = helo.trim().replace(/\.$/, "");
  if (!h || h.startsWith("[") || isIP(h) || !h.includes(".")) return null;
  return h.toLowerCase();
}

/** ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1 (SPF ip4 mechanisms must match it). */
export function unmapIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/**
 * SPF for one identity (RFC 7208 4): MAIL FROM, or postmaster@HELO when MAIL FROM is empty
 * (2.4). `helo` is also the %{h} macro. Never throws: DNS trouble is temperror.
 */
export function checkSpf(resolver: MailauthResolver, o: { ip: string; helo: string; sender: string; hostname: string }): Promise<SPFResult> {
  return spf({ sender: o.sender || undefined, ip: unmapIp(o.ip), helo: o.helo, mta: o.hostname, resolver: resolver as never });
}

const RANK: Record<string, number> = { fail: 4, temperror: 3, permerror: 2, none: 1, pass: 0 };
const POLICY: Record<string, number> = { reject: 2, quarantine: 1 };

/** fail (strictest policy first) > temperror > permerror > none > pass. */
function leastFavourable(rs: DMARCResult[]): DMARCResult | null {
  let worst: DMARCResult | null = null;
  for (const r of rs) {
    if (!worst) worst = r;
    else {
      const a = RANK[r.status.result] ?? 1;
      const b = RANK[worst.status.result] ?? 1;
      if (a > b || (a === b && (POLICY[r.policy] ?? 0) > (POLICY[worst.policy] ?? 0))) worst = r;
    }
  }
  return worst;
}

export class MessageVerifier {
  private readonly input = new PassThrough({ highWaterMark: 256 * 1024 });
  private readonly dkim: Promise<DKIMVerifyResult>;
  private readonly spf: Promise<SPFResult>;
  private readonly helo: Promise<SPFResult | null>;
  private ended = false;
  /** Whether the header block has ended (a blank line, or an empty header); last octets seen. */
  private headerDone = false;
  private tail = Buffer.alloc(0);

  constructor(private readonly o: VerifyOptions) {
    const resolver = o.resolver as never;
    const ip = unmapIp(o.ip);
    const helo = heloDomain(o.helo);
    // mailauth checks postmaster@HELO when MAIL FROM is empty (RFC 7208 2.4).
    const heloArg = helo ?? (o.helo.trim() || `[${ip}]`);
    this.spf = checkSpf(o.resolver, { sender: o.sender, ip, helo: heloArg, hostname: o.hostname });
    this.helo = helo ? checkSpf(o.resolver, { sender: `postmaster@${helo}`, ip, helo, hostname: o.hostname }) : Promise.resolve(null);
    const curTime = o.now ? new Date(o.now()) : undefined;
    this.dkim = dkimVerify(this.input, { resolver, sender: o.sender || undefined, minBitLength: o.minBitLength, curTime } as never);
    // Settled results are read at finish(); until then nobody awaits them.
    this.spf.catch(() => undefined);
    this.helo.catch(() => undefined);
    this.dkim.catch(() => undefined);
  }

  /** The message's octets as the client sent them, in order (backpressure: awaits drain). */
  async write(chunk: Buffer): Promise<void> {
    if (this.ended || chunk.length === 0) return;
    if (!this.headerDone) {
      const probe = Buffer.concat([this.tail, chunk]);
      if (probe.includes(CRLFCRLF) || (this.tail.length === 0 && probe[0] === 13 && probe[1] === 10)) this.headerDone = true;
      this.tail = probe.subarray(Math.max(0, probe.length - 3));
    }
    // abort() destroys the stream: a write waiting for drain must not wait forever.
    if (!this.input.write(chunk)) await Promise.race([once(this.input, "drain"), once(this.input, "close")]);
  }

  /** End of data: finish DKIM, then ARC and DMARC. */
  async finish(): Promise<VerifyResults> {
    // A message that is all header (no blank line, RFC 5322 allows it) would otherwise not be
    // parsed at all by mailauth (no From:, no DMARC): end its header; the body stays empty.
    if (!this.headerDone && this.tail.length > 0) this.input.write(this.tail.subarray(-2).equals(CRLF) ? CRLF : Buffer.from("\r\n\r\n"));
    this.ended = true;
    this.input.end();
    const [dkimRes, spfRes, heloRes] = await Promise.all([this.dkim, this.spf, this.helo]);
    const parsed = (dkimRes.headers?.parsed ?? []) as { key: string | null; line: Buffer | string }[];
    const signatures = parsed.filter((h) => h.key === "dkim-signature").map((h) => h.line.toString().replace(/^[^:]*:/, ""));
    applyDkimRules(dkimRes.results ?? [], signatures, this.o.allowRsaSha1);
    const resolver = this.o.resolver as never;
    const arcData = dkimRes.arc as unknown as { chain: unknown; lastEntry?: { "arc-seal"?: { parsed?: { d?: { value?: string } } } } };
    const arcRes = await arc((arcData ?? { chain: false }) as never, { resolver, minBitLength: this.o.minBitLength });
    const sealer = arcData?.lastEntry?.["arc-seal"]?.parsed?.d?.value?.toLowerCase() ?? null;
    if (arcRes.status.result === "pass") {
      // RFC 8617 4.1: the ARC header fields use DKIM's tag-list syntax, which mailauth parses leniently.
      const bad = parsed
        .filter((h) => h.key === "arc-seal" || h.key === "arc-message-signature")
        .map((h) => tagListViolation(h.line.toString().replace(/^[^:]*:/, ""), h.key === "arc-seal" ? ["i", "a", "b", "cv", "d", "s"] : ["i", "a", "b", "bh", "d", "h", "s"]))
        .find((v) => v !== null);
      if (bad) {
        arcRes.status.result = "fail";
        arcRes.status.comment = `malformed ARC set: ${bad}`;
        arcRes.info = `arc=fail (malformed ARC set: ${bad.replace(/[\\()]/g, "")})`;
      }
    }
    const headerFrom = dkimRes.headerFrom ?? [];
    // RFC 7489 6.6.1: several author domains (several From: fields or addresses) cannot dodge
    // DMARC: each domain is evaluated and the least favourable result stands.
    const domains = [...new Set(headerFrom.map((a) => a.slice(a.lastIndexOf("@") + 1).toLowerCase()))];
    const evaluated: DMARCResult[] = [];
    for (const domain of domains.slice(0, 5)) {
      const r = await dmarc({
        headerFrom: headerFrom.find((a) => a.toLowerCase().endsWith(`@${domain}`)) ?? `postmaster@${domain}`,
        spfDomains: spfRes.status.result === "pass" && spfRes.domain ? [spfRes.domain] : [],
        dkimDomains: (dkimRes.results ?? []).filter((r) => r.status.result === "pass").map((r) => ({ id: r.id, domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized })),
        arcResult: arcRes,
        resolver,
      });
      if (r) evaluated.push(r);
    }
    const dmarcRes = leastFavourable(evaluated);
    return { spf: spfRes, helo: heloRes, dkim: dkimRes.results ?? [], arc: arcRes, arcSealer: sealer, dmarc: dmarcRes, headerFrom };
  }

  /** The message was abandoned: stop the verifier. */
  abort(): void {
    this.ended = true;
    this.input.destroy();
  }
}
