/** The AuthFailureStore contract in memory, for unit tests of the lockout and the Authenticator. */
import type { AuthFailure, AuthFailureStore } from "../../src/store/types.js";

/** Compare-and-set on the whole row, like the real stores. */
export class MemoryAuthFailures implements AuthFailureStore {
  rows = new Map<string, AuthFailure>();
  async get(keys: readonly string[]) {
    return keys.map((k) => this.rows.get(k)).filter((r): r is AuthFailure => r !== undefined).map((r) => ({ ...r }));
  }
  async replace(expected: AuthFailure | null, next: AuthFailure) {
    const cur = this.rows.get(next.key) ?? null;
    if (JSON.stringify(cur) !== JSON.stringify(expected)) return false;
    this.rows.set(next.key, { ...next });
    return true;
  }
  async listBlocked(now: number) {
    return [...this.rows.values()].filter((r) => r.blockedUntil !== null && r.blockedUntil > now);
  }
  async remove(keys?: readonly string[]) {
    if (!keys) {
      const n = this.rows.size;
      this.rows.clear();
      return n;
    }
    return keys.filter((k) => this.rows.delete(k)).length;
  }
  async prune(before: number, now: number) {
    let n = 0;
    for (const [k, r] of this.rows) if (r.lastFailureAt < before && (r.blockedUntil === null || r.blockedUntil <= now)) (this.rows.delete(k), n++);
    return n;
  }
}
