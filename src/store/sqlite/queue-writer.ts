/**
 * The statements that insert queue rows, shared by the in-thread store and the writer
 * thread. One call = one transaction = one fsync of the WAL (synchronous=FULL).
 */
import type Database from "better-sqlite3";
import type { Db } from "./database.js";
import type { NewQueueMessage } from "../types.js";

export type BatchInserter = Database.Transaction<(batch: readonly NewQueueMessage[]) => void>;

export function queueInserter(db: Db): BatchInserter {
  const message = db.prepare("INSERT INTO queue_messages (id, created_at, sender, size, envelope, spooled) VALUES (?, ?, ?, ?, ?, ?)");
  const body = db.prepare("INSERT INTO queue_bodies (id, data) VALUES (?, ?)");
  const rcpt = db.prepare("INSERT INTO queue_recipients (message_id, idx, address, dsn, next_attempt_at) VALUES (?, ?, ?, ?, ?)");
  return db.transaction((batch: readonly NewQueueMessage[]) => {
    for (const m of batch) {
      message.run(m.id, m.createdAt, m.sender, m.size, JSON.stringify(m.envelope), m.body ? 0 : 1);
      if (m.body) body.run(m.id, m.body);
      m.recipients.forEach((r, idx) => rcpt.run(m.id, idx, r.address, JSON.stringify(r.dsn), m.createdAt));
    }
  });
}
