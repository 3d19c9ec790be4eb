/** The authentication lockout's rows in SQLite: reads on this connection, writes through the writer. */
import { toAuthFailure, type AuthFailureRow } from "../rows.js";
import type { Db } from "./database.js";
import type { Writer } from "./writer.js";
import type { AuthFailure, AuthFailureStore } from "../types.js";


export class SqliteAuthFailures implements AuthFailureStore {
  private readonly stmt;

  constructor(
    db: Db,
    private readonly writer: Writer,
  ) {
    this.stmt = {
      get: db.prepare("SELECT * FROM auth_failures WHERE key = ?"),
      blocked: db.prepare("SELECT * FROM auth_failures WHERE blocked_until > ? ORDER BY blocked_until, key"),
    };
  }

  async get(keys: readonly string[]): Promise<AuthFailure[]> {
    return keys.map((k) => this.stmt.get.get(k) as AuthFailureRow | undefined).filter((r): r is AuthFailureRow => r !== undefined).map(toAuthFailure);
  }

  replace(expected: AuthFailure | null, next: AuthFailure): Promise<boolean> {
    return this.writer.run("replaceAuthFailure", expected, next);
  }

  async listBlocked(now: number): Promise<AuthFailure[]> {
    return (this.stmt.blocked.all(now) as AuthFailureRow[]).map(toAuthFailure);
  }

  remove(keys?: readonly string[]): Promise<number> {
    return this.writer.run("removeAuthFailures", keys);
  }

  prune(before: number, now: number): Promise<number> {
    return this.writer.run("pruneAuthFailures", before, now);
  }
}
