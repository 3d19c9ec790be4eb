/**
 * Writes of the shared authentication lockout (failures per IP and per account). The writer
 * runs one operation at a time, so each compare-and-set below is atomic.
 */
import type { Db } from "./database.js";
import type { AuthFailure } from "../types.js";

export function authWriteOps(db: Db) {
  const s = {
    insert: db.prepare("INSERT INTO auth_failures (key, failures, window_start, last_failure_at, blocked_until, level) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING"),
    update: db.prepare(
      `UPDATE auth_failures SET failures = ?, window_start = ?, last_failure_at = ?, blocked_until = ?, level = ?
       WHERE key = ? AND failures = ? AND window_start = ? AND last_failure_at = ? AND blocked_until IS ? AND level = ?`,
    ),
    removeAll: db.prepare("DELETE FROM auth_failures"),
    removeOne: db.prepare("DELETE FROM auth_failures WHERE key = ?"),
    prune: db.prepare("DELETE FROM auth_failures WHERE last_failure_at < ? AND (blocked_until IS NULL OR blocked_until <= ?)"),
  };
  const removeMany = db.transaction((keys: readonly string[]) => keys.reduce((n, k) => n + s.removeOne.run(k).changes, 0));
  return {
    replaceAuthFailure: (expected: AuthFailure | null, n: AuthFailure): boolean => {
      if (expected === null) return s.insert.run(n.key, n.failures, n.windowStart, n.lastFailureAt, n.blockedUntil, n.level).changes > 0;
      const e = expected;
      return s.update.run(n.failures, n.windowStart, n.lastFailureAt, n.blockedUntil, n.level, e.key, e.failures, e.windowStart, e.lastFailureAt, e.blockedUntil, e.level).changes > 0;
    },
    removeAuthFailures: (keys?: readonly string[]): number => (keys === undefined ? s.removeAll.run().changes : removeMany.immediate(keys)),
    pruneAuthFailures: (before: number, now: number): number => s.prune.run(before, now).changes,
  };
}
