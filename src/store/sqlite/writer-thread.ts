/**
 * Main-thread side of the writer thread. One operation is in the thread at a time, and the
 * next one is picked by priority: accepting a message (the client waits for its 250) goes
 * before delivery bookkeeping, so a burst of deliveries never delays an SMTP reply.
 */
import { Worker } from "node:worker_threads";
import type { Writer } from "./writer.js";
import type { WriteOpName } from "./write-ops.js";
import type { WriterRequest, WriterResponse } from "./writer-worker.js";

/** Operations a client is waiting on. */
const URGENT: ReadonlySet<WriteOpName> = new Set(["insertQueue"]);

interface Pending {
  request: WriterRequest;
  resolve: (v: never) => void;
  reject: (e: Error) => void;
}

export function writerThread(file: string): Writer {
  const worker = new Worker(new URL("./writer-worker.js", import.meta.url), { workerData: { file } });
  const urgent: Pending[] = [];
  const normal: Pending[] = [];
  let inflight: Pending | undefined;
  let seq = 0;
  let failure: Error | undefined;
  let closing = false;

  const next = () => {
    if (inflight || failure) return;
    inflight = urgent.shift() ?? normal.shift();
    if (inflight) worker.postMessage(inflight.request);
  };
  worker.on("message", (r: WriterResponse) => {
    const done = inflight;
    if (!done || done.request.seq !== r.seq) return;
    inflight = undefined;
    if (r.ok) done.resolve(r.result as never);
    else done.reject(new Error(`store write failed: ${r.error}`));
    next();
  });
  const fail = (e: Error) => {
    failure ??= e;
    for (const p of [...(inflight ? [inflight] : []), ...urgent.splice(0), ...normal.splice(0)]) p.reject(e);
    inflight = undefined;
  };
  worker.on("error", fail);
  worker.on("exit", (code) => fail(new Error(closing ? "store closed" : `store writer thread exited (${code})`)));
  return {
    run(op, ...args) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        (URGENT.has(op) ? urgent : normal).push({ request: { seq: ++seq, op, args }, resolve, reject });
        next();
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
