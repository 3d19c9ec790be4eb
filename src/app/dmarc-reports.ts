/**
 * DMARC aggregate reports (RFC 7489 7.2), both ways.
 *
 * Receiving: mail delivered to `dmarc.reportAddress` (a local account or alias) is read after
 * its local delivery (a wrapper around the local transport): the XML report in it (gzip, zip
 * or plain attachment) is parsed and stored with its rows; `petrel dmarc reports` lists them.
 * A message that is not a report is delivered like any other and only logged.
 *
 * Sending (dmarc.sendReports): each DMARC evaluation of a message on the MX listener (the
 * inbound verifier's results and verdict) is recorded; once a day (or `petrel dmarc
 * send-reports`) the records are aggregated per policy domain, the domain's DMARC record is
 * looked up for rua= (RFC 7489 7.1: a report address outside the domain must be authorised by
 * a <domain>._report._dmarc.<rua-domain> record), and the gzipped XML is queued as a message
 * from dmarc.reportFrom (RFC 7489 7.2.1.1 for subject, file name and media type).
 */
import { gzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { hostname as osHostname } from "node:os";
import type { Logger } from "../core/logger.js";
import type { Config } from "../config/schema.js";
import type { Resolver } from "../dns/types.js";
import { DnsError } from "../dns/types.js";
import type { Store } from "../store/types.js";
import type { Transport } from "../queue/transport.js";
import type { Queue } from "../queue/queue.js";
import type { SessionView, TransactionView } from "../smtp/handler.js";
import type { VerifyResults } from "../msgauth/verify.js";
import { unmapIp } from "../msgauth/verify.js";
import type { InboundDecision } from "../policy/inbound-auth.js";
import { aggregateReportXml, parseAggregateReport, type AggregateRecord, type AggregateReport } from "../msgauth/dmarc-aggregate.js";
import { reportDocuments } from "../msgauth/dmarc-report-mail.js";
import { formatAddress } from "../core/address.js";

/** One message's DMARC evaluation, as recorded for our reports (dmarc_events.data). */
export interface DmarcEvent {
  ip: string;
  /** RFC5322.From domain. */
  headerFrom: string;
  /** Its organizational domain (where the DMARC record may be instead). */
  orgDomain: string;
  envelopeFrom: string;
  envelopeTo: string;
  disposition: "none" | "quarantine" | "reject";
  dkim: "pass" | "fail";
  spf: "pass" | "fail";
  reasons: { type: string; comment?: string }[];
  authDkim: { domain: string; selector?: string; result: string }[];
  authSpf: { domain: string; scope: string; result: string }[];
}

/** The event for one evaluated message, or null when nothing is to be reported (no record, 451). */
export function dmarcEventOf(s: SessionView, txn: TransactionView, r: VerifyResults, decision: InboundDecision): DmarcEvent | null {
  const d = r.dmarc;
  if (!d || (d.status.result !== "pass" && d.status.result !== "fail")) return null;
  // A deferral is not a disposition: the retry is evaluated (and recorded) again.
  if (decision.action === "defer") return null;
  const headerFrom = ((d.status.header as { d?: string } | undefined)?.d ?? d.domain).toLowerCase();
  const disposition = decision.action === "reject" ? "reject" : decision.action === "quarantine" ? "quarantine" : "none";
  const applied = d.status.result === "fail" ? (d.policy || "none").toLowerCase() : "none";
  const reasons: DmarcEvent["reasons"] = [];
  if (decision.action === "accept" && decision.note) reasons.push({ type: "trusted_forwarder", comment: decision.note });
  else if (disposition !== applied) reasons.push({ type: d.status.result === "fail" && (d.pct ?? 100) < 100 ? "sampled_out" : "local_policy" });
  const mailFrom = txn.from.address ? formatAddress(txn.from.address) : "";
  const rcpt = txn.rcpts[0]?.address.domain;
  return {
    ip: unmapIp(s.remoteAddress),
    headerFrom,
    orgDomain: d.domain.toLowerCase(),
    envelopeFrom: mailFrom ? mailFrom.slice(mailFrom.lastIndexOf("@") + 1).toLowerCase() : "",
    envelopeTo: (rcpt ?? "").toLowerCase(),
    disposition,
    dkim: d.alignment?.dkim?.result ? "pass" : "fail",
    spf: d.alignment?.spf?.result ? "pass" : "fail",
    reasons,
    authDkim: r.dkim.filter((x) => x.signingDomain).map((x) => ({ domain: x.signingDomain, ...(x.selector ? { selector: x.selector } : {}), result: x.status.result })),
    // RFC 7489 Appendix C: spf scope mfrom, or helo when MAIL FROM was empty.
    authSpf: [{ domain: r.spf.domain, scope: mailFrom ? "mfrom" : "helo", result: r.spf.status.result }],
  };
}

/** A DMARC record's tags (RFC 7489 6.3), or null when the TXT is not one. */
export function dmarcTags(txt: string): Record<string, string> | null {
  if (!/^v\s*=\s*DMARC1\s*(;|$)/i.test(txt)) return null;
  const tags: Record<string, string> = {};
  for (const part of txt.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) tags[part.slice(0, eq).trim().toLowerCase()] = part.slice(eq + 1).trim();
  }
  return tags;
}

