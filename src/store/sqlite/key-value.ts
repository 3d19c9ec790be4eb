/** The expiring key-value store in SQLite: reads on this connection, writes through the writer. */
import type { Db } from "./database.js";
import type { Writer } from "./writer.js";
import type { KeyValueEntry, KeyValueStore } from "../types.js";

export class SqliteKeyValue implements KeyValueStore {
  private readonly one;

  constructor(
    db: Db,
    private readonly writer: Writer,
  ) {
    this.one = db.prepare("SELECT value, counter, expires_at FROM kv_entries WHERE key = ? AND expires_at > ?");
  }

  async get(keys: readonly string[], now: number): Promise<Record<string, KeyValueEntry>> {
    const out: Record<string, KeyValueEntry> = {};
    for (const k of keys) {
      const r = this.one.get(k, now) as { value: string; counter: number; expires_at: number } | undefined;
      if (r) out[k] = { value: r.value, counter: r.counter, expiresAt: r.expires_at };
    }
    return out;
  }

  async put(key: string, value: string, expiresAt: number, now: number): Promise<void> {
    await this.writer.run("kvPut", key, value, expiresAt, now);
  }

  putIfAbsent(key: string, value: string, expiresAt: number, now: number): Promise<KeyValueEntry> {
    return this.writer.run("kvPutIfAbsent", key, value, expiresAt, now);
  }

  increment(key: string, delta: number, expiresAt: number, now: number): Promise<number> {
    return this.writer.run("kvIncrement", key, delta, expiresAt, now);
  }

  delete(keys: readonly string[]): Promise<number> {
    return this.writer.run("kvDelete", [...keys]);
  }

  prune(now: number): Promise<number> {
    return this.writer.run("kvPrune", now);
  }
}
