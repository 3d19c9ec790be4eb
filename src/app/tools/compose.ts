/**
 * Building a test message for `petrel send` (RFC 5322 header, RFC 2045-2047 MIME), and the
 * header fields `petrel sendmail` adds when they are missing. Line endings are CRLF throughout.
 */
import { randomBytes } from "node:crypto";
import { basename } from "node:path";
import libmime from "libmime";
import libqp from "libqp";

export interface Attachment {
  /** File name as the recipient sees it. */
  filename: string;
  data: Buffer;
  /** Guessed from the extension when absent. */
  contentType?: string;
}

export interface ComposeInput {
  from: string;
  to: readonly string[];
  subject: string;
  body: string;
  /** "Name: value" fields; one named like a default field replaces it, others are added. */
  headers?: readonly string[];
  attachments?: readonly Attachment[];
  /** For Message-ID's right-hand side. */
  hostname: string;
  date?: Date;
}

/** RFC 5322 3.3 date-time, e.g. "Mon, 30 Nov 2026 10:27:40 +0000". */
export function rfc5322Date(d: Date): string {
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][d.getUTCDay()]!;
  const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()]!;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${day}, ${p(d.getUTCDate())} ${mon} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** RFC 5322 3.6.4: a unique msg-id. */
export function newMessageId(hostname: string): string {
  return `<${Date.now().toString(36)}.${randomBytes(8).toString("hex")}@${hostname}>`;
}

/** Header text: as is when ASCII, else RFC 2047 encoded-words. */
function headerText(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : libmime.encodeWords(v, "Q", 52);
}

/** "Name: value" from --header, checked. */
export function parseHeaderArg(text: string): [string, string] {
  const m = /^([\x21-\x39\x3b-\x7e]+):[ \t]*(.*)$/s.exec(text);
  if (!m || /[\r\n]/.test(m[2]!)) throw new Error(`--header "${text}": expected "Name: value" on one line`);
  return [m[1]!, m[2]!];
}

/** The content type for a file name (by its extension); application/octet-stream when unknown. */
export function guessContentType(filename: string): string {
  return libmime.detectMimeType(filename) || "application/octet-stream";
}

/** Base64 in lines of 76 characters (RFC 2045 6.8). */
function base64Lines(data: Buffer): string {
  const b = data.toString("base64");
  const out: string[] = [];
  for (let i = 0; i < b.length; i += 76) out.push(b.slice(i, i + 76));
  return out.join("\r\n");
}

/** Text with CRLF line endings, ending with CRLF. */
export function crlf(text: string): string {
  const t = text.replace(/\r?\n/g, "\r\n");
  return t.endsWith("\r\n") || t === "" ? t : t + "\r\n";
}

/** Content fields and encoded body of a text/plain part. */
function textPart(body: string): { fields: string[]; content: string } {
  const text = crlf(body);
  if (/^[\x00-\x7f]*$/.test(text) && !text.split("\r\n").some((l) => l.length > 998)) {
    return { fields: ["Content-Type: text/plain; charset=us-ascii", "Content-Transfer-Encoding: 7bit"], content: text };
  }
  // Quoted-printable keeps UTF-8 text 7-bit, so any server takes it (no 8BITMIME needed).
  const qp = libqp.wrap(libqp.encode(Buffer.from(text, "utf8")), 76).replace(/\r?\n/g, "\r\n");
  return { fields: ["Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable"], content: crlf(qp) };
}

/** Content-Type / Content-Disposition parameter (RFC 2231 for non-ASCII names). */
function param(name: string, value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return `${name}="${value.replace(/["\\]/g, "\\$&")}"`;
  return libmime
    .buildHeaderParam(name, value, 50)
    .map((p) => `${p.key}=${p.value}`)
    .join(";\r\n ");
}

/** The whole message, CRLF line endings. */
export function composeMessage(input: ComposeInput): Buffer {
  const fields: [string, string][] = [
    ["Date", rfc5322Date(input.date ?? new Date())],
    ["From", headerText(input.from)],
    ["To", input.to.join(", ")],
    ["Subject", headerText(input.subject)],
    ["Message-ID", newMessageId(input.hostname)],
    ["MIME-Version", "1.0"],
    ["X-Mailer", "petrel send"],
  ];
  for (const h of input.headers ?? []) {
    const [name, value] = parseHeaderArg(h);
    const i = fields.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
    if (i >= 0) fields[i] = [name, headerText(value)];
    else fields.push([name, headerText(value)]);
  }
  const head = fields.map(([n, v]) => `${n}: ${v}\r\n`).join("");
  const text = textPart(input.body);
  const attachments = input.attachments ?? [];
  if (attachments.length === 0) return Buffer.from(head + text.fields.map((f) => f + "\r\n").join("") + "\r\n" + text.content, "utf8");

  // RFC 2046 5.1.1: a boundary that cannot occur in base64 or in our QP text.
  const boundary = `----=_petrel_${randomBytes(12).toString("hex")}`;
  const parts: string[] = [head, `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n`, "This is a multi-part message in MIME format.\r\n"];
  parts.push(`\r\n--${boundary}\r\n`, text.fields.map((f) => f + "\r\n").join(""), "\r\n", text.content);
  for (const a of attachments) {
    const name = basename(a.filename);
    parts.push(
      `\r\n--${boundary}\r\n`,
      `Content-Type: ${a.contentType ?? guessContentType(name)}; ${param("name", name)}\r\n`,
      `Content-Disposition: attachment; ${param("filename", name)}\r\n`,
      "Content-Transfer-Encoding: base64\r\n\r\n",
      base64Lines(a.data),
      "\r\n",
    );
  }
  parts.push(`\r\n--${boundary}--\r\n`);
  return Buffer.from(parts.join(""), "utf8");
}
