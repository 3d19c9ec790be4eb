/** An in-memory KeyValueStore with the store contract's semantics, for policy unit tests. */
import type { KeyValueEntry, KeyValueStore } from "../../src/store/types.js";

export class MemoryKeyValue implements KeyValueStore {
  readonly rows = new Map<string, KeyValueEntry>();

  private live(key: string, now: number): KeyValueEntry | undefined {
    const e = this.rows.get(key);
    return e && e.expiresAt > now ? e : undefined;
  }

  async get(keys: readonly string[], now: number): Promise<Record<string, KeyValueEntry>> {
    const out: Record<string, KeyValueEntry> = {};
    for (const k of keys) {
      const e = this.live(k, now);
      if (e) out[k] = { ...e };
    }
    return out;
  }

  async put(key: string, value: string, expiresAt: number, now: number): Promise<void> {
    this.rows.set(key, { value, expiresAt, counter: this.live(key, now)?.counter ?? 0 });
  }

  async putIfAbsent(key: string, value: string, expiresAt: number, now: number): Promise<KeyValueEntry> {
    const e = this.live(key, now) ?? { value, expiresAt, counter: 0 };
    this.rows.set(key, e);
    return { ...e };
  }

  async increment(key: string, delta: number, expiresAt: number, now: number): Promise<number> {
    const e = this.live(key, now);
    const next = e ? { ...e, counter: e.counter + delta, expiresAt: Math.max(e.expiresAt, expiresAt) } : { value: "", counter: delta, expiresAt };
    this.rows.set(key, next);
    return next.counter;
  }

  async delete(keys: readonly string[]): Promise<number> {
    return keys.filter((k) => this.rows.delete(k)).length;
  }

  async prune(now: number): Promise<number> {
    let n = 0;
    for (const [k, e] of this.rows) if (e.expiresAt <= now && this.rows.delete(k)) n++;
    return n;
  }
}
