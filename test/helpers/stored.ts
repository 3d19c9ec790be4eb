/**
 * Reading back what Petrel stored for a queue id: the queue row (envelope, recipients, DSN
 * parameters) and the message, split into our Received: header and the client's bytes.
 */
import assert from "node:assert/strict";
import type { QueueEntry } from "../../src/store/types.js";
import type { TestServer } from "./server.js";

export interface StoredMessage {
  entry: QueueEntry;
  /** The whole stored message. */
  body: Buffer;
  /** Our Received: header with its CRLF. */
  received: string;
  /** Everything after the Received: header: the bytes the client sent. */
  content: Buffer;
}

/** MAIL parameters as stored in the envelope (see app/smtp-handler.ts). */
export interface StoredMail {
  body?: string;
  smtputf8: boolean;
  requireTls: boolean;
  declaredSize?: number;
  ret?: string;
  envid?: string;
  auth?: string;
}

export async function storedMessage(server: TestServer, id: string): Promise<StoredMessage> {
  const entry = await server.petrel.store.queue.get(id);
  assert.ok(entry, `queue id ${id} is not in the queue`);
  const body = await server.petrel.queue.body(id);
  assert.ok(body, `queue id ${id} has no stored body`);
  // The Received: header is the first field; its continuation lines start with a tab.
  assert.ok(body.subarray(0, 10).toString("latin1") === "Received: ", "message must start with our Received: header");
  let end = body.indexOf("\r\n") + 2;
  while (body[end] === 0x09) end = body.indexOf("\r\n", end) + 2;
  return { entry, body, received: body.subarray(0, end).toString("utf8"), content: body.subarray(end) };
}

export function mailParams(entry: QueueEntry): StoredMail {
  return (entry.envelope as { mail: StoredMail }).mail;
}

export function sessionFacts(entry: QueueEntry): Record<string, unknown> {
  return (entry.envelope as { session: Record<string, unknown> }).session;
}

/**
 * Check that the stored message is our Received: header followed by exactly `content`, that the
 * header names this queue id and the protocol, and that the size column matches.
 */
export async function assertStored(server: TestServer, id: string, expected: { content: Buffer | string; protocol?: string; sender?: string; recipients?: string[] }): Promise<StoredMessage> {
  const m = await storedMessage(server, id);
  const content = typeof expected.content === "string" ? Buffer.from(expected.content, "utf8") : expected.content;
  assert.ok(m.content.equals(content), `stored content differs from what was sent:\n--- stored\n${JSON.stringify(m.content.toString("latin1"))}\n--- sent\n${JSON.stringify(content.toString("latin1"))}`);
  assert.match(m.received, new RegExp(`^Received: from \\S+ \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby mx\\.petrel\\.test \\(Petrel\\) with ([A-Z0-9]+) id ${id}\\b`));
  if (expected.protocol) assert.equal(/ with ([A-Z0-9]+) id /.exec(m.received)?.[1], expected.protocol, "protocol keyword in Received:");
  assert.equal(m.entry.size, m.body.length, "size column = stored octets");
  if (expected.sender !== undefined) assert.equal(m.entry.sender, expected.sender);
  if (expected.recipients) assert.deepEqual(m.entry.recipients.map((r) => r.address), expected.recipients);
  return m;
}

/**
 * The message a queue id stands for, wherever it is now: still in the queue, or delivered
 * (then without the Return-Path/Delivered-To lines delivery added). Null when neither.
 */
export async function queuedOrDelivered(dataDir: string, id: string): Promise<Buffer | null> {
  const { openSqliteStore } = await import("../../src/store/sqlite/index.js");
  const { Queue } = await import("../../src/queue/queue.js");
  const { systemClock } = await import("../../src/core/clock.js");
  const { nullLogger } = await import("../../src/core/logger.js");
  const { default: Database } = await import("better-sqlite3");
  const { join } = await import("node:path");
  const store = openSqliteStore(dataDir);
  try {
    const queued = await new Queue(store.queue, { spoolDir: join(dataDir, "spool"), inlineMax: 0 }, systemClock, nullLogger).body(id);
    if (queued) return queued;
    const db = new Database(join(dataDir, "petrel.db"), { readonly: true });
    try {
      const row = db.prepare("SELECT m.blob_id FROM deliveries d JOIN messages m ON m.mailbox_id = d.mailbox_id AND m.uid = d.uid WHERE d.queue_id = ? LIMIT 1").get(id) as { blob_id: string } | undefined;
      return row ? await store.mailstore.blob(row.blob_id) : null;
    } finally {
      db.close();
    }
  } finally {
    await store.close();
  }
}
