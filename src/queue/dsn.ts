/**
 * Delivery status notifications (RFC 3464): a multipart/report with a human-readable part, a
 * machine-readable message/delivery-status part, and the original message or its header.
 * Addresses or a message that need UTF-8 make it an RFC 6533 report (message/global-delivery-
 * status, message/global, message/global-headers), sent with SMTPUTF8. Pure: no I/O.
 */
import { randomBytes } from "node:crypto";
import { rfc5322Date } from "../core/date.js";
import type { StoredRcptDsn } from "../store/types.js";

/** RFC 3464 2.3.3 (expanded is not used: aliases are not reported as expansions). */
export type DsnAction = "failed" | "delayed" | "delivered" | "relayed";

export type NoticeKind = "failure" | "delay" | "success";

export interface DsnRecipient {
  /** The address delivery was attempted to (Final-Recipient). */
  address: string;
  /** The ORCPT parameter, when the client gave one (Original-Recipient). */
  orcpt?: { type: string; address: string };
  action: DsnAction;
  /** RFC 3463 status, e.g. "5.1.1". */
  status: string;
  /** The SMTP reply (one or more lines) that decided this outcome (Diagnostic-Code: smtp). */
  reply?: string | null;
  /** The remote server that answered (Remote-MTA: dns), when one did. */
  remoteMta?: string;
  lastAttemptAt?: number;
  /** Delays: when the queue gives up (Will-Retry-Until). */
  willRetryUntil?: number;
}

export interface DsnInput {
  /** This server (Reporting-MTA, From: MAILER-DAEMON@hostname). */
  hostname: string;
  /** Queue id of the original message. */
  queueId: string;
  /** The original envelope sender: the report goes to it. Never "" (no DSN to a DSN). */
  sender: string;
  arrivalDate: number;
  envid?: string;
  ret?: string;
  /** The original message as queued. */
  original: Buffer;
  recipients: readonly DsnRecipient[];
  now: number;
  /**
   * Without RET, a failure report returns the whole message up to this size, and its header
   * alone above it (delay and success reports always return the header alone).
   */
  fullMax?: number;
}

export interface BuiltDsn {
  body: Buffer;
  /** The report needs SMTPUTF8 (RFC 6531) to travel. */
  smtputf8: boolean;
  /** The report has 8-bit content (8BITMIME). */
  eightBit: boolean;
}

export const DEFAULT_DSN_FULL_MAX = 256 * 1024;

const nonAscii = (s: string) => /[^\x00-\x7f]/.test(s);

/**
 * Whether a recipient asked for this kind of notice (RFC 3461 4.1). Without NOTIFY, failures
 * and delays are reported (the default the RFC leaves to us), successes are not.
 */
export function wantsNotice(dsn: StoredRcptDsn, kind: NoticeKind): boolean {
  const notify = (dsn.notify ?? []).map((n) => n.toUpperCase());
  if (notify.length === 0) return kind !== "success";
  if (notify.includes("NEVER")) return false;
  return notify.includes(kind.toUpperCase());
}

/** The enhanced status code (RFC 3463) of an SMTP reply such as "550 5.1.1 No such user", or null. */
export function enhancedCode(reply: string | null | undefined): string | null {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})(?=\s|$)/.exec(reply ?? "");
  return m ? m[1]! : null;
}

/**
 * The Status of a recipient in a report: the reply's enhanced code when its class fits the
 * action, otherwise a generic one of the right class (RFC 3463 3.1: X.0.0; a failure after
 * repeated temporary errors is 5.4.7, "delivery time expired").
 */
export function statusFor(action: DsnAction, reply: string | null | undefined): string {
  const code = enhancedCode(reply);
  const basic = /^([245])\d\d/.exec(reply ?? "")?.[1];
  const want = action === "failed" ? "5" : action === "delayed" ? "4" : "2";
  if (code && code[0] === want) return code;
  if (action === "failed" && (basic === "4" || code?.[0] === "4")) return "5.4.7";
  return `${want}.0.0`;
}

