/** Local domains in SQLite. Read on every lookup, so the CLI's changes apply at once. */
import type { Db } from "./database.js";
import type { Directory, Domain } from "../types.js";
import { asciiDomain, unicodeDomain } from "../domain-name.js";

export class SqliteDirectory implements Directory {
  private readonly stmt;

  constructor(db: Db) {
    this.stmt = {
      isLocal: db.prepare("SELECT 1 FROM domains WHERE ascii = ?").pluck(),
      add: db.prepare("INSERT INTO domains (name, ascii, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
      get: db.prepare("SELECT name, created_at FROM domains WHERE ascii = ?"),
      remove: db.prepare("DELETE FROM domains WHERE ascii = ?"),
      list: db.prepare("SELECT name, created_at FROM domains ORDER BY name"),
    };
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    return this.stmt.isLocal.get(asciiDomain(domain)) !== undefined;
  }

  async addDomain(name: string): Promise<Domain> {
    const ascii = asciiDomain(name);
    this.stmt.add.run(unicodeDomain(ascii), ascii, Date.now());
    const row = this.stmt.get.get(ascii) as { name: string; created_at: number };
    return { name: row.name, createdAt: row.created_at };
  }

  async removeDomain(name: string): Promise<boolean> {
    return this.stmt.remove.run(asciiDomain(name)).changes > 0;
  }

  async listDomains(): Promise<Domain[]> {
    return (this.stmt.list.all() as { name: string; created_at: number }[]).map((r) => ({ name: r.name, createdAt: r.created_at }));
  }
}
