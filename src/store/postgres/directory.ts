/**
 * Domains, accounts and aliases in PostgreSQL. Read on every lookup, so that a change made on
 * one node (or by the CLI) applies to every node at once.
 */
import { pgCode, transaction, type Pool } from "./database.js";
import { DirectoryError, type Account, type AccountPatch, type Alias, type Credentials, type Directory, type Domain, type NewAccount, type SendLimitsOverride } from "../types.js";
import { groupAliases, parseJson } from "../rows.js";
import { asciiDomain, unicodeDomain } from "../domain-name.js";
import { addressKey, splitAddress } from "../address-key.js";
import { newUidValidity } from "../uid-validity.js";

interface AccountRow {
  id: number;
  address: string;
  display_name: string | null;
  quota: number | null;
  used_bytes: number;
  enabled: boolean;
  created_at: number;
  password_hash: string;
  send_as: string;
  send_limits: string | null;
  scram_sha256: string | null;
}

const toAccount = (r: AccountRow): Account => ({ id: r.id, address: r.address, displayName: r.display_name, quota: r.quota, usedBytes: r.used_bytes, enabled: r.enabled, createdAt: r.created_at, sendAs: parseJson<string[]>(r.send_as, []), sendLimits: parseJson<SendLimitsOverride>(r.send_limits, {}) });

/** Named columns, not *: a prepared statement keeps working while another node adds a column. */
const ACCOUNT_SELECT = "SELECT id, address, display_name, quota, used_bytes, enabled, created_at, password_hash, send_as, send_limits, scram_sha256 FROM accounts";

const UNIQUE_VIOLATION = "23505";

export class PgDirectory implements Directory {
  constructor(private readonly pool: Pool) {}

  private async one<T extends object>(sql: string, params: unknown[], name?: string): Promise<T | undefined> {
    return (await this.pool.query<T>(name === undefined ? { text: sql, values: params } : { name, text: sql, values: params })).rows[0];
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    return (await this.one("SELECT 1 FROM domains WHERE ascii = $1", [asciiDomain(domain)], "petrel.dir.domain")) !== undefined;
  }

  async addDomain(name: string): Promise<Domain> {
    const ascii = asciiDomain(name);
    await this.pool.query("INSERT INTO domains (name, ascii, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", [unicodeDomain(ascii), ascii, Date.now()]);
    const row = (await this.one<{ name: string; created_at: number }>("SELECT name, created_at FROM domains WHERE ascii = $1", [ascii]))!;
    return { name: row.name, createdAt: row.created_at };
  }

  async removeDomain(name: string, opts: { force?: boolean } = {}): Promise<boolean> {
    const ascii = asciiDomain(name);
    return transaction(this.pool, async (c) => {
      // The row lock keeps accounts and aliases from being added (their foreign key) meanwhile.
      if ((await c.query("SELECT 1 FROM domains WHERE ascii = $1 FOR UPDATE", [ascii])).rowCount === 0) return false;
      const used = (await c.query<{ n: number }>("SELECT (SELECT count(*) FROM accounts WHERE domain_ascii = $1) + (SELECT count(*) FROM aliases WHERE domain_ascii = $1) AS n", [ascii])).rows[0]!.n;
      if (used > 0 && !opts.force) throw new DirectoryError("IN_USE", `domain ${name} still has ${used} account(s) or alias(es); use --force to remove them too`);
      return ((await c.query("DELETE FROM domains WHERE ascii = $1", [ascii])).rowCount ?? 0) > 0;
    });
  }

  async listDomains(): Promise<Domain[]> {
    const { rows } = await this.pool.query<{ name: string; created_at: number }>("SELECT name, created_at FROM domains ORDER BY name");
    return rows.map((r) => ({ name: r.name, createdAt: r.created_at }));
  }

