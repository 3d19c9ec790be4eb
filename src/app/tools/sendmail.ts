/**
 * `petrel sendmail`: the Unix mail submission interface (cron, PHP mail(), mailx, git
 * send-email). The message comes on stdin and goes straight into Petrel's durable queue,
 * through the same Queue class the server uses.
 *
 * Why the queue and not SMTP to the local listener: this is what Postfix's sendmail/postdrop
 * does, and for the same reasons. It works while the server is stopped or restarting (the
 * message waits in the queue; the running server's scheduler finds it at its next poll, within
 * seconds); it needs no password, no TLS and no relay permission for a local program; and the
 * message is durable before we exit 0, exactly like after a 250. The one who may run it is
 * whoever may write the data directory, i.e. the mail administrator or the petrel user, the
 * same trust as postdrop's group. Like Postfix's cleanup, we add a Received: field, the missing
 * Date:/Message-ID:/From:, remove Bcc:, refuse unknown local recipients at once (no bounce
 * later), and DKIM-sign with the From: domain's active key, as the submission port would.
 */
import { mkdir } from "node:fs/promises";
import addressparser from "nodemailer/lib/addressparser";
import { AddressSyntaxError, formatAddress, parseMailbox } from "../../core/address.js";
import { systemClock } from "../../core/clock.js";
import { nullLogger } from "../../core/logger.js";
import type { SessionFacts } from "../../core/envelope.js";
import type { Config } from "../../config/schema.js";
import type { Store } from "../../store/types.js";
import { Queue } from "../../queue/queue.js";
import { resolveRecipient } from "../../delivery/local/resolve.js";
import { DkimSigning } from "../dkim-signing.js";
import { spoolDir } from "../open-store.js";
import { crlf, newMessageId, rfc5322Date } from "./compose.js";

/** sysexits.h: what sendmail's callers (cron, MUAs) understand. */
export const EX = { OK: 0, USAGE: 64, DATAERR: 65, NOINPUT: 66, NOUSER: 67, SOFTWARE: 70, TEMPFAIL: 75, NOPERM: 77, CONFIG: 78 } as const;

/** A failure with the sendmail exit status it maps to. */
export class SendmailError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = "SendmailError";
  }
}

export interface SendmailRequest {
  /** Recipients named on the command line. */
  recipients: readonly string[];
  /** -t: also take recipients from To:, Cc: and Bcc:. */
  extract: boolean;
  /** -f: envelope sender. */
  sender?: string;
  /** -F: full name for an added From:. */
  fullName?: string;
  /** The invoking Unix user. */
  user: { name: string; uid: number };
  /** The message as read (any line endings). */
  message: Buffer;
}

/**
 * The message read from stdin, sendmail style: without `ignoreDots`, a line with a single "."
 * ends the input (and reading stops there); with -i/-oi only end of file does.
 */
export async function readMessage(input: NodeJS.ReadableStream, ignoreDots: boolean, maxSize: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  // The current line so far: its length and its first octets (enough to recognise "." CR? LF).
  let lineLen = 0;
  let lineHead = "";
  for await (const c of input) {
    const chunk = typeof c === "string" ? Buffer.from(c) : (c as Buffer);
    if (ignoreDots) {
      chunks.push(chunk);
      size += chunk.length;
    } else {
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        const piece = chunk.subarray(start, nl < 0 ? chunk.length : nl);
        if (lineLen < 3) lineHead += piece.subarray(0, 3 - lineLen).toString("latin1");
        lineLen += piece.length;
        if (nl < 0) break;
        if (lineHead === "." || lineHead === ".\r") {
          // The line "." ends the message; it is not part of it. Leaving the loop closes the input.
          // Its first octets may have come in the previous chunk: they go too.
          chunks.push(chunk.subarray(0, start));
          const all = Buffer.concat(chunks);
          return all.subarray(0, all.length - (lineLen - (nl - start)));
        }
        lineLen = 0;
        lineHead = "";
        start = nl + 1;
      }
      chunks.push(chunk);
      size += chunk.length;
    }
    if (size > maxSize + 1024) throw new SendmailError(EX.DATAERR, `message larger than the limit of ${maxSize} octets`);
  }
  const all = Buffer.concat(chunks);
  // A last line "." without a newline ends the input too.
  if (!ignoreDots && lineHead === "." && lineLen === 1) return all.subarray(0, all.length - 1);
  return all;
}

interface HeaderField {
  name: string;
  /** The whole field, with its folded lines and the final CRLF. */
  raw: string;
}

/** Split CRLF text into header fields and body (RFC 5322 2.2). Lines that are not fields end the header. */
function splitMessage(text: string): { fields: HeaderField[]; body: string } {
  const fields: HeaderField[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf("\r\n", pos);
    const line = nl < 0 ? text.slice(pos) : text.slice(pos, nl);
    if (line === "") return { fields, body: text.slice(nl + 2) };
    if (/^[ \t]/.test(line) && fields.length) {
      fields[fields.length - 1]!.raw += line + "\r\n";
    } else {
      const m = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/.exec(line);
      if (!m) return { fields, body: text.slice(pos) }; // no blank line: the body starts here
      fields.push({ name: m[1]!.toLowerCase(), raw: line + "\r\n" });
    }
    if (nl < 0) break;
    pos = nl + 2;
  }
  return { fields, body: "" };
}

function fieldValue(f: HeaderField): string {
  return f.raw.slice(f.raw.indexOf(":") + 1).replace(/\r\n[ \t]/g, " ").trim();
}

export interface PreparedMessage {
  sender: string;
  recipients: string[];
  /** The message with the fields added and Bcc: removed; CRLF. */
  body: Buffer;
  /** Received: field, to go in front once the queue id is known. */
  received: (queueId: string) => string;
}

