/** Main-thread side of the writer thread: one promise per operation, answered in order. */
import { Worker } from "node:worker_threads";
import type { Writer } from "./writer.js";
import type { WriterRequest, WriterResponse } from "./writer-worker.js";

export function writerThread(file: string): Writer {
  const worker = new Worker(new URL("./writer-worker.js", import.meta.url), { workerData: { file } });
  const waiting = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  let seq = 0;
  let failure: Error | undefined;
  let closing = false;
  worker.on("message", (r: WriterResponse) => {
    const w = waiting.get(r.seq);
    if (!w) return;
    waiting.delete(r.seq);
    if (r.ok) w.resolve(r.result as never);
    else w.reject(new Error(`store write failed: ${r.error}`));
  });
  const fail = (e: Error) => {
    failure ??= e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(closing ? "store closed" : `store writer thread exited (${code})`)));
  return {
    run(op, ...args) {
      if (failure) return Promise.reject(failure);
      const n = ++seq;
      return new Promise((resolve, reject) => {
        waiting.set(n, { resolve, reject });
        worker.postMessage({ seq: n, op, args } satisfies WriterRequest);
      });
    },
    async close() {
      if (failure) return;
      closing = true;
      const exited = new Promise((r) => worker.once("exit", r));
      worker.postMessage("close");
      await exited;
    },
  };
}
