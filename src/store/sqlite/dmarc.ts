/** DMARC aggregate reports in SQLite: reads on this connection, writes through the writer. */
import type { Db } from "./database.js";
import type { Writer } from "./writer.js";
import type { DmarcEventRow, DmarcReportRow, DmarcStore, NewDmarcReport } from "../types.js";

type ReportRow = { id: number; org_name: string; report_id: string; email: string; domain: string; date_begin: number; date_end: number; policy: string; source: string; received_at: number };
type RecordRow = { report_id: number; source_ip: string; count: number; disposition: string; dkim: string; spf: string; header_from: string; details: string };

export class SqliteDmarc implements DmarcStore {
  private readonly stmt;

  constructor(
    db: Db,
    private readonly writer: Writer,
  ) {
    this.stmt = {
      reports: db.prepare("SELECT * FROM dmarc_reports ORDER BY date_end DESC, id DESC"),
      reportsOf: db.prepare("SELECT * FROM dmarc_reports WHERE domain = ? ORDER BY date_end DESC, id DESC"),
      records: db.prepare("SELECT * FROM dmarc_report_records WHERE report_id = ? ORDER BY idx"),
      events: db.prepare("SELECT id, at, domain, data FROM dmarc_events WHERE at < ? ORDER BY id"),
    };
  }

  addReport(r: NewDmarcReport, receivedAt: number): Promise<boolean> {
    return this.writer.run("dmarcAddReport", r, receivedAt);
  }

  async listReports(domain?: string): Promise<DmarcReportRow[]> {
    const rows = (domain === undefined ? this.stmt.reports.all() : this.stmt.reportsOf.all(domain.toLowerCase())) as ReportRow[];
    return rows.map((r) => ({
      id: r.id,
      orgName: r.org_name,
      reportId: r.report_id,
      email: r.email,
      domain: r.domain,
      begin: r.date_begin,
      end: r.date_end,
      policy: JSON.parse(r.policy) as DmarcReportRow["policy"],
      source: r.source,
      receivedAt: r.received_at,
      records: (this.stmt.records.all(r.id) as RecordRow[]).map((x) => ({ sourceIp: x.source_ip, count: x.count, disposition: x.disposition, dkim: x.dkim, spf: x.spf, headerFrom: x.header_from, details: JSON.parse(x.details) as unknown })),
    }));
  }

  async addEvent(at: number, domain: string, data: unknown): Promise<void> {
    await this.writer.run("dmarcAddEvent", at, domain, JSON.stringify(data));
  }

  async events(before: number): Promise<DmarcEventRow[]> {
    return (this.stmt.events.all(before) as { id: number; at: number; domain: string; data: string }[]).map((e) => ({ id: e.id, at: e.at, domain: e.domain, data: JSON.parse(e.data) as unknown }));
  }

  deleteEvents(before: number, maxId: number): Promise<number> {
    return this.writer.run("dmarcDeleteEvents", before, maxId);
  }
}