/** rua= mailto: addresses (RFC 7489 6.4: comma-separated URIs, "!size" suffixes dropped). */
export function ruaAddresses(rua: string | undefined): string[] {
  if (!rua) return [];
  return rua
    .split(",")
    .map((u) => u.trim())
    .filter((u) => /^mailto:/i.test(u))
    .map((u) => decodeURIComponent(u.slice(7).replace(/!\d+[kmgt]?$/i, "")).trim())
    .filter((a) => /^[^@\s]+@[^@\s]+$/.test(a));
}

export interface DmarcReportsDeps {
  config: Config & { hostname: string };
  store: Store;
  resolver: Resolver;
  log: Logger;
  now(): number;
}

export interface SentReport {
  domain: string;
  to: string[];
  queueId: string;
  records: number;
  messages: number;
  reportId: string;
}

const DAY = 24 * 3600_000;

export class DmarcReports {
  private timer?: NodeJS.Timeout;
  private readonly reportAddress: string | null;

  constructor(private readonly deps: DmarcReportsDeps) {
    this.reportAddress = deps.config.dmarc.reportAddress?.toLowerCase() ?? null;
  }

  // ---- receiving ----

  /** The local transport, with reports to dmarc.reportAddress read after their delivery. */
  wrap(local: Transport): Transport {
    if (!this.reportAddress) return local;
    const address = this.reportAddress;
    return {
      deliver: async (job) => {
        const outcomes = await local.deliver(job);
        const mine = job.recipients.filter((r) => r.address.toLowerCase() === address && outcomes.some((o) => o.idx === r.idx && o.status === "delivered"));
        if (mine.length > 0) await this.receive(await job.body(), job.message.id);
        return outcomes;
      },
    };
  }

  /** Parse and store the reports in one message; never throws (a bad report is logged). */
  async receive(raw: Buffer, source: string): Promise<number> {
    const { store, log } = this.deps;
    let stored = 0;
    try {
      const docs = reportDocuments(raw);
      if (docs.length === 0) log.warn({ event: "dmarc-report", queueId: source }, "message to the DMARC report address carries no report");
      for (const xml of docs) {
        const r = parseAggregateReport(xml);
        const added = await store.dmarc.addReport(
          {
            orgName: r.orgName,
            reportId: r.reportId,
            email: r.email,
            domain: r.policy.domain,
            begin: r.begin,
            end: r.end,
            policy: { p: r.policy.p, sp: r.policy.sp, pct: r.policy.pct, adkim: r.policy.adkim, aspf: r.policy.aspf },
            source,
            records: r.records.map((x) => ({ sourceIp: x.sourceIp, count: x.count, disposition: x.disposition, dkim: x.dkim, spf: x.spf, headerFrom: x.headerFrom, details: x })),
          },
          this.deps.now(),
        );
        log.info({ event: "dmarc-report", queueId: source, org: r.orgName, reportId: r.reportId, domain: r.policy.domain, records: r.records.length, duplicate: !added }, added ? `DMARC report from ${r.orgName} stored` : `DMARC report from ${r.orgName} already stored`);
        if (added) stored++;
      }
    } catch (e) {
      log.warn({ event: "dmarc-report", queueId: source, err: (e as Error).message }, `DMARC report not readable: ${(e as Error).message}`);
    }
    return stored;
  }

  // ---- sending ----

  /** Record one evaluated message (the inbound verifier calls this); never throws. */
  observe(s: SessionView, txn: TransactionView, r: VerifyResults, decision: InboundDecision): void {
    if (!this.deps.config.dmarc.sendReports) return;
    const e = dmarcEventOf(s, txn, r, decision);
    if (!e) return;
    this.deps.store.dmarc.addEvent(this.deps.now(), e.orgDomain, e).catch((err: Error) => this.deps.log.warn({ event: "dmarc-record", err: err.message }, "DMARC evaluation not recorded"));
  }

