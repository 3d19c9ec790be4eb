/**
 * Where writes run: in this thread, or in the writer thread. Both expose the same call.
 */
import type { Db } from "./database.js";
import { writeOps, type WriteOps, type WriteOpName } from "./write-ops.js";

export interface Writer {
  run<K extends WriteOpName>(op: K, ...args: Parameters<WriteOps[K]>): Promise<ReturnType<WriteOps[K]>>;
  close(): Promise<void>;
}

/** Runs each write synchronously on the given connection (CLI, tests). */
export function inlineWriter(db: Db): Writer {
  const ops = writeOps(db);
  return {
    async run(op, ...args) {
      return (ops[op] as (...a: unknown[]) => never)(...args);
    },
    async close() {},
  };
}
