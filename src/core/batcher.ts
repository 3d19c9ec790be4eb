/**
 * Batching for durable writes (group commit): items submitted while a flush runs form the
 * next batch, so batches grow with load while a lone item is flushed at once. flush() gets
 * the items in order and returns one result per item.
 */
export class Batcher<T, R = void> {
  private pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly flush: (items: T[]) => Promise<R[]>,
    private readonly maxBatch = 1000,
  ) {}

  add(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Let whatever else arrives in this event-loop turn join the batch.
        setImmediate(() => void this.run());
      }
    });
  }

  /** Resolves when nothing is pending or being written. */
  drained(): Promise<void> {
    if (!this.running && this.pending.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private async run(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.maxBatch);
      try {
        const results = await this.flush(batch.map((p) => p.item));
        batch.forEach((p, i) => p.resolve(results[i] as R));
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.running = false;
    for (const r of this.idle.splice(0)) r();
  }
}
