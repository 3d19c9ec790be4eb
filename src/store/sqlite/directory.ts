/**
 * Domains, accounts and aliases in SQLite. Read on every lookup, so that the CLI's changes
 * apply to a running server at once.
 */
import type { Db } from "./database.js";
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
  enabled: number;
  created_at: number;
  password_hash: string;
  send_as: string;
  send_limits: string | null;
  scram_sha256: string | null;
}

const toAccount = (r: AccountRow): Account => ({ id: r.id, address: r.address, displayName: r.display_name, quota: r.quota, usedBytes: r.used_bytes, enabled: r.enabled === 1, createdAt: r.created_at, sendAs: parseJson<string[]>(r.send_as, []), sendLimits: parseJson<SendLimitsOverride>(r.send_limits, {}) });

export class SqliteDirectory implements Directory {
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      isLocal: db.prepare("SELECT 1 FROM domains WHERE ascii = ?").pluck(),
      addDomain: db.prepare("INSERT INTO domains (name, ascii, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
      getDomain: db.prepare("SELECT name, created_at FROM domains WHERE ascii = ?"),
      removeDomain: db.prepare("DELETE FROM domains WHERE ascii = ?"),
      listDomains: db.prepare("SELECT name, created_at FROM domains ORDER BY name"),
      domainUse: db.prepare("SELECT (SELECT count(*) FROM accounts WHERE domain_ascii = ?) + (SELECT count(*) FROM aliases WHERE domain_ascii = ?)").pluck(),
      addAccount: db.prepare("INSERT INTO accounts (key, address, domain_ascii, display_name, password_hash, quota, created_at, scram_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
      addInbox: db.prepare("INSERT INTO mailboxes (account_id, name, special_use, uid_validity) VALUES (?, 'INBOX', NULL, ?)"),
      accountByKey: db.prepare("SELECT * FROM accounts WHERE key = ?"),
      accountById: db.prepare("SELECT * FROM accounts WHERE id = ?"),
      accountsAll: db.prepare("SELECT * FROM accounts ORDER BY domain_ascii, key"),
      accountsOf: db.prepare("SELECT * FROM accounts WHERE domain_ascii = ? ORDER BY key"),
      removeAccount: db.prepare("DELETE FROM accounts WHERE key = ?"),
      addAlias: db.prepare("INSERT INTO aliases (source_key, source, domain_ascii, target, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"),
      aliasTargets: db.prepare("SELECT target FROM aliases WHERE source_key = ? ORDER BY created_at, target").pluck(),
      removeAlias: db.prepare("DELETE FROM aliases WHERE source_key = ?"),
      removeAliasTarget: db.prepare("DELETE FROM aliases WHERE source_key = ? AND target = ?"),
      aliasesAll: db.prepare("SELECT source_key, source, target FROM aliases ORDER BY domain_ascii, source_key, created_at"),
      aliasesOf: db.prepare("SELECT source_key, source, target FROM aliases WHERE domain_ascii = ? ORDER BY source_key, created_at"),
    };
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    return this.stmt.isLocal.get(asciiDomain(domain)) !== undefined;
  }

  async addDomain(name: string): Promise<Domain> {
    const ascii = asciiDomain(name);
    this.stmt.addDomain.run(unicodeDomain(ascii), ascii, Date.now());
    const row = this.stmt.getDomain.get(ascii) as { name: string; created_at: number };
    return { name: row.name, createdAt: row.created_at };
  }

  async removeDomain(name: string, opts: { force?: boolean } = {}): Promise<boolean> {
    const ascii = asciiDomain(name);
    const used = this.stmt.domainUse.get(ascii, ascii) as number;
    if (used > 0 && !opts.force) throw new DirectoryError("IN_USE", `domain ${name} still has ${used} account(s) or alias(es); use --force to remove them too`);
    return this.stmt.removeDomain.run(ascii).changes > 0;
  }

  async listDomains(): Promise<Domain[]> {
    return (this.stmt.listDomains.all() as { name: string; created_at: number }[]).map((r) => ({ name: r.name, createdAt: r.created_at }));
  }