/** RFC 3464 2.1.2 / 2.3.2: an address with its type; RFC 6533 3: "utf-8" when it is not ASCII. */
function typedAddress(address: string): string {
  return `${nonAscii(address) ? "utf-8" : "rfc822"}; ${address}`;
}

/** One report field, folded at spaces so that no line is long (RFC 5322 2.2.3). */
function field(name: string, value: string): string {
  const flat = value.replace(/\r?\n/g, " ").replace(/[\x00-\x08\x0b-\x1f\x7f]/g, " ");
  const words = flat.split(" ");
  let out = `${name}:`;
  let line = out.length;
  for (const w of words) {
    if (line + 1 + w.length > 78 && line > name.length + 1) {
      out += "\r\n";
      line = 0;
    }
    out += " " + w;
    line += 1 + w.length;
  }
  return out + "\r\n";
}

/** The header of a message: up to and including the blank line (or all of it without one). */
export function headerOf(raw: Buffer): Buffer {
  const crlf = raw.indexOf("\r\n\r\n");
  const lf = raw.indexOf("\n\n");
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return raw.subarray(0, crlf + 4);
  if (lf >= 0) return raw.subarray(0, lf + 2);
  return raw;
}

function has8bit(b: Buffer): boolean {
  for (const byte of b) if (byte > 0x7f) return true;
  return false;
}

const SUBJECTS: Record<DsnAction, string> = {
  failed: "Undelivered Mail Returned to Sender",
  delayed: "Delayed Mail (still being retried)",
  delivered: "Successful Mail Delivery Report",
  relayed: "Successful Mail Delivery Report",
};

function humanText(input: DsnInput, action: DsnAction): string {
  const lines: string[] = [`This is the mail system at host ${input.hostname}.`, ""];
  if (action === "failed") {
    lines.push("I'm sorry to have to inform you that your message could not", "be delivered to one or more recipients. It's attached below.", "", "The mail system");
  } else if (action === "delayed") {
    const until = input.recipients[0]?.willRetryUntil;
    lines.push("Your message could not be delivered yet to one or more recipients.", "This is only a warning: you do not need to send it again.", until ? `The mail system will keep trying until ${rfc5322Date(new Date(until))}.` : "The mail system will keep trying.", "", "The mail system");
  } else {
    lines.push("Your message was successfully delivered to the destination(s)", "listed below.", "", "The mail system");
  }
  lines.push("");
  for (const r of input.recipients) {
    const reply = r.reply ? r.reply.replace(/\r?\n/g, " ").trim() : null;
    lines.push(`<${r.address}>: ${r.action}${r.remoteMta ? ` (host ${r.remoteMta} said: ${reply ?? r.status})` : reply ? ` (${reply})` : ` (${r.status})`}`);
  }
  lines.push("", `Queue ID: ${input.queueId}`, "");
  return lines.join("\r\n");
}

/**
 * Build a report covering every recipient given (one report per message per event). All
 * recipients share the action of the first (one event: failures, delays or successes).
 */
