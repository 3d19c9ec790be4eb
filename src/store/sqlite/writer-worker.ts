/**
 * The writer thread: commits queue batches on its own connection, so that the fsync of each
 * group commit never blocks the event loop that serves the SMTP sessions.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "./database.js";
import { queueInserter } from "./queue-writer.js";
import type { NewQueueMessage } from "../types.js";

export interface WriterRequest {
  seq: number;
  batch: NewQueueMessage[];
}

export type WriterResponse = { seq: number; ok: true } | { seq: number; ok: false; error: string };

const db = openDatabase((workerData as { file: string }).file);
const insert = queueInserter(db);

parentPort!.on("message", (req: WriterRequest | "close") => {
  if (req === "close") {
    db.close();
    process.exit(0);
  }
  try {
    for (const m of req.batch) {
      // Structured clone turns Buffers into Uint8Arrays; SQLite wants Buffers for BLOBs.
      if (m.body) m.body = Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength);
    }
    insert.immediate(req.batch);
    parentPort!.postMessage({ seq: req.seq, ok: true } satisfies WriterResponse);
  } catch (e) {
    parentPort!.postMessage({ seq: req.seq, ok: false, error: (e as Error).message } satisfies WriterResponse);
  }
});
