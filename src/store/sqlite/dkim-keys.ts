/** DKIM keys in SQLite: reads on this connection, writes through the writer. */
import type { Db } from "./database.js";
import type { Writer } from "./writer.js";
import type { DkimWriteResult } from "./write-ops-dkim.js";
import { DirectoryError, type DkimKey, type DkimKeyStore, type NewDkimKey } from "../types.js";
import { asciiDomain } from "../domain-name.js";
import { toDkimKey, type DkimKeyRow } from "../rows-dkim.js";

export class SqliteDkimKeys implements DkimKeyStore {
  private readonly stmt;

  constructor(
    db: Db,
    private readonly writer: Writer,
  ) {
    this.stmt = {
      one: db.prepare("SELECT * FROM dkim_keys WHERE domain_ascii = ? AND selector = ?"),
      all: db.prepare("SELECT * FROM dkim_keys ORDER BY domain_ascii, created_at DESC, selector"),
      of: db.prepare("SELECT * FROM dkim_keys WHERE domain_ascii = ? ORDER BY created_at DESC, selector"),
      active: db.prepare("SELECT * FROM dkim_keys WHERE domain_ascii = ? AND state = 'active' ORDER BY created_at DESC, selector"),
    };
  }

  async add(key: NewDkimKey): Promise<DkimKey> {
    const k = { ...key, domain: asciiDomain(key.domain) };
    raise(await this.writer.run("addDkimKey", k), k);
    return this.get(k.domain, k.selector);
  }

  async list(domain?: string): Promise<DkimKey[]> {
    const rows = (domain === undefined ? this.stmt.all.all() : this.stmt.of.all(asciiDomain(domain))) as DkimKeyRow[];
    return rows.map(toDkimKey);
  }

  async active(domain: string): Promise<DkimKey[]> {
    return (this.stmt.active.all(asciiDomain(domain)) as DkimKeyRow[]).map(toDkimKey);
  }

  async rotate(key: NewDkimKey, retireAt: number): Promise<DkimKey[]> {
    const k = { ...key, domain: asciiDomain(key.domain) };
    const { result, retired } = await this.writer.run("rotateDkimKey", k, retireAt);
    raise(result, k);
    return retired.map((sel) => this.get(k.domain, sel));
  }

  async expire(now: number): Promise<number> {
    return this.writer.run("expireDkimKeys", now);
  }

  async remove(domain: string, selector: string): Promise<boolean> {
    return this.writer.run("removeDkimKey", asciiDomain(domain), selector);
  }

  private get(domain: string, selector: string): DkimKey {
    return toDkimKey(this.stmt.one.get(domain, selector) as DkimKeyRow);
  }
}

function raise(r: DkimWriteResult, k: NewDkimKey): void {
  if (r === "NO_DOMAIN") throw new DirectoryError("NO_DOMAIN", `${k.domain} is not a local domain (add it with: petrel domain add ${k.domain})`);
  if (r === "EXISTS") throw new DirectoryError("EXISTS", `${k.domain} already has a DKIM key with selector ${k.selector}`);
}