export function buildDsn(input: DsnInput): BuiltDsn {
  if (input.recipients.length === 0) throw new Error("a DSN needs at least one recipient");
  if (input.sender === "") throw new Error("no DSN is sent for a message from the null reverse-path");
  const action = input.recipients[0]!.action;
  const fullMax = input.fullMax ?? DEFAULT_DSN_FULL_MAX;
  const ret = input.ret?.toUpperCase();
  const full = ret === "FULL" || (ret !== "HDRS" && action === "failed" && input.original.length <= fullMax);
  const returned = full ? input.original : headerOf(input.original);
  // RFC 6533: a UTF-8 address anywhere, or a UTF-8 header in the returned message, needs the
  // "global" types; the report then travels with SMTPUTF8.
  const addresses = [input.sender, ...input.recipients.flatMap((r) => [r.address, r.orcpt?.address ?? ""])];
  const global = addresses.some(nonAscii) || has8bit(headerOf(input.original)) || nonAscii(input.envid ?? "");
  const returned8bit = has8bit(returned);
  const boundary = `${input.queueId}/${input.hostname}/${randomBytes(6).toString("hex")}`;
  const date = (t: number) => rfc5322Date(new Date(t));

  const header =
    `From: Mail Delivery System <MAILER-DAEMON@${input.hostname}>\r\n` +
    `To: <${input.sender}>\r\n` +
    `Subject: ${SUBJECTS[action]}\r\n` +
    `Date: ${date(input.now)}\r\n` +
    `Message-ID: <${input.queueId}.${randomBytes(6).toString("hex")}.dsn@${input.hostname}>\r\n` +
    // RFC 3834 5: an automatic reply, so responders do not answer it.
    `Auto-Submitted: auto-replied\r\n` +
    `MIME-Version: 1.0\r\n` +
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"\r\n` +
    `Content-Transfer-Encoding: ${global || returned8bit ? "8bit" : "7bit"}\r\n\r\n`;

  const text = humanText(input, action);
  let status = field("Reporting-MTA", `dns; ${input.hostname}`);
  status += field("X-Petrel-Queue-ID", input.queueId);
  if (input.envid) status += field("Original-Envelope-Id", input.envid);
  status += field("Arrival-Date", date(input.arrivalDate));
  for (const r of input.recipients) {
    status += "\r\n";
    // RFC 3464 2.3.1: the ORCPT as given, xtext-decoded (the SMTP parser already decoded it).
    if (r.orcpt) status += field("Original-Recipient", `${r.orcpt.type}; ${r.orcpt.address}`);
    status += field("Final-Recipient", typedAddress(r.address));
    status += field("Action", r.action);
    status += field("Status", r.status);
    if (r.remoteMta) status += field("Remote-MTA", `dns; ${r.remoteMta}`);
    if (r.reply && /^\d{3}/.test(r.reply)) status += field("Diagnostic-Code", `smtp; ${r.reply.replace(/\r?\n/g, " ").trim()}`);
    if (r.lastAttemptAt !== undefined) status += field("Last-Attempt-Date", date(r.lastAttemptAt));
    if (r.action === "delayed" && r.willRetryUntil !== undefined) status += field("Will-Retry-Until", date(r.willRetryUntil));
  }

  const statusType = global ? "message/global-delivery-status" : "message/delivery-status";
  const returnedType = full ? (global ? "message/global" : "message/rfc822") : global ? "message/global-headers" : "text/rfc822-headers";
  const parts = [
    Buffer.from(
      header +
        `This is a MIME-encapsulated message.\r\n\r\n` +
        `--${boundary}\r\n` +
        `Content-Description: Notification\r\n` +
        `Content-Type: text/plain; charset=utf-8\r\n` +
        `Content-Transfer-Encoding: ${nonAscii(text) ? "8bit" : "7bit"}\r\n\r\n` +
        text +
        `\r\n--${boundary}\r\n` +
        `Content-Description: Delivery report\r\n` +
        `Content-Type: ${statusType}\r\n` +
        `Content-Transfer-Encoding: ${nonAscii(status) ? "8bit" : "7bit"}\r\n\r\n` +
        status +
        `\r\n--${boundary}\r\n` +
        `Content-Description: ${full ? "Undelivered Message" : "Undelivered Message Headers"}\r\n` +
        `Content-Type: ${returnedType}\r\n` +
        `Content-Transfer-Encoding: ${returned8bit ? "8bit" : "7bit"}\r\n\r\n`,
    ),
    returned,
    Buffer.from(`${returned.length > 0 && !returned.subarray(-2).equals(Buffer.from("\r\n")) ? "\r\n" : ""}\r\n--${boundary}--\r\n`),
  ];
  return { body: Buffer.concat(parts), smtputf8: global, eightBit: global || returned8bit };
}