  async addAccount(a: NewAccount): Promise<Account> {
    const { local, domain } = splitAddress(a.address);
    const ascii = asciiDomain(domain);
    const key = addressKey(a.address);
    const now = Date.now();
    try {
      const row = await transaction(this.pool, async (c) => {
        // FOR KEY SHARE: the domain cannot be removed before this account commits.
        if ((await c.query("SELECT 1 FROM domains WHERE ascii = $1 FOR KEY SHARE", [ascii])).rowCount === 0) throw new DirectoryError("NO_DOMAIN", `${domain} is not a local domain (add it with: petrel domain add ${domain})`);
        const r = await c.query<AccountRow>(
          `INSERT INTO accounts (key, address, domain_ascii, display_name, password_hash, quota, created_at, scram_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
          [key, `${local}@${unicodeDomain(ascii)}`, ascii, a.displayName ?? null, a.passwordHash, a.quota ?? null, now, a.scramSha256 ?? null],
        );
        await c.query("INSERT INTO mailboxes (account_id, name, special_use, uid_validity) VALUES ($1, 'INBOX', NULL, $2)", [r.rows[0]!.id, newUidValidity(now)]);
        await c.query("INSERT INTO subscriptions (account_id, name) VALUES ($1, 'INBOX')", [r.rows[0]!.id]);
        return r.rows[0]!;
      });
      return toAccount(row);
    } catch (e) {
      if (pgCode(e) === UNIQUE_VIOLATION) throw new DirectoryError("EXISTS", `account ${a.address} already exists`);
      throw e;
    }
  }

  async getAccount(address: string): Promise<Account | null> {
    const r = await this.one<AccountRow>(`${ACCOUNT_SELECT} WHERE key = $1`, [addressKey(address)], "petrel.dir.account");
    return r ? toAccount(r) : null;
  }

  async getAccountById(id: number): Promise<Account | null> {
    const r = await this.one<AccountRow>("SELECT * FROM accounts WHERE id = $1", [id]);
    return r ? toAccount(r) : null;
  }

  async listAccounts(domain?: string): Promise<Account[]> {
    const { rows } =
      domain === undefined
        ? await this.pool.query<AccountRow>("SELECT * FROM accounts ORDER BY domain_ascii, key")
        : await this.pool.query<AccountRow>("SELECT * FROM accounts WHERE domain_ascii = $1 ORDER BY key", [asciiDomain(domain)]);
    return rows.map(toAccount);
  }

  async updateAccount(address: string, patch: AccountPatch): Promise<boolean> {
    const sets: string[] = [];
    const values: unknown[] = [];
    const set = (column: string, value: unknown) => (values.push(value), sets.push(`${column} = $${values.length}`));
    if (patch.displayName !== undefined) set("display_name", patch.displayName);
    if (patch.passwordHash !== undefined) set("password_hash", patch.passwordHash);
    if (patch.scramSha256 !== undefined) set("scram_sha256", patch.scramSha256);
    if (patch.quota !== undefined) set("quota", patch.quota);
    if (patch.enabled !== undefined) set("enabled", patch.enabled);
    if (patch.sendAs !== undefined) set("send_as", JSON.stringify(patch.sendAs));
    if (patch.sendLimits !== undefined) set("send_limits", JSON.stringify(patch.sendLimits));
    if (sets.length === 0) return (await this.getAccount(address)) !== null;
    values.push(addressKey(address));
    return ((await this.pool.query(`UPDATE accounts SET ${sets.join(", ")} WHERE key = $${values.length}`, values)).rowCount ?? 0) > 0;
  }

  async removeAccount(address: string): Promise<boolean> {
    // Mailboxes and messages go with it (ON DELETE CASCADE).
    return ((await this.pool.query("DELETE FROM accounts WHERE key = $1", [addressKey(address)])).rowCount ?? 0) > 0;
  }

  async credentials(address: string): Promise<Credentials | null> {
    const r = await this.one<AccountRow>(`${ACCOUNT_SELECT} WHERE key = $1`, [addressKey(address)], "petrel.dir.account");
    return r ? { account: toAccount(r), passwordHash: r.password_hash, ...(r.scram_sha256 ? { scramSha256: r.scram_sha256 } : {}) } : null;
  }

  async addAlias(source: string, targets: readonly string[]): Promise<Alias> {
    const { domain } = splitAddress(source);
    const ascii = asciiDomain(domain);
    const key = addressKey(source);
    const now = Date.now();
    await transaction(this.pool, async (c) => {
      if ((await c.query("SELECT 1 FROM domains WHERE ascii = $1 FOR KEY SHARE", [ascii])).rowCount === 0) throw new DirectoryError("NO_DOMAIN", `${domain} is not a local domain`);
      if (targets.length === 0) throw new DirectoryError("INVALID", "an alias needs at least one target");
      await c.query(
        `INSERT INTO aliases (source_key, source, domain_ascii, target, created_at)
         SELECT $1, $2, $3, t.target, $4 + t.n - 1 FROM unnest($5::text[]) WITH ORDINALITY AS t (target, n)
         ON CONFLICT DO NOTHING`,
        [key, source, ascii, now, targets],
      );
    });
    return { source, targets: (await this.getAlias(source)) ?? [] };
  }

  async removeAlias(source: string, target?: string): Promise<boolean> {
    const key = addressKey(source);
    const r = target === undefined ? await this.pool.query("DELETE FROM aliases WHERE source_key = $1", [key]) : await this.pool.query("DELETE FROM aliases WHERE source_key = $1 AND target = $2", [key, target]);
    return (r.rowCount ?? 0) > 0;
  }

  async getAlias(source: string): Promise<string[] | null> {
    const { rows } = await this.pool.query<{ target: string }>({ name: "petrel.dir.alias", text: "SELECT target FROM aliases WHERE source_key = $1 ORDER BY created_at, target", values: [addressKey(source)] });
    return rows.length ? rows.map((r) => r.target) : null;
  }

  async listAliases(domain?: string): Promise<Alias[]> {
    const { rows } =
      domain === undefined
        ? await this.pool.query<{ source_key: string; source: string; target: string }>("SELECT source_key, source, target FROM aliases ORDER BY domain_ascii, source_key, created_at, target")
        : await this.pool.query<{ source_key: string; source: string; target: string }>("SELECT source_key, source, target FROM aliases WHERE domain_ascii = $1 ORDER BY source_key, created_at, target", [asciiDomain(domain)]);
    return groupAliases(rows);
  }
}
