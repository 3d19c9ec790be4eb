/**
 * Reading a delivery status notification (RFC 3464) that came back to us: which of our queue
 * entries it is about, and what it says per recipient. The queue id is found in the DSN's
 * Original-Envelope-Id (outbound MAIL sends ENVID = our queue id when the client gave none),
 * else in the returned message's X-Petrel-Queue-Id, else its Message-ID <QUEUEID@our-hostname>
 * (the one the submission listener adds). Pure: no I/O; never throws.
 */
import { isQueueId } from "../core/queue-id.js";
import { parseMessage, type MimePart } from "../mime/index.js";

export interface ReportedRecipient {
  recipient: string;
  action: string;
  status: string;
  diagnostic: string | null;
  remoteMta: string | null;
}

export interface DeliveryReport {
  queueId: string;
  recipients: ReportedRecipient[];
}

/** Header or status fields of one block, unfolded, names lowercased, the first of each kept. */
function fields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const m = /^([^:\s]+)[ \t]*:[ \t]*(.*)$/.exec(line);
    if (m && !out.has(m[1]!.toLowerCase())) out.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return out;
}

/** RFC 3461 4: xtext ("+2B" for "+"). */
const xtextDecode = (s: string) => s.replace(/\+([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

/** "rfc822; bob@example.com" -> "bob@example.com" (RFC 3464 2.1.2's type; value). */
const typedValue = (v: string | undefined): string | null => {
  if (v === undefined) return null;
  const i = v.indexOf(";");
  return (i < 0 ? v : v.slice(i + 1)).trim() || null;
};

const isType = (p: MimePart, type: string, subtype: string) => p.type.toLowerCase() === type && p.subtype.toLowerCase() === subtype;
const param = (p: MimePart, name: string) => Object.entries(p.params).find(([k]) => k.toLowerCase() === name)?.[1];

/** The report in `raw`, or null when it is not a delivery-status report about one of our messages. */
export function readDeliveryReport(raw: Buffer, hostname: string): DeliveryReport | null {
  try {
    const root = parseMessage(raw).root;
    if (!isType(root, "multipart", "report") || param(root, "report-type")?.toLowerCase() !== "delivery-status") return null;
    const status = root.children.find((c) => c.type.toLowerCase() === "message" && /^(global-)?delivery-status$/i.test(c.subtype));
    if (!status) return null;
    const blocks = raw
      .subarray(status.bodyStart, status.bodyEnd)
      .toString("utf8")
      .split(/\r?\n(?:[ \t]*\r?\n)+/)
      .filter((b) => b.trim() !== "")
      .map(fields);
    const perMessage = blocks.shift();
    if (!perMessage) return null;
    const queueId = ourQueueId(raw, root, perMessage, hostname);
    if (!queueId) return null;
    const recipients = blocks
      .map((b): ReportedRecipient | null => {
        const recipient = typedValue(b.get("final-recipient") ?? b.get("original-recipient"));
        const action = b.get("action")?.toLowerCase();
        const st = /\d\.\d{1,3}\.\d{1,3}/.exec(b.get("status") ?? "")?.[0];
        if (!recipient || !action || !st) return null;
        return { recipient, action, status: st, diagnostic: b.get("diagnostic-code") ?? null, remoteMta: typedValue(b.get("remote-mta")) ?? typedValue(perMessage.get("reporting-mta")) };
      })
      .filter((r): r is ReportedRecipient => r !== null);
    return recipients.length ? { queueId, recipients } : null;
  } catch {
    return null;
  }
}

function ourQueueId(raw: Buffer, root: MimePart, perMessage: Map<string, string>, hostname: string): string | null {
  const envid = xtextDecode(perMessage.get("original-envelope-id") ?? "");
  if (isQueueId(envid)) return envid;
  // The returned message or its header (RFC 3462's third part).
  const returned = root.children.find((c) => isType(c, "message", "rfc822") || isType(c, "message", "global") || isType(c, "text", "rfc822-headers") || isType(c, "message", "global-headers"));
  if (!returned) return null;
  const start = returned.bodyStart;
  const text = raw.subarray(start, returned.bodyEnd).toString("utf8");
  const end = text.search(/\r?\n\r?\n/);
  const header = fields(end < 0 ? text : text.slice(0, end));
  const tagged = header.get("x-petrel-queue-id");
  if (tagged && isQueueId(tagged)) return tagged;
  const m = /^<([^@>]+)@([^>]+)>$/.exec(header.get("message-id") ?? "");
  if (m && isQueueId(m[1]!) && m[2]!.toLowerCase() === hostname.toLowerCase()) return m[1]!;
  return null;
}
