/**
 * DMARC aggregate reports in the store (RFC 7489 7.2): reports other domains sent us, with
 * their rows, and the per-message evaluations we collect to report to others. The report's
 * details (reasons, auth_results, ...) are kept as JSON beside the columns that are queried.
 */

export interface DmarcStoredRecord {
  sourceIp: string;
  count: number;
  disposition: string;
  dkim: string;
  spf: string;
  headerFrom: string;
  /** The whole record as parsed (JSON-serialisable). */
  details: unknown;
}

export interface NewDmarcReport {
  orgName: string;
  reportId: string;
  email: string;
  /** policy_published domain, lower case. */
  domain: string;
  /** date_range, seconds since the epoch. */
  begin: number;
  end: number;
  policy: { p: string; sp: string; pct: number; adkim: string; aspf: string };
  /** Where it came from (the queue id of the message that carried it). */
  source: string;
  records: DmarcStoredRecord[];
}

export interface DmarcReportRow extends NewDmarcReport {
  id: number;
  receivedAt: number;
}

/** One message's DMARC evaluation, to be reported (data: app/dmarc-reports.ts's DmarcEvent). */
export interface DmarcEventRow {
  id: number;
  at: number;
  /** The policy domain the report goes to. */
  domain: string;
  data: unknown;
}

export interface DmarcStore {
  /** Store a received report; false when the same (org_name, report_id) is already there. */
  addReport(r: NewDmarcReport, receivedAt: number): Promise<boolean>;
  /** Newest date range first; one domain's only when given. */
  listReports(domain?: string): Promise<DmarcReportRow[]>;
  addEvent(at: number, domain: string, data: unknown): Promise<void>;
  /** The events recorded before `before` (ms), oldest first. */
  events(before: number): Promise<DmarcEventRow[]>;
  /** Delete events with id <= maxId recorded before `before` (they were reported). */
  deleteEvents(before: number, maxId: number): Promise<number>;
}
