/**
 * Writes of the expiring key-value store (greylisting). Each is one statement, so atomic; an
 * expired row is treated as absent by every write.
 */
import type { Db } from "./database.js";
import type { KeyValueEntry } from "../types.js";

type Row = { value: string; counter: number; expires_at: number };

export function keyValueWriteOps(db: Db) {
  const s = {
    put: db.prepare(
      `INSERT INTO kv_entries (key, value, counter, expires_at) VALUES (@key, @value, 0, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
         counter = CASE WHEN kv_entries.expires_at <= @now THEN 0 ELSE kv_entries.counter END`,
    ),
    putIfAbsent: db.prepare(
      `INSERT INTO kv_entries (key, value, counter, expires_at) VALUES (@key, @value, 0, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN kv_entries.expires_at <= @now THEN excluded.value ELSE kv_entries.value END,
         counter = CASE WHEN kv_entries.expires_at <= @now THEN 0 ELSE kv_entries.counter END,
         expires_at = CASE WHEN kv_entries.expires_at <= @now THEN excluded.expires_at ELSE kv_entries.expires_at END
       RETURNING value, counter, expires_at`,
    ),
    increment: db.prepare(
      `INSERT INTO kv_entries (key, value, counter, expires_at) VALUES (@key, '', @delta, @expiresAt)
       ON CONFLICT (key) DO UPDATE SET
         value = CASE WHEN kv_entries.expires_at <= @now THEN '' ELSE kv_entries.value END,
         counter = CASE WHEN kv_entries.expires_at <= @now THEN excluded.counter ELSE kv_entries.counter + excluded.counter END,
         expires_at = CASE WHEN kv_entries.expires_at <= @now THEN excluded.expires_at ELSE max(kv_entries.expires_at, excluded.expires_at) END
       RETURNING counter`,
    ),
    del: db.prepare("DELETE FROM kv_entries WHERE key = ?"),
    prune: db.prepare("DELETE FROM kv_entries WHERE expires_at <= ?"),
  };
  const del = db.transaction((keys: readonly string[]) => keys.reduce((n, k) => n + s.del.run(k).changes, 0));
  return {
    kvPut: (key: string, value: string, expiresAt: number, now: number): void => {
      s.put.run({ key, value, expiresAt, now });
    },
    kvPutIfAbsent: (key: string, value: string, expiresAt: number, now: number): KeyValueEntry => {
      const r = s.putIfAbsent.get({ key, value, expiresAt, now }) as Row;
      return { value: r.value, counter: r.counter, expiresAt: r.expires_at };
    },
    kvIncrement: (key: string, delta: number, expiresAt: number, now: number): number => (s.increment.get({ key, delta, expiresAt, now }) as { counter: number }).counter,
    kvDelete: (keys: readonly string[]): number => del.immediate(keys),
    kvPrune: (now: number): number => s.prune.run(now).changes,
  };
}
