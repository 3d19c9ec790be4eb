/**
 * The Authentication-Results header field (RFC 8601) that records our verdicts, and the
 * recognition of fields that claim to come from us. RFC 8601 5: a border MTA removes
 * Authentication-Results fields carrying its own authserv-id before it adds its own, since
 * anything arriving from outside that says so is a forgery.
 */
import type { SPFResult } from "mailauth";
import type { VerifyResults } from "./verify.js";

/** RFC 8601 2.2 ptype.property values that need no quoting are `value` tokens or dot-atoms. */
const TOKEN = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.@]+$/;

function propValue(v: string): string {
  return TOKEN.test(v) ? v : `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function comment(text: string): string {
  const clean = text.replace(/[\x00-\x1f]+/g, " ").replace(/\s+/g, " ").trim();
  return `(${clean.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

/** Fold a method clause at spaces so that no line goes much past 78 octets (RFC 5322 2.1.1). */
function fold(clause: string): string {
  const words = clause.split(" ");
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && line.length + 1 + w.length > 76) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join("\r\n\t");
}

export interface ExtraNote {
  /** Text added as a comment to the dmarc clause (e.g. the ARC override). */
  dmarc?: string;
}

/**
 * The complete field, CRLF-terminated: one clause per check, in the order RFC 8601 examples
 * use (spf, dkim, arc, dmarc). mailauth formats each clause (its `info`); the HELO check gets
 * a clause of its own with smtp.helo.
 */
export function authResultsField(authservId: string, r: VerifyResults, note: ExtraNote = {}): Buffer {
  const clauses: string[] = [];
  // One clause per SPF identity (RFC 8601 2.7.2: smtp.mailfrom, smtp.helo).
  const spfClause = (x: SPFResult, ptype: string, value: string) => [`spf=${x.status.result}`, ...(x.status.comment ? [comment(x.status.comment)] : []), `${ptype}=${propValue(value)}`].join(" ");
  clauses.push(spfClause(r.spf, "smtp.mailfrom", r.spf["envelope-from"] ?? r.spf.domain));
  if (r.helo) clauses.push(spfClause(r.helo, "smtp.helo", r.helo.helo ?? r.helo.domain));
  if (r.dkim.length === 0) clauses.push("dkim=none (no signatures)");
  for (const d of r.dkim) clauses.push(d.info);
  if (r.arc.info) clauses.push(r.arc.info);
  else clauses.push("arc=none");
  if (r.dmarc) clauses.push(note.dmarc ? `${r.dmarc.info} ${comment(note.dmarc)}` : r.dmarc.info);
  else clauses.push(`dmarc=${r.headerFrom.length === 0 ? "none (no From: address)" : "permerror (no usable From: domain)"}`);
  const body = clauses.map((c) => fold(c.replace(/\r?\n[ \t]*/g, " ").trim())).join(";\r\n\t");
  return Buffer.from(`Authentication-Results: ${authservId};\r\n\t${body}\r\n`, "utf8");
}

/** Skips CFWS (RFC 5322 3.2.2: whitespace and nested comments) from `i`. */
function skipCfws(s: string, i: number): number {
  for (;;) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (s[i] !== "(") return i;
    let depth = 0;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === "\\") i++;
      else if (c === "(") depth++;
      else if (c === ")" && --depth === 0) {
        i++;
        break;
      }
    }
    if (depth > 0) return s.length;
  }
}

/**
 * The authserv-id of an Authentication-Results field value (RFC 8601 2.2: `[CFWS] authserv-id
 * [CFWS authres-version] ...`), lower-cased; null when there is none.
 */
export function authservIdOf(value: string): string | null {
  let i = skipCfws(value, 0);
  if (i >= value.length) return null;
  if (value[i] === '"') {
    let out = "";
    for (i++; i < value.length && value[i] !== '"'; i++) out += value[i] === "\\" ? (value[++i] ?? "") : value[i];
    return out.toLowerCase() || null;
  }
  const m = /^[^\s;()"]+/.exec(value.slice(i));
  return m ? m[0].toLowerCase() : null;
}

/** Does this Authentication-Results value claim to come from `authservId`? */
export function claimsAuthservId(value: string, authservId: string): boolean {
  return authservIdOf(value) === authservId.toLowerCase().replace(/\.$/, "");
}
