/** The authentication lockout's rows in PostgreSQL, shared by every node. */
import { toAuthFailure, type AuthFailureRow } from "../rows.js";
import type { Pool } from "./database.js";
import type { AuthFailure, AuthFailureStore } from "../types.js";


export class PgAuthFailures implements AuthFailureStore {
  constructor(private readonly pool: Pool) {}

  async get(keys: readonly string[]): Promise<AuthFailure[]> {
    if (keys.length === 0) return [];
    const { rows } = await this.pool.query<AuthFailureRow>({ name: "petrel.auth.get", text: "SELECT * FROM auth_failures WHERE key = ANY($1::text[])", values: [keys] });
    return rows.map(toAuthFailure);
  }

  async replace(expected: AuthFailure | null, n: AuthFailure): Promise<boolean> {
    // One statement each: atomic without an explicit transaction.
    if (expected === null) {
      const r = await this.pool.query(
        "INSERT INTO auth_failures (key, failures, window_start, last_failure_at, blocked_until, level) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
        [n.key, n.failures, n.windowStart, n.lastFailureAt, n.blockedUntil, n.level],
      );
      return (r.rowCount ?? 0) > 0;
    }
    const e = expected;
    const r = await this.pool.query(
      `UPDATE auth_failures SET failures = $1, window_start = $2, last_failure_at = $3, blocked_until = $4, level = $5
       WHERE key = $6 AND failures = $7 AND window_start = $8 AND last_failure_at = $9 AND blocked_until IS NOT DISTINCT FROM $10::bigint AND level = $11`,
      [n.failures, n.windowStart, n.lastFailureAt, n.blockedUntil, n.level, e.key, e.failures, e.windowStart, e.lastFailureAt, e.blockedUntil, e.level],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async listBlocked(now: number): Promise<AuthFailure[]> {
    const { rows } = await this.pool.query<AuthFailureRow>("SELECT * FROM auth_failures WHERE blocked_until > $1 ORDER BY blocked_until, key", [now]);
    return rows.map(toAuthFailure);
  }

  async remove(keys?: readonly string[]): Promise<number> {
    const r = keys === undefined ? await this.pool.query("DELETE FROM auth_failures") : await this.pool.query("DELETE FROM auth_failures WHERE key = ANY($1::text[])", [keys]);
    return r.rowCount ?? 0;
  }

  async prune(before: number, now: number): Promise<number> {
    const r = await this.pool.query("DELETE FROM auth_failures WHERE last_failure_at < $1 AND (blocked_until IS NULL OR blocked_until <= $2)", [before, now]);
    return r.rowCount ?? 0;
  }
}
