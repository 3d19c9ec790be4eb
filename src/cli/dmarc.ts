/**
 * `petrel dmarc reports|send-reports`: DMARC aggregate reports (RFC 7489 7.2). `reports` lists
 * the reports other domains sent to dmarc.reportAddress; `send-reports` queues our reports now
 * (what the server does once a day with dmarc.sendReports) for every evaluation recorded so far.
 */
import type { Command } from "commander";
import { Queue } from "../queue/queue.js";
import { systemClock } from "../core/clock.js";
import { nullLogger } from "../core/logger.js";
import { DnsResolver } from "../dns/resolver.js";
import { spoolDir } from "../app/open-store.js";
import { DmarcReports } from "../app/dmarc-reports.js";
import { fail, printJson, withStore, type GlobalOptions } from "./context.js";

const common = (c: Command) => c.option("--config <file>", "config file").option("--data-dir <dir>", "data directory");
const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.000Z$/, "Z");

export function registerDmarc(program: Command): void {
  const dmarc = program.command("dmarc").description("DMARC aggregate reports: received, and sent to other domains");

  common(dmarc.command("reports").description("list the aggregate reports received at dmarc.reportAddress").option("--domain <domain>", "only reports about this domain").option("--json", "print JSON")).action(
    async (opts: GlobalOptions & { json?: boolean; domain?: string }) => {
      try {
        await withStore(opts, async (store) => {
          const reports = await store.dmarc.listReports(opts.domain);
          if (opts.json) {
            return printJson(
              reports.map((r) => ({
                org: r.orgName,
                reportId: r.reportId,
                email: r.email,
                domain: r.domain,
                begin: iso(r.begin),
                end: iso(r.end),
                policy: r.policy,
                receivedAt: new Date(r.receivedAt).toISOString(),
                messages: r.records.reduce((n, x) => n + x.count, 0),
                records: r.records.map((x) => ({ sourceIp: x.sourceIp, count: x.count, disposition: x.disposition, dkim: x.dkim, spf: x.spf, headerFrom: x.headerFrom, ...(x.details as object) })),
              })),
            );
          }
          if (reports.length === 0) return void process.stdout.write("no DMARC reports received\n");
          for (const r of reports) {
            const total = r.records.reduce((n, x) => n + x.count, 0);
            const failed = r.records.filter((x) => x.dkim !== "pass" && x.spf !== "pass").reduce((n, x) => n + x.count, 0);
            process.stdout.write(`${r.domain}  ${r.orgName}  ${r.reportId}  ${iso(r.begin)} .. ${iso(r.end)}  p=${r.policy.p}  ${total} message(s), ${failed} failing DMARC\n`);
            for (const x of r.records) process.stdout.write(`    ${x.sourceIp.padEnd(39)} ${String(x.count).padStart(6)}  ${x.disposition.padEnd(10)} dkim=${x.dkim} spf=${x.spf}  from=${x.headerFrom}\n`);
          }
        });
      } catch (e) {
        fail(e);
      }
    },
  );

  common(dmarc.command("send-reports").description("queue our aggregate reports now, for every evaluation recorded so far (dmarc.sendReports)").option("--json", "print JSON")).action(async (opts: GlobalOptions & { json?: boolean }) => {
    try {
      await withStore(opts, async (store, loaded) => {
        const { config } = loaded;
        if (!config.dmarc.sendReports) process.stderr.write("petrel: note: dmarc.sendReports is off, so no new evaluations are being recorded\n");
        // Bodies in the queue row, never in a spool file: the running server owns the spool.
        const queue = new Queue(store.queue, { spoolDir: spoolDir(config), inlineMax: Number.MAX_SAFE_INTEGER, bodiesInStore: true }, systemClock, nullLogger);
        const reports = new DmarcReports({ config, store, resolver: new DnsResolver({ servers: config.dns.servers }), log: nullLogger, now: () => Date.now() });
        const sent = await reports.send(queue, Date.now() + 1);
        if (opts.json) return printJson(sent);
        if (sent.length === 0) return void process.stdout.write("no reports to send\n");
        for (const s of sent) process.stdout.write(`${s.domain}: report ${s.reportId} (${s.messages} message(s), ${s.records} row(s)) queued as ${s.queueId} to ${s.to.join(", ")}\n`);
      });
    } catch (e) {
      fail(e);
    }
  });
}
