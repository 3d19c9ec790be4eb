/** DMARC aggregate reports in PostgreSQL, shared by every node. */
import { transaction, type Pool } from "./database.js";
import type { DmarcEventRow, DmarcReportRow, DmarcStore, NewDmarcReport } from "../types.js";

type ReportRow = { id: string; org_name: string; report_id: string; email: string; domain: string; date_begin: string; date_end: string; policy: string; source: string; received_at: string };
type RecordRow = { report_id: string; source_ip: string; count: string; disposition: string; dkim: string; spf: string; header_from: string; details: string };

export class PgDmarc implements DmarcStore {
  constructor(private readonly pool: Pool) {}

  addReport(r: NewDmarcReport, receivedAt: number): Promise<boolean> {
    return transaction(this.pool, async (c) => {
      const { rows } = await c.query<{ id: string }>(
        `INSERT INTO dmarc_reports (org_name, report_id, email, domain, date_begin, date_end, policy, source, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (org_name, report_id) DO NOTHING RETURNING id`,
        [r.orgName, r.reportId, r.email, r.domain, r.begin, r.end, JSON.stringify(r.policy), r.source, receivedAt],
      );
      if (rows.length === 0) return false;
      const id = rows[0]!.id;
      for (const [idx, x] of r.records.entries()) {
        await c.query("INSERT INTO dmarc_report_records (report_id, idx, source_ip, count, disposition, dkim, spf, header_from, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", [
          id,
          idx,
          x.sourceIp,
          x.count,
          x.disposition,
          x.dkim,
          x.spf,
          x.headerFrom,
          JSON.stringify(x.details),
        ]);
      }
      return true;
    });
  }

  async listReports(domain?: string): Promise<DmarcReportRow[]> {
    const { rows } = await this.pool.query<ReportRow>(
      domain === undefined ? "SELECT * FROM dmarc_reports ORDER BY date_end DESC, id DESC" : "SELECT * FROM dmarc_reports WHERE domain = $1 ORDER BY date_end DESC, id DESC",
      domain === undefined ? [] : [domain.toLowerCase()],
    );
    if (rows.length === 0) return [];
    const recs = await this.pool.query<RecordRow>("SELECT * FROM dmarc_report_records WHERE report_id = ANY($1::bigint[]) ORDER BY report_id, idx", [rows.map((r) => r.id)]);
    return rows.map((r) => ({
      id: Number(r.id),
      orgName: r.org_name,
      reportId: r.report_id,
      email: r.email,
      domain: r.domain,
      begin: Number(r.date_begin),
      end: Number(r.date_end),
      policy: JSON.parse(r.policy) as DmarcReportRow["policy"],
      source: r.source,
      receivedAt: Number(r.received_at),
      records: recs.rows
        .filter((x) => x.report_id === r.id)
        .map((x) => ({ sourceIp: x.source_ip, count: Number(x.count), disposition: x.disposition, dkim: x.dkim, spf: x.spf, headerFrom: x.header_from, details: JSON.parse(x.details) as unknown })),
    }));
  }

  async addEvent(at: number, domain: string, data: unknown): Promise<void> {
    await this.pool.query({ name: "petrel.dmarc.event", text: "INSERT INTO dmarc_events (at, domain, data) VALUES ($1, $2, $3)", values: [at, domain, JSON.stringify(data)] });
  }

  async events(before: number): Promise<DmarcEventRow[]> {
    const { rows } = await this.pool.query<{ id: string; at: string; domain: string; data: string }>("SELECT id, at, domain, data FROM dmarc_events WHERE at < $1 ORDER BY id", [before]);
    return rows.map((e) => ({ id: Number(e.id), at: Number(e.at), domain: e.domain, data: JSON.parse(e.data) as unknown }));
  }

  async deleteEvents(before: number, maxId: number): Promise<number> {
    const r = await this.pool.query("DELETE FROM dmarc_events WHERE at < $1 AND id <= $2", [before, maxId]);
    return r.rowCount ?? 0;
  }
}
