/**
 * The connection pool of the PostgreSQL backend, its migrations and its transactions.
 * Several Petrel nodes may start at once against one database: migrations run in one
 * transaction that holds a transaction-scoped advisory lock, so exactly one node applies each.
 */
import pg from "pg";
import { MIGRATIONS } from "./migrations.js";

export type Pool = pg.Pool;
export type Client = pg.PoolClient;

/** Lower-case identifiers only: the name goes unquoted into search_path and CREATE SCHEMA. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** int8 (ids, times in ms, sizes, count(*)) as a number: every value we store fits in 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8 && format !== "binary" ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/** Opens a pool whose every connection uses `schema` (created if missing), and migrates it. */
export async function openPool(url: string, schema?: string): Promise<Pool> {
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name "${schema}" (use lower-case letters, digits and _)`);
  const pool = new pg.Pool({ connectionString: url, types, ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }) });
  // A pooled idle connection that breaks is discarded; the next query reports the failure.
  pool.on("error", () => {});
  try {
    await migrate(pool, schema);
  } catch (e) {
    await pool.end();
    throw e;
  }
  return pool;
}

async function migrate(pool: Pool, schema: string | undefined): Promise<void> {
  await transaction(pool, async (c) => {
    await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`petrel.migrate.${schema ?? ""}`]);
    if (schema !== undefined) await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await c.query("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)");
    const applied = new Set((await c.query<{ version: number }>("SELECT version FROM schema_migrations")).rows.map((r) => r.version));
    for (const m of MIGRATIONS) {
      if (applied.has(m.version)) continue;
      await c.query(m.sql);
      await c.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [m.version, Date.now()]);
    }
  });
}

/** serialization_failure, deadlock_detected: the transaction did nothing and may run again. */
const RETRYABLE = new Set(["40001", "40P01"]);

/** Runs fn in one transaction on one connection; retried (whole) when PostgreSQL asks for it. */
export async function transaction<T>(pool: Pool, fn: (c: Client) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const c = await pool.connect();
    let broken = false;
    try {
      await c.query("BEGIN");
      const result = await fn(c);
      await c.query("COMMIT");
      return result;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => (broken = true));
      if (attempt < 5 && RETRYABLE.has(pgCode(e))) continue;
      throw e;
    } finally {
      c.release(broken);
    }
  }
}

/** The SQLSTATE of a PostgreSQL error, or "" for any other error. */
export function pgCode(e: unknown): string {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : "";
}
