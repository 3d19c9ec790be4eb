/**
 * Writes of the DKIM signing keys (creation, rotation states). Failures are returned as codes,
 * not thrown: they cross the writer thread, where error classes are lost.
 */
import type { Db } from "./database.js";
import type { NewDkimKey } from "../types.js";

export type DkimWriteResult = "ok" | "NO_DOMAIN" | "EXISTS";

export function dkimWriteOps(db: Db) {
  const s = {
    domain: db.prepare("SELECT 1 FROM domains WHERE ascii = ?").pluck(),
    exists: db.prepare("SELECT 1 FROM dkim_keys WHERE domain_ascii = ? AND selector = ?").pluck(),
    insert: db.prepare(
      "INSERT INTO dkim_keys (domain_ascii, selector, algorithm, private_key, public_key, state, created_at, retire_at) VALUES (?, ?, ?, ?, ?, 'active', ?, NULL)",
    ),
    retiring: db.prepare("SELECT selector FROM dkim_keys WHERE domain_ascii = ? AND algorithm = ? AND state = 'active'").pluck(),
    retire: db.prepare("UPDATE dkim_keys SET state = 'retiring', retire_at = ? WHERE domain_ascii = ? AND algorithm = ? AND state = 'active'"),
    expire: db.prepare("UPDATE dkim_keys SET state = 'retired' WHERE state = 'retiring' AND retire_at <= ?"),
    remove: db.prepare("DELETE FROM dkim_keys WHERE domain_ascii = ? AND selector = ?"),
  };
  const check = (k: NewDkimKey): DkimWriteResult => {
    if (s.domain.get(k.domain) === undefined) return "NO_DOMAIN";
    if (s.exists.get(k.domain, k.selector) !== undefined) return "EXISTS";
    return "ok";
  };
  const insert = (k: NewDkimKey) => s.insert.run(k.domain, k.selector, k.algorithm, k.privateKey, k.publicKey, k.createdAt);
  const add = db.transaction((k: NewDkimKey): DkimWriteResult => {
    const r = check(k);
    if (r === "ok") insert(k);
    return r;
  });
  const rotate = db.transaction((k: NewDkimKey, retireAt: number): { result: DkimWriteResult; retired: string[] } => {
    const r = check(k);
    if (r !== "ok") return { result: r, retired: [] };
    const retired = s.retiring.all(k.domain, k.algorithm) as string[];
    s.retire.run(retireAt, k.domain, k.algorithm);
    insert(k);
    return { result: r, retired };
  });
  return {
    addDkimKey: (k: NewDkimKey) => add.immediate(k),
    rotateDkimKey: (k: NewDkimKey, retireAt: number) => rotate.immediate(k, retireAt),
    expireDkimKeys: (now: number): number => s.expire.run(now).changes,
    removeDkimKey: (domain: string, selector: string): boolean => s.remove.run(domain, selector).changes > 0,
  };
}
