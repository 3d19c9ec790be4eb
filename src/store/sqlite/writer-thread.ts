/** Main-thread side of the writer thread: a promise per batch. */
import { Worker } from "node:worker_threads";
import type { NewQueueMessage } from "../types.js";
import type { WriterRequest, WriterResponse } from "./writer-worker.js";

export class WriterThread {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private failure?: Error;

  constructor(file: string) {
    this.worker = new Worker(new URL("./writer-worker.js", import.meta.url), { workerData: { file } });
    this.worker.on("message", (r: WriterResponse) => {
      const w = this.waiting.get(r.seq);
      if (!w) return;
      this.waiting.delete(r.seq);
      if (r.ok) w.resolve();
      else w.reject(new Error(`queue commit failed: ${r.error}`));
    });
    const fail = (e: Error) => {
      this.failure = e;
      for (const w of this.waiting.values()) w.reject(e);
      this.waiting.clear();
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`queue writer thread exited (${code})`)));
  }

  insert(batch: readonly NewQueueMessage[]): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.worker.postMessage({ seq, batch: batch as NewQueueMessage[] } satisfies WriterRequest);
    });
  }

  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise((r) => this.worker.once("exit", r));
    this.worker.postMessage("close");
    await exited;
  }
}
