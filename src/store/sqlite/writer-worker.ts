/**
 * The writer thread: runs write operations on its own connection, so that the fsync of each
 * transaction never blocks the event loop that serves the sessions.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openDatabase } from "./database.js";
import { writeOps, type WriteOpName } from "./write-ops.js";

export interface WriterRequest {
  seq: number;
  op: WriteOpName;
  args: unknown[];
}

export type WriterResponse = { seq: number; ok: true; result: unknown } | { seq: number; ok: false; error: string };

const db = openDatabase((workerData as { file: string }).file);
const ops = writeOps(db);

parentPort!.on("message", (req: WriterRequest | "close") => {
  if (req === "close") {
    db.close();
    process.exit(0);
  }
  try {
    const result = (ops[req.op] as (...a: unknown[]) => unknown)(...req.args);
    parentPort!.postMessage({ seq: req.seq, ok: true, result } satisfies WriterResponse);
  } catch (e) {
    parentPort!.postMessage({ seq: req.seq, ok: false, error: (e as Error).message } satisfies WriterResponse);
  }
});