/** Domain of addresses given without one, and of the default sender. */
export async function defaultDomain(store: Store, config: Config & { hostname: string }): Promise<string> {
  if (await store.directory.isLocalDomain(config.hostname)) return config.hostname;
  const first = (await store.directory.listDomains())[0];
  return first?.name ?? config.hostname;
}

function address(text: string, domain: string, what: string): string {
  const t = text.trim().replace(/^<(.*)>$/, "$1");
  try {
    return formatAddress(parseMailbox(t.includes("@") ? t : `${t}@${domain}`));
  } catch (e) {
    if (e instanceof AddressSyntaxError) throw new SendmailError(EX.USAGE, `${what} ${text}: not a valid address (${e.reason})`);
    throw e;
  }
}

/** Recipients, envelope sender and the message as it will be queued. */
export function prepareMessage(req: SendmailRequest, domain: string, hostname: string, now = new Date()): PreparedMessage {
  // A leading mbox "From " line is no header field (Postfix drops it too).
  let text = req.message.toString("latin1").replace(/^From [^\n]*\n/, "");
  text = crlf(text);
  const { fields, body } = splitMessage(text);
  const sender = req.sender === undefined ? `${req.user.name}@${domain}` : req.sender === "" || req.sender === "<>" ? "" : address(req.sender, domain, "-f");
  const recipients: string[] = req.recipients.map((r) => address(r, domain, "recipient"));
  if (req.extract) {
    for (const f of fields.filter((f) => f.name === "to" || f.name === "cc" || f.name === "bcc")) {
      // Header fields are octets here: addresses with UTF-8 come back as UTF-8.
      const value = Buffer.from(fieldValue(f), "latin1").toString("utf8");
      for (const a of addressparser(value, { flatten: true })) if (a.address) recipients.push(address(a.address, domain, "recipient"));
    }
  }
  const unique = [...new Map(recipients.map((r) => [r.toLowerCase(), r])).values()];
  if (unique.length === 0) throw new SendmailError(EX.USAGE, req.extract ? "no recipient addresses found in the header" : "no recipients given (name them, or use -t)");

  // RFC 5322 3.6.3: Bcc: is not shown to the other recipients; like Postfix, it never goes out.
  const kept = fields.filter((f) => f.name !== "bcc");
  const has = (n: string) => kept.some((f) => f.name === n);
  const added: string[] = [];
  if (!has("from")) {
    const who = sender || `${req.user.name}@${domain}`;
    const name = req.fullName?.replace(/["\\\r\n]/g, "");
    added.push(`From: ${name ? `"${name}" <${who}>` : who}\r\n`);
  }
  if (!has("date")) added.push(`Date: ${rfc5322Date(now)}\r\n`);
  if (!has("message-id")) added.push(`Message-ID: ${newMessageId(hostname)}\r\n`);
  const out = kept.map((f) => f.raw).join("") + added.join("") + "\r\n" + body;
  const received = (id: string) => `Received: by ${hostname} (Petrel sendmail, from userid ${req.user.uid})\r\n\tid ${id}; ${rfc5322Date(now)}\r\n`;
  return { sender, recipients: unique, body: Buffer.from(out, "latin1"), received };
}

/** Put the message into the queue; returns its queue id. */
export async function queueMessage(store: Store, config: Config & { hostname: string }, bodiesInStore: boolean, req: SendmailRequest): Promise<string> {
  const domain = await defaultDomain(store, config);
  const m = prepareMessage(req, domain, config.hostname);
  if (m.body.length > config.smtp.maxMessageSize) throw new SendmailError(EX.DATAERR, `message size ${m.body.length} exceeds the limit of ${config.smtp.maxMessageSize} octets`);
  // Unknown local users are refused now rather than bounced later.
  const resolveOpts = { separator: config.delivery.subaddressSeparator, postmaster: config.delivery.postmaster };
  for (const r of m.recipients) {
    const res = await resolveRecipient(r, store.directory, resolveOpts);
    if (res.kind === "unknown") throw new SendmailError(EX.NOUSER, `${r}: no such user here`);
    if (res.kind === "loop") throw new SendmailError(EX.NOUSER, `${r}: alias loop`);
  }
  // No queue.start(): its sweep would take a running server's in-flight spool files for orphans.
  await mkdir(spoolDir(config), { recursive: true });
  const queue = new Queue(store.queue, { spoolDir: spoolDir(config), inlineMax: config.smtp.inlineMaxSize, bodiesInStore }, systemClock, nullLogger);
  const eightBit = m.body.some((b) => b > 0x7f);
  const utf8 = /[^\x00-\x7f]/.test(m.sender + m.recipients.join(""));
  const incoming = queue.receive({
    sender: m.sender,
    recipients: m.recipients.map((address) => ({ address, dsn: {} })),
    mail: { body: eightBit ? "8BITMIME" : undefined, smtputf8: utf8 || undefined },
  });
  const session: SessionFacts = { sessionId: `sendmail-${process.pid}`, listener: "sendmail", remoteAddress: "", remotePort: 0, localAddress: "", localPort: 0, helo: config.hostname, protocol: "local", authUser: req.user.name };
  const signer = new DkimSigning({ keys: store.dkimKeys, log: nullLogger, now: () => Date.now() }).open({ id: session.sessionId, listener: "sendmail", remoteAddress: "", remotePort: 0, authUser: req.user.name });
  try {
    const parts = [Buffer.from(m.received(incoming.id), "latin1"), m.body];
    signer?.update(parts);
    await incoming.write(parts);
    const signature = await signer?.finish();
    if (signature) await incoming.prepend(signature);
    await incoming.commit(session);
  } catch (e) {
    await incoming.abort();
    throw e;
  }
  await queue.drained();
  return incoming.id;
}
