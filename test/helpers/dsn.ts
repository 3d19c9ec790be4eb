/** What the queue/DSN scenarios share: sending over SMTP, and reading DSNs back from an INBOX. */
import assert from "node:assert/strict";
import { parseMessage, type MimePart } from "../../src/mime/index.js";
import type { TestServer } from "./server.js";
import { SmtpClient, queueIdOf } from "./smtp-client.js";
import { waitFor } from "./wait.js";

/** One SMTP transaction on the MX listener; returns the queue id. */
export async function send(server: TestServer, mailFrom: string, rcpts: readonly string[], body: string): Promise<string> {
  const c = await SmtpClient.open(server.port("smtp"));
  await c.expect("EHLO client.test", 250);
  await c.expect(`MAIL FROM:${mailFrom}`, 250);
  for (const r of rcpts) await c.expect(`RCPT TO:${r}`, 250);
  await c.expect("DATA", 354);
  const id = queueIdOf(await c.expect(body + "\r\n.", 250));
  await c.expect("QUIT", 221);
  return id;
}

export function bigBody(subject: string, lines = 40): string {
  return `From: Alice <alice@petrel.test>\r\nTo: someone\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@client.test>\r\n\r\n` + ("x".repeat(70) + "\r\n").repeat(lines);
}

export interface ReceivedDsn {
  raw: Buffer;
  header: Map<string, string>;
  contentType: string;
  perMessage: Map<string, string>;
  perRecipient: Map<string, string>[];
  returnedType: string;
  returned: string;
}

function fields(block: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of block.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const m = /^([^:\s]+):\s*(.*)$/.exec(line);
    if (m && !out.has(m[1]!.toLowerCase())) out.set(m[1]!.toLowerCase(), m[2]!);
  }
  return out;
}

/** A delivered DSN (Return-Path and Delivered-To prefix included), taken apart. */
export function parseDsn(raw: Buffer): ReceivedDsn {
  const p = parseMessage(raw);
  const body = (part: MimePart) => raw.subarray(part.bodyStart, part.bodyEnd).toString("utf8");
  assert.equal(p.root.children.length, 3, "a DSN has three parts");
  const [, status, returned] = p.root.children as [MimePart, MimePart, MimePart];
  const blocks = body(status).split(/\r\n\r\n/).filter((b) => b.trim() !== "");
  return {
    raw,
    header: fields(raw.subarray(0, p.headerEnd).toString("utf8")),
    contentType: `${p.root.type}/${p.root.subtype}; report-type=${p.root.params["report-type"]}`,
    perMessage: fields(blocks[0]!),
    perRecipient: blocks.slice(1).map(fields),
    returnedType: `${returned.type}/${returned.subtype}`,
    returned: body(returned),
  };
}

/** The messages of an account's INBOX, whole (prefix + blob). */
export async function inboxMessages(server: TestServer, address: string): Promise<Buffer[]> {
  const s = server.petrel.store;
  const account = await s.directory.getAccount(address);
  assert.ok(account, `no account ${address}`);
  const box = await s.mailstore.getMailbox(account.id, "INBOX");
  if (!box) return [];
  const out: Buffer[] = [];
  for (const m of await s.mailstore.listMessages(box.id)) out.push(Buffer.concat([m.prefix, (await s.mailstore.blob(m.blobId))!]));
  return out;
}

/** Wait until an INBOX holds at least n messages; returns them. */
export function waitForInbox(server: TestServer, address: string, n: number, ms = 15_000): Promise<Buffer[]> {
  return waitFor(`${n} message(s) in ${address}'s INBOX`, async () => {
    const list = await inboxMessages(server, address);
    return list.length >= n ? list : null;
  }, ms);
}

/** Wait until a message has left the queue (its outcome, and any DSN with it, is committed). */
export function waitGone(server: TestServer, id: string, ms = 15_000): Promise<true> {
  return waitFor(`${id} to leave the queue`, async () => (await server.petrel.store.queue.get(id)) === null, ms);
}
