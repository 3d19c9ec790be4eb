/** DKIM keys in PostgreSQL, shared by every node. */
import { transaction, type Client, type Pool } from "./database.js";
import { DirectoryError, type DkimKey, type DkimKeyStore, type NewDkimKey } from "../types.js";
import { asciiDomain } from "../domain-name.js";
import { toDkimKey, type DkimKeyRow } from "../rows-dkim.js";

const COLUMNS = "domain_ascii, selector, algorithm, private_key, public_key, state, created_at, retire_at";

export class PgDkimKeys implements DkimKeyStore {
  constructor(private readonly pool: Pool) {}

  async add(key: NewDkimKey): Promise<DkimKey> {
    const k = { ...key, domain: asciiDomain(key.domain) };
    return transaction(this.pool, async (c) => {
      await check(c, k);
      return insert(c, k);
    });
  }

  async list(domain?: string): Promise<DkimKey[]> {
    const { rows } =
      domain === undefined
        ? await this.pool.query<DkimKeyRow>(`SELECT ${COLUMNS} FROM dkim_keys ORDER BY domain_ascii, created_at DESC, selector`)
        : await this.pool.query<DkimKeyRow>(`SELECT ${COLUMNS} FROM dkim_keys WHERE domain_ascii = $1 ORDER BY created_at DESC, selector`, [asciiDomain(domain)]);
    return rows.map(toDkimKey);
  }

  async active(domain: string): Promise<DkimKey[]> {
    const { rows } = await this.pool.query<DkimKeyRow>({
      name: "petrel.dkim.active",
      text: `SELECT ${COLUMNS} FROM dkim_keys WHERE domain_ascii = $1 AND state = 'active' ORDER BY created_at DESC, selector`,
      values: [asciiDomain(domain)],
    });
    return rows.map(toDkimKey);
  }

  async rotate(key: NewDkimKey, retireAt: number): Promise<DkimKey[]> {
    const k = { ...key, domain: asciiDomain(key.domain) };
    return transaction(this.pool, async (c) => {
      await check(c, k);
      const { rows } = await c.query<DkimKeyRow>(
        `UPDATE dkim_keys SET state = 'retiring', retire_at = $1 WHERE domain_ascii = $2 AND algorithm = $3 AND state = 'active' RETURNING ${COLUMNS}`,
        [retireAt, k.domain, k.algorithm],
      );
      await insert(c, k);
      return rows.map(toDkimKey);
    });
  }

  async expire(now: number): Promise<number> {
    const r = await this.pool.query("UPDATE dkim_keys SET state = 'retired' WHERE state = 'retiring' AND retire_at <= $1", [now]);
    return r.rowCount ?? 0;
  }

  async remove(domain: string, selector: string): Promise<boolean> {
    const r = await this.pool.query("DELETE FROM dkim_keys WHERE domain_ascii = $1 AND selector = $2", [asciiDomain(domain), selector]);
    return (r.rowCount ?? 0) > 0;
  }
}

/** The domain row is locked (FOR SHARE) so that it cannot be removed meanwhile. */
async function check(c: Client, k: NewDkimKey): Promise<void> {
  if ((await c.query("SELECT 1 FROM domains WHERE ascii = $1 FOR SHARE", [k.domain])).rowCount === 0) {
    throw new DirectoryError("NO_DOMAIN", `${k.domain} is not a local domain (add it with: petrel domain add ${k.domain})`);
  }
}

async function insert(c: Client, k: NewDkimKey): Promise<DkimKey> {
  const { rows } = await c.query<DkimKeyRow>(
    `INSERT INTO dkim_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, 'active', $6, NULL) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [k.domain, k.selector, k.algorithm, k.privateKey, k.publicKey, k.createdAt],
  );
  if (!rows[0]) throw new DirectoryError("EXISTS", `${k.domain} already has a DKIM key with selector ${k.selector}`);
  return toDkimKey(rows[0]);
}
