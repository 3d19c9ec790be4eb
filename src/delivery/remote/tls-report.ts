/**
 * TLS-RPT data (RFC 8460 4): per UTC day and policy domain, the number of successful and failed
 * TLS sessions and the failures by result type, kept in the store's key-value
 * table (shared by every node, kept 8 days). That is what a daily aggregate report needs; sending
 * the reports (the `_smtp._tls` record's rua=) is not done yet.
 *
 * Keys: tlsrpt:DAY:DOMAIN:POLICYTYPE:success, tlsrpt:DAY:DOMAIN:POLICYTYPE:failure:TYPE,
 * tlsrpt:DAY:DOMAIN:policy (the policy in force), tlsrpt:DAY:domains (the day's domains).
 */
import type { KeyValueStore } from "../../store/types.js";
import type { StsPolicy } from "./mta-sts.js";

/** RFC 8460 4.3 result types. */
export type TlsResultType =
  | "starttls-not-supported"
  | "certificate-host-mismatch"
  | "certificate-expired"
  | "certificate-not-trusted"
  | "validation-failure"
  | "sts-policy-fetch-error"
  | "sts-policy-invalid"
  | "sts-webpki-invalid";

export const TLS_RESULT_TYPES: readonly TlsResultType[] = [
  "starttls-not-supported",
  "certificate-host-mismatch",
  "certificate-expired",
  "certificate-not-trusted",
  "validation-failure",
  "sts-policy-fetch-error",
  "sts-policy-invalid",
  "sts-webpki-invalid",
];

export type PolicyType = "sts" | "no-policy-found";

const KEEP_MS = 8 * 86_400_000;

/** A TLS failure of our client as an RFC 8460 result type. */
export function resultTypeOf(message: string): TlsResultType {
  if (/does not offer STARTTLS|STARTTLS refused/.test(message)) return "starttls-not-supported";
  if (/ALTNAME|Hostname\/IP does not match/i.test(message)) return "certificate-host-mismatch";
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(message)) return "certificate-expired";
  if (/certificate is not valid|SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY|CERT_UNTRUSTED|CERT_REJECTED/.test(message)) return "certificate-not-trusted";
  return "validation-failure";
}

export interface DaySummary {
  domain: string;
  policyType: PolicyType;
  success: number;
  failure: number;
  /** Result type → count. */
  failures: Record<string, number>;
  policy: StsPolicy | null;
}

export class TlsReportData {
  /** Domains already in today's index (per process: saves a read-modify-write per session). */
  private indexed = new Set<string>();

  constructor(
    private readonly kv: KeyValueStore,
    private readonly now: () => number = Date.now,
  ) {}

  static day(ms: number): string {
    return new Date(ms).toISOString().slice(0, 10);
  }

  /** One session (or one policy failure) towards `domain`. */
  async record(domain: string, policyType: PolicyType, result: { ok: true } | { ok: false; type: TlsResultType }, policy?: StsPolicy | null): Promise<void> {
    const now = this.now();
    const day = TlsReportData.day(now);
    const base = `tlsrpt:${day}:${domain}:${policyType}`;
    const expires = now + KEEP_MS;
    await this.index(day, domain, expires, now);
    if (policy && !this.indexed.has(`${day}:${domain}:policy:${policy.id}`)) {
      this.indexed.add(`${day}:${domain}:policy:${policy.id}`);
      await this.kv.put(`tlsrpt:${day}:${domain}:policy`, JSON.stringify(policy), expires, now);
    }
    if (result.ok) await this.kv.increment(`${base}:success`, 1, expires, now);
    else await this.kv.increment(`${base}:failure:${result.type}`, 1, expires, now);
  }

  private async index(day: string, domain: string, expires: number, now: number): Promise<void> {
    const k = `${day}:${domain}`;
    if (this.indexed.has(k)) return;
    const key = `tlsrpt:${day}:domains`;
    const got = (await this.kv.get([key], now))[key];
    const list: string[] = got ? (JSON.parse(got.value) as string[]) : [];
    if (!list.includes(domain)) await this.kv.put(key, JSON.stringify([...list, domain]), expires, now);
    if (this.indexed.size > 10_000) this.indexed = new Set();
    this.indexed.add(k);
  }

  /** The counts of one day for one domain (what a daily report is built from). */
  async summary(day: string, domain: string): Promise<DaySummary[]> {
    const now = this.now();
    const out: DaySummary[] = [];
    const policyKey = `tlsrpt:${day}:${domain}:policy`;
    for (const policyType of ["sts", "no-policy-found"] as const) {
      const base = `tlsrpt:${day}:${domain}:${policyType}`;
      const keys = [`${base}:success`, ...TLS_RESULT_TYPES.map((t) => `${base}:failure:${t}`), policyKey];
      const got = await this.kv.get(keys, now);
      const failures: Record<string, number> = {};
      let failure = 0;
      for (const [k, v] of Object.entries(got)) {
        const m = /:failure:([^:]+)$/.exec(k);
        if (!m) continue;
        failures[m[1]!] = v.counter;
        failure += v.counter;
      }
      const success = got[`${base}:success`]?.counter ?? 0;
      if (success + failure === 0) continue;
      out.push({ domain, policyType, success, failure, failures, policy: policyType === "sts" && got[policyKey] ? (JSON.parse(got[policyKey].value) as StsPolicy) : null });
    }
    return out;
  }

  /** The domains recorded on a day. */
  async domains(day: string): Promise<string[]> {
    const key = `tlsrpt:${day}:domains`;
    const got = (await this.kv.get([key], this.now()))[key];
    return got ? (JSON.parse(got.value) as string[]) : [];
  }
}