  /** Daily sending at 00:05 UTC of the previous day's records (one node sends: a store lock). */
  start(send: (cutoff: number) => Promise<unknown>): void {
    if (!this.deps.config.dmarc.sendReports) return;
    const schedule = () => {
      const now = this.deps.now();
      const next = Math.floor(now / DAY) * DAY + DAY + 5 * 60_000;
      this.timer = setTimeout(async () => {
        const cutoff = Math.floor(this.deps.now() / DAY) * DAY;
        try {
          const day = new Date(cutoff).toISOString().slice(0, 10);
          const node = `${osHostname()}:${process.pid}`;
          const lock = await this.deps.store.keyValue.putIfAbsent(`dmarc-reports:${day}`, node, cutoff + 2 * DAY, this.deps.now());
          if (lock.value === node) await send(cutoff);
        } catch (e) {
          this.deps.log.error({ event: "dmarc-send", err: (e as Error).message }, `DMARC reports not sent: ${(e as Error).message}`);
        }
        schedule();
      }, next - now);
      this.timer.unref();
    };
    schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /**
   * Aggregate the records made before `cutoff` (ms) per policy domain and queue one report to
   * each domain's rua= addresses; the records are then removed (also those of domains that
   * want no reports). Records of a domain whose DNS failed temporarily are kept for next time.
   */
  async send(queue: Queue, cutoff: number): Promise<SentReport[]> {
    const { store, config, log } = this.deps;
    const events = await store.dmarc.events(cutoff);
    if (events.length === 0) return [];
    const maxId = Math.max(...events.map((e) => e.id));
    const lookups = new Map<string, Promise<Record<string, string> | null>>();
    const record = (domain: string) => {
      let p = lookups.get(domain);
      if (!p) lookups.set(domain, (p = this.lookupDmarc(domain)));
      return p;
    };
    type Group = { domain: string; tags: Record<string, string>; events: { at: number; e: DmarcEvent }[] };
    const groups = new Map<string, Group>();
    const keep: { at: number; domain: string; data: DmarcEvent }[] = [];
    for (const row of events) {
      const e = row.data as DmarcEvent;
      try {
        // RFC 7489 6.6.3: the record at the author domain, else at its organizational domain.
        let domain = e.headerFrom;
        let tags = await record(domain);
        if (!tags && e.orgDomain !== e.headerFrom) tags = await record((domain = e.orgDomain));
        if (!tags || ruaAddresses(tags.rua).length === 0) continue;
        let g = groups.get(domain);
        if (!g) groups.set(domain, (g = { domain, tags, events: [] }));
        g.events.push({ at: row.at, e });
      } catch (err) {
        keep.push({ at: row.at, domain: row.domain, data: e });
        log.warn({ event: "dmarc-send", domain: e.headerFrom, err: (err as Error).message }, "DMARC record lookup failed; records kept for the next report");
      }
    }
    const from = config.dmarc.reportFrom ?? `dmarc-noreply@${config.hostname}`;
    const orgName = config.dmarc.orgName ?? config.hostname;
    const sent: SentReport[] = [];
    for (const g of groups.values()) {
      const to: string[] = [];
      for (const a of ruaAddresses(g.tags.rua)) if (await this.authorised(g.domain, a)) to.push(a);
      if (to.length === 0) {
        log.warn({ event: "dmarc-send", domain: g.domain, rua: g.tags.rua }, "no authorised rua= address (RFC 7489 7.1); no report sent");
        continue;
      }
      const begin = Math.floor(Math.min(...g.events.map((x) => x.at)) / 1000);
      const end = Math.floor(cutoff / 1000);
      const reportId = `${g.domain}.${begin}.${randomBytes(4).toString("hex")}`;
      const p = g.tags.p?.toLowerCase() ?? "none";
      const report: AggregateReport = {
        orgName,
        email: from,
        reportId,
        begin,
        end,
        errors: [],
        policy: { domain: g.domain, adkim: g.tags.adkim?.toLowerCase() === "s" ? "s" : "r", aspf: g.tags.aspf?.toLowerCase() === "s" ? "s" : "r", p, sp: g.tags.sp?.toLowerCase() ?? p, pct: Number(g.tags.pct ?? 100) || 100, ...(g.tags.fo ? { fo: g.tags.fo } : {}) },
        records: aggregate(g.events.map((x) => x.e)),
      };
      const body = reportMessage(report, { from, to, hostname: config.hostname, now: this.deps.now() });
      const queueId = await queue.submit(from, to, body, { dmarcReport: reportId }, { listener: "internal", helo: config.hostname });
      const messages = report.records.reduce((n, r) => n + r.count, 0);
      log.info({ event: "dmarc-send", domain: g.domain, to, queueId, reportId, records: report.records.length, messages }, `DMARC aggregate report for ${g.domain} queued`);
      sent.push({ domain: g.domain, to, queueId, records: report.records.length, messages, reportId });
    }
    await store.dmarc.deleteEvents(cutoff, maxId);
    for (const k of keep) await store.dmarc.addEvent(k.at, k.domain, k.data);
    return sent;
  }

  /** The domain's DMARC record tags; null when it has none; throws on a temporary DNS failure. */
  private async lookupDmarc(domain: string): Promise<Record<string, string> | null> {
    let txts: string[][];
    try {
      txts = await this.deps.resolver.txt(`_dmarc.${domain}`);
    } catch (e) {
      if (e instanceof DnsError && !e.temporary) return null;
      throw e;
    }
    const records = txts.map((t) => dmarcTags(t.join(""))).filter((t): t is Record<string, string> => t !== null);
    return records.length === 1 ? records[0]! : null;
  }

  /** RFC 7489 7.1: an address outside the policy domain needs the rua domain's consent. */
  private async authorised(policyDomain: string, address: string): Promise<boolean> {
    const domain = address.slice(address.lastIndexOf("@") + 1).toLowerCase();
    if (domain === policyDomain || domain.endsWith(`.${policyDomain}`) || policyDomain.endsWith(`.${domain}`)) return true;
    try {
      const txts = await this.deps.resolver.txt(`${policyDomain}._report._dmarc.${domain}`);
      return txts.some((t) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(t.join("")));
    } catch {
      return false;
    }
  }
}

/** Rows: one per distinct (source, identifiers, evaluation, auth results), with a count. */
export function aggregate(events: readonly DmarcEvent[]): AggregateRecord[] {
  const rows = new Map<string, AggregateRecord>();
  for (const e of events) {
    const key = JSON.stringify([e.ip, e.headerFrom, e.envelopeFrom, e.envelopeTo, e.disposition, e.dkim, e.spf, e.reasons, e.authDkim, e.authSpf]);
    const row = rows.get(key);
    if (row) row.count++;
    else
      rows.set(key, {
        sourceIp: e.ip,
        count: 1,
        disposition: e.disposition,
        dkim: e.dkim,
        spf: e.spf,
        reasons: e.reasons,
        headerFrom: e.headerFrom,
        envelopeFrom: e.envelopeFrom,
        envelopeTo: e.envelopeTo || undefined,
        authDkim: e.authDkim,
        authSpf: e.authSpf,
      });
  }
  return [...rows.values()];
}

/** The report message (RFC 7489 7.2.1.1): a short text and the gzipped XML as application/gzip. */
export function reportMessage(r: AggregateReport, o: { from: string; to: string[]; hostname: string; now: number }): Buffer {
  const gz = gzipSync(Buffer.from(aggregateReportXml(r), "utf8"));
  const file = `${o.hostname}!${r.policy.domain}!${r.begin}!${r.end}.xml.gz`;
  const boundary = `=_petrel_${randomBytes(12).toString("hex")}`;
  const b64 = gz.toString("base64").replace(/.{1,76}/g, "$&\r\n");
  const text = `This is a DMARC aggregate report (RFC 7489) for ${r.policy.domain}\r\nfrom ${r.orgName}, covering ${new Date(r.begin * 1000).toISOString()} to ${new Date(r.end * 1000).toISOString()}.\r\n`;
  return Buffer.from(
    [
      `From: ${o.from}`,
      `To: ${o.to.join(", ")}`,
      `Subject: Report Domain: ${r.policy.domain} Submitter: ${r.orgName} Report-ID: <${r.reportId}>`,
      `Date: ${new Date(o.now).toUTCString().replace(/GMT$/, "+0000")}`,
      `Message-ID: <${r.reportId}@${o.hostname}>`,
      "MIME-Version: 1.0",
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      "",
      `--${boundary}`,
      "Content-Type: text/plain; charset=us-ascii",
      "Content-Transfer-Encoding: 7bit",
      "",
      text,
      `--${boundary}`,
      `Content-Type: application/gzip; name="${file}"`,
      "Content-Transfer-Encoding: base64",
      `Content-Disposition: attachment; filename="${file}"`,
      "",
      b64,
      `--${boundary}--`,
      "",
    ].join("\r\n"),
    "utf8",
  );
}
