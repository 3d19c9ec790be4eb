/** Writes of DMARC aggregate reports: a received report with its rows in one transaction; events. */
import type { Db } from "./database.js";
import type { NewDmarcReport } from "../types.js";

export function dmarcWriteOps(db: Db) {
  const s = {
    report: db.prepare(
      `INSERT INTO dmarc_reports (org_name, report_id, email, domain, date_begin, date_end, policy, source, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org_name, report_id) DO NOTHING`,
    ),
    record: db.prepare("INSERT INTO dmarc_report_records (report_id, idx, source_ip, count, disposition, dkim, spf, header_from, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
    event: db.prepare("INSERT INTO dmarc_events (at, domain, data) VALUES (?, ?, ?)"),
    deleteEvents: db.prepare("DELETE FROM dmarc_events WHERE at < ? AND id <= ?"),
  };
  const addReport = db.transaction((r: NewDmarcReport, receivedAt: number): boolean => {
    const res = s.report.run(r.orgName, r.reportId, r.email, r.domain, r.begin, r.end, JSON.stringify(r.policy), r.source, receivedAt);
    if (res.changes === 0) return false;
    const id = Number(res.lastInsertRowid);
    r.records.forEach((x, idx) => s.record.run(id, idx, x.sourceIp, x.count, x.disposition, x.dkim, x.spf, x.headerFrom, JSON.stringify(x.details)));
    return true;
  });
  return {
    dmarcAddReport: (r: NewDmarcReport, receivedAt: number): boolean => addReport.immediate(r, receivedAt),
    dmarcAddEvent: (at: number, domain: string, data: string): void => {
      s.event.run(at, domain, data);
    },
    dmarcDeleteEvents: (before: number, maxId: number): number => s.deleteEvents.run(before, maxId).changes,
  };
}
