/**
 * Group commit: many sessions' inserts share one durable transaction (one fsync). Items
 * that arrive while a flush runs form the next batch, so the batch size grows with load
 * and a lone message still commits at once.
 */
export class GroupCommitter<T> {
  private pending: { item: T; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private running = false;
  private idle: (() => void)[] = [];

  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    private readonly maxBatch = 1000,
  ) {}

  add(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Let the other sessions whose data arrived in this event-loop turn join the batch.
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
        await this.flush(batch.map((p) => p.item));
        for (const p of batch) p.resolve();
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.running = false;
    for (const r of this.idle.splice(0)) r();
  }
}