  async addAccount(a: NewAccount): Promise<Account> {
    const { local, domain } = splitAddress(a.address);
    const ascii = asciiDomain(domain);
    if (this.stmt.isLocal.get(ascii) === undefined) throw new DirectoryError("NO_DOMAIN", `${domain} is not a local domain (add it with: petrel domain add ${domain})`);
    const key = addressKey(a.address);
    if (this.stmt.accountByKey.get(key)) throw new DirectoryError("EXISTS", `account ${a.address} already exists`);
    const now = Date.now();
    const address = `${local}@${unicodeDomain(ascii)}`;
    const id = this.db.transaction(() => {
      const id = Number(this.stmt.addAccount.run(key, address, ascii, a.displayName ?? null, a.passwordHash, a.quota ?? null, now, a.scramSha256 ?? null).lastInsertRowid);
      this.stmt.addInbox.run(id, newUidValidity(now));
      this.db.prepare("INSERT INTO subscriptions (account_id, name) VALUES (?, 'INBOX')").run(id);
      return id;
    }).immediate();
    return toAccount(this.stmt.accountById.get(id) as AccountRow);
  }

  async getAccount(address: string): Promise<Account | null> {
    const r = this.stmt.accountByKey.get(addressKey(address)) as AccountRow | undefined;
    return r ? toAccount(r) : null;
  }

  async getAccountById(id: number): Promise<Account | null> {
    const r = this.stmt.accountById.get(id) as AccountRow | undefined;
    return r ? toAccount(r) : null;
  }

  async listAccounts(domain?: string): Promise<Account[]> {
    const rows = (domain === undefined ? this.stmt.accountsAll.all() : this.stmt.accountsOf.all(asciiDomain(domain))) as AccountRow[];
    return rows.map(toAccount);
  }

  async updateAccount(address: string, patch: AccountPatch): Promise<boolean> {
    const sets: string[] = [];
    const values: unknown[] = [];
    if (patch.displayName !== undefined) (sets.push("display_name = ?"), values.push(patch.displayName));
    if (patch.passwordHash !== undefined) (sets.push("password_hash = ?"), values.push(patch.passwordHash));
    if (patch.scramSha256 !== undefined) (sets.push("scram_sha256 = ?"), values.push(patch.scramSha256));
    if (patch.quota !== undefined) (sets.push("quota = ?"), values.push(patch.quota));
    if (patch.enabled !== undefined) (sets.push("enabled = ?"), values.push(patch.enabled ? 1 : 0));
    if (patch.sendAs !== undefined) (sets.push("send_as = ?"), values.push(JSON.stringify(patch.sendAs)));
    if (patch.sendLimits !== undefined) (sets.push("send_limits = ?"), values.push(JSON.stringify(patch.sendLimits)));
    if (sets.length === 0) return (await this.getAccount(address)) !== null;
    return this.db.prepare(`UPDATE accounts SET ${sets.join(", ")} WHERE key = ?`).run(...values, addressKey(address)).changes > 0;
  }

  async removeAccount(address: string): Promise<boolean> {
    return this.stmt.removeAccount.run(addressKey(address)).changes > 0;
  }

  async credentials(address: string): Promise<Credentials | null> {
    const r = this.stmt.accountByKey.get(addressKey(address)) as AccountRow | undefined;
    return r ? { account: toAccount(r), passwordHash: r.password_hash, ...(r.scram_sha256 ? { scramSha256: r.scram_sha256 } : {}) } : null;
  }

  async addAlias(source: string, targets: readonly string[]): Promise<Alias> {
    const { domain } = splitAddress(source);
    const ascii = asciiDomain(domain);
    if (this.stmt.isLocal.get(ascii) === undefined) throw new DirectoryError("NO_DOMAIN", `${domain} is not a local domain`);
    if (targets.length === 0) throw new DirectoryError("INVALID", "an alias needs at least one target");
    const key = addressKey(source);
    const now = Date.now();
    this.db.transaction(() => {
      targets.forEach((t, i) => this.stmt.addAlias.run(key, source, ascii, t, now + i));
    }).immediate();
    return { source, targets: this.stmt.aliasTargets.all(key) as string[] };
  }

  async removeAlias(source: string, target?: string): Promise<boolean> {
    const key = addressKey(source);
    return (target === undefined ? this.stmt.removeAlias.run(key) : this.stmt.removeAliasTarget.run(key, target)).changes > 0;
  }

  async getAlias(source: string): Promise<string[] | null> {
    const t = this.stmt.aliasTargets.all(addressKey(source)) as string[];
    return t.length ? t : null;
  }

  async listAliases(domain?: string): Promise<Alias[]> {
    const rows = (domain === undefined ? this.stmt.aliasesAll.all() : this.stmt.aliasesOf.all(asciiDomain(domain))) as { source_key: string; source: string; target: string }[];
    return groupAliases(rows);
  }
}
