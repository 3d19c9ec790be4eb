/** The expiring key-value store in PostgreSQL, shared by every node. Each write is one statement. */
import type { Pool } from "./database.js";
import type { KeyValueEntry, KeyValueStore } from "../types.js";

type Row = { key: string; value: string; counter: string | number; expires_at: string | number };
const entry = (r: Row): KeyValueEntry => ({ value: r.value, counter: Number(r.counter), expiresAt: Number(r.expires_at) });

export class PgKeyValue implements KeyValueStore {
  constructor(private readonly pool: Pool) {}

  async get(keys: readonly string[], now: number): Promise<Record<string, KeyValueEntry>> {
    const { rows } = await this.pool.query<Row>({
      name: "petrel.kv.get",
      text: "SELECT key, value, counter, expires_at FROM kv_entries WHERE key = ANY($1::text[]) AND expires_at > $2",
      values: [[...keys], now],
    });
    const out: Record<string, KeyValueEntry> = {};
    for (const r of rows) out[r.key] = entry(r);
    return out;
  }

  async put(key: string, value: string, expiresAt: number, now: number): Promise<void> {
    await this.pool.query({
      name: "petrel.kv.put",
      text: `INSERT INTO kv_entries (key, value, counter, expires_at) VALUES ($1, $2, 0, $3)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at,
               counter = CASE WHEN kv_entries.expires_at <= $4 THEN 0 ELSE kv_entries.counter END`,
      values: [key, value, expiresAt, now],
    });
  }

  async putIfAbsent(key: string, value: string, expiresAt: number, now: number): Promise<KeyValueEntry> {
    const { rows } = await this.pool.query<Row>({
      name: "petrel.kv.putIfAbsent",
      text: `INSERT INTO kv_entries (key, value, counter, expires_at) VALUES ($1, $2, 0, $3)
             ON CONFLICT (key) DO UPDATE SET
               value = CASE WHEN kv_entries.expires_at <= $4 THEN EXCLUDED.value ELSE kv_entries.value END,
               counter = CASE WHEN kv_entries.expires_at <= $4 THEN 0 ELSE kv_entries.counter END,
               expires_at = CASE WHEN kv_entries.expires_at <= $4 THEN EXCLUDED.expires_at ELSE kv_entries.expires_at END
             RETURNING key, value, counter, expires_at`,
      values: [key, value, expiresAt, now],
    });
    return entry(rows[0]!);
  }

  async increment(key: string, delta: number, expiresAt: number, now: number): Promise<number> {
    const { rows } = await this.pool.query<{ counter: string | number }>({
      name: "petrel.kv.increment",
      text: `INSERT INTO kv_entries (key, value, counter, expires_at) VALUES ($1, '', $2, $3)
             ON CONFLICT (key) DO UPDATE SET
               value = CASE WHEN kv_entries.expires_at <= $4 THEN '' ELSE kv_entries.value END,
               counter = CASE WHEN kv_entries.expires_at <= $4 THEN EXCLUDED.counter ELSE kv_entries.counter + EXCLUDED.counter END,
               expires_at = CASE WHEN kv_entries.expires_at <= $4 THEN EXCLUDED.expires_at ELSE greatest(kv_entries.expires_at, EXCLUDED.expires_at) END
             RETURNING counter`,
      values: [key, delta, expiresAt, now],
    });
    return Number(rows[0]!.counter);
  }

  async delete(keys: readonly string[]): Promise<number> {
    const r = await this.pool.query("DELETE FROM kv_entries WHERE key = ANY($1::text[])", [[...keys]]);
    return r.rowCount ?? 0;
  }

  async prune(now: number): Promise<number> {
    const r = await this.pool.query("DELETE FROM kv_entries WHERE expires_at <= $1", [now]);
    return r.rowCount ?? 0;
  }
}
