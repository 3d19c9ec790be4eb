/**
 * The spam filter's verdict at end of data on the MX listener: what rspamd's answer (its
 * HTTP protocol, POST /checkv2, https://rspamd.com/doc/developers/protocol.html) means for
 * the message. The HTTP exchange itself is app/rspamd-client.ts; this file is pure.
 *
 * rspamd's actions, applied:
 * - reject           -> 550 5.7.1 with rspamd's SMTP message (or a generic text)
 * - soft reject      -> 451 4.7.1
 * - greylist         -> 451 4.7.1 (rspamd keeps the greylisting state)
 * - add header       -> X-Spam: Yes, delivered to Junk
 * - rewrite subject  -> the Subject rspamd gives, X-Spam: Yes, delivered to Junk
 * - no action        -> accepted
 * `rejectScore` (ours) rejects at or above that score whatever rspamd's action. rspamd not
 * answering (down, timeout, bad answer) -> onError: accept, or 451 4.7.1 (fail closed).
 */
import type { Reply } from "../core/reply.js";
import { R } from "../smtp/replies.js";

/** What the filter is asked about one message (rspamd's request headers, and the message). */
export interface SpamCheckRequest {
  ip: string;
  helo: string;
  /** MAIL FROM ("" for the null reverse-path). */
  from: string;
  rcpts: readonly string[];
  queueId: string;
  /** The SASL user of an authenticated session. */
  user?: string;
  /** Our host name (the MTA name rspamd logs). */
  mta: string;
  /** The complete message, read from the queue's spool (file or memory) when sent. */
  message(): NodeJS.ReadableStream;
}

/** rspamd's answer, reduced to what we use. */
export interface SpamResult {
  action: string;
  score: number;
  requiredScore: number;
  /** Symbol names with their scores, highest first. */
  symbols: readonly { name: string; score: number }[];
  /** messages.smtp_message: text for the SMTP reply. */
  smtpMessage?: string;
  /** The new Subject (action "rewrite subject"). */
  subject?: string;
}

/** The scanner (app/ implements it over HTTP); rejects on any failure to get an answer. */
export interface SpamScanner {
  check(req: SpamCheckRequest): Promise<SpamResult>;
}

export interface SpamFilterPolicy {
  onError: "accept" | "tempfail";
  rejectScore: number | null;
  addHeaders: boolean;
}

export type SpamDecision =
  | { action: "refuse"; reply: Reply; reason: string }
  | {
      action: "accept";
      /** Header fields to prepend (CRLF-terminated), possibly empty. */
      header: string;
      /** Replace the Subject field with this (decoded text). */
      subject?: string;
      /** Deliver to Junk, with this reason. */
      junk?: string;
    };

const KNOWN = new Set(["reject", "soft reject", "greylist", "add header", "rewrite subject", "no action"]);

/** rspamd's JSON answer to /checkv2, checked; throws on anything that is not one. */
export function parseCheckv2(body: unknown): SpamResult {
  const o = body as Record<string, unknown> | null;
  if (!o || typeof o !== "object" || typeof o.action !== "string") throw new Error("rspamd answer has no action");
  const action = o.action.toLowerCase();
  if (!KNOWN.has(action)) throw new Error(`rspamd answered an unknown action ${JSON.stringify(o.action).slice(0, 40)}`);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  const symbols = Object.values((o.symbols ?? {}) as Record<string, { name?: unknown; score?: unknown }>)
    .filter((s) => s && typeof s.name === "string")
    .map((s) => ({ name: s.name as string, score: num(s.score) }))
    .sort((a, b) => b.score - a.score || a.name.localeCompare(b.name));
  const messages = (o.messages ?? {}) as Record<string, unknown>;
  return {
    action,
    score: num(o.score),
    requiredScore: num(o.required_score),
    symbols,
    smtpMessage: typeof messages.smtp_message === "string" ? messages.smtp_message : undefined,
    subject: typeof o.subject === "string" ? o.subject : undefined,
  };
}

/** Reply text that came from outside: printable ASCII, one line, bounded. */
const printable = (s: string) => s.replace(/[\r\n]+/g, " ").replace(/[^\x20-\x7e]/g, "?").trim().slice(0, 200);

const fmt = (n: number) => (Math.round(n * 100) / 100).toFixed(2);

/** X-Spamd-Result: the summary rspamd's own milter adds (score / required, then the symbols). */
export function spamdResultField(r: SpamResult): string {
  const head = `X-Spamd-Result: default: ${r.action === "no action" ? "False" : "True"} [${fmt(r.score)} / ${fmt(r.requiredScore)}]`;
  const syms = r.symbols.slice(0, 50).map((s) => `${s.name.replace(/[^\x21-\x7e]/g, "")}(${fmt(s.score)})`);
  // Folded, one symbol a line (RFC 5322 2.2.3), as rspamd does.
  return [head, ...syms].join(";\r\n\t") + "\r\n";
}

export function spamDecision(r: SpamResult, p: SpamFilterPolicy): SpamDecision {
  const text = r.smtpMessage ? printable(r.smtpMessage) : "";
  if (r.action === "reject" || (p.rejectScore !== null && r.score >= p.rejectScore)) {
    return { action: "refuse", reply: R.spamRejected(text || "Message rejected as spam"), reason: `spam: score ${fmt(r.score)} (${r.action})` };
  }
  if (r.action === "soft reject") return { action: "refuse", reply: R.spamDeferred(text || "Message deferred, try again later"), reason: `rspamd soft reject (score ${fmt(r.score)})` };
  if (r.action === "greylist") return { action: "refuse", reply: R.spamDeferred(text || "Greylisted, try again later"), reason: `rspamd greylist (score ${fmt(r.score)})` };
  const spam = r.action === "add header" || r.action === "rewrite subject";
  const header = p.addHeaders ? (spam ? "X-Spam: Yes\r\n" : "") + spamdResultField(r) : "";
  if (!spam) return { action: "accept", header };
  const junk = `spam: rspamd score ${fmt(r.score)} / ${fmt(r.requiredScore)} (${r.action})`;
  return r.action === "rewrite subject" && r.subject !== undefined ? { action: "accept", header, subject: r.subject, junk } : { action: "accept", header, junk };
}

/** rspamd did not answer: spamFilter.onError. */
export function spamErrorDecision(p: SpamFilterPolicy): SpamDecision {
  return p.onError === "tempfail" ? { action: "refuse", reply: R.spamFilterUnavailable(), reason: "spam filter unavailable (onError: tempfail)" } : { action: "accept", header: "" };
}

const CRLF = "\r\n";

/** RFC 2047 encoded-word(s) for a non-ASCII Subject (B encoding, UTF-8, at most 45 octets each). */
function encodeSubject(s: string): string {
  const clean = s.replace(/[\r\n]+/g, " ");
  if (/^[\x20-\x7e]*$/.test(clean)) return clean;
  const words: string[] = [];
  let chunk = "";
  for (const ch of clean) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = "";
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString("base64")}?=`).join(`${CRLF} `);
}

/**
 * The header block (up to and including its empty line) with its Subject field(s) replaced by
 * one with `subject`; one is added when there was none.
 */
export function rewriteSubject(header: Buffer, subject: string): Buffer {
  const text = header.toString("latin1");
  const lines = text.split(CRLF);
  const out: string[] = [];
  let skipping = false;
  let done = false;
  const field = `Subject: ${encodeSubject(subject)}`;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (skipping && /^[ \t]/.test(line)) continue;
    skipping = false;
    if (/^subject[ \t]*:/i.test(line)) {
      skipping = true;
      if (!done) out.push(field);
      done = true;
      continue;
    }
    // The empty line that ends the header block: add the field before it if none was found.
    if (line === "" && i < lines.length - 1 && !done) {
      out.push(field);
      done = true;
    }
    out.push(line);
  }
  if (!done) out.splice(Math.max(0, out.length - 1), 0, field);
  return Buffer.from(out.join(CRLF), "latin1");
}
