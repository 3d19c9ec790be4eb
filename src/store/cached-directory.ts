/**
 * A Directory with a short-lived cache for the lookups every message makes (local domain?
 * account? alias?), so that RCPT checks and delivery do not query the database several times
 * per recipient. Changes made through this object clear the cache at once; changes made by
 * another process (the CLI, another node) are seen within `ttlMs`.
 */
import type { Account, AccountPatch, Alias, Credentials, Directory, Domain, NewAccount } from "./types.js";
import { addressKey } from "./address-key.js";
import { asciiDomain } from "./domain-name.js";

interface Entry<T> {
  value: T;
  until: number;
}

export class CachedDirectory implements Directory {
  private domains = new Map<string, Entry<boolean>>();
  private accounts = new Map<string, Entry<Account | null>>();
  private aliases = new Map<string, Entry<string[] | null>>();

  constructor(
    private readonly inner: Directory,
    private readonly ttlMs = 1000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  private async cached<T>(map: Map<string, Entry<T>>, key: string, load: () => Promise<T>): Promise<T> {
    const t = this.now();
    const hit = map.get(key);
    if (hit && hit.until > t) return hit.value;
    const value = await load();
    if (map.size >= this.maxEntries) map.clear();
    map.set(key, { value, until: t + this.ttlMs });
    return value;
  }

  private invalidate(): void {
    this.domains.clear();
    this.accounts.clear();
    this.aliases.clear();
  }

  isLocalDomain(domain: string): Promise<boolean> {
    return this.cached(this.domains, asciiDomain(domain), () => this.inner.isLocalDomain(domain));
  }

  getAccount(address: string): Promise<Account | null> {
    return this.cached(this.accounts, addressKey(address), () => this.inner.getAccount(address));
  }

  getAlias(source: string): Promise<string[] | null> {
    return this.cached(this.aliases, addressKey(source), () => this.inner.getAlias(source));
  }

  // Everything else goes straight through; writes clear the cache.
  getAccountById(id: number): Promise<Account | null> {
    return this.inner.getAccountById(id);
  }
  listDomains(): Promise<Domain[]> {
    return this.inner.listDomains();
  }
  listAccounts(domain?: string): Promise<Account[]> {
    return this.inner.listAccounts(domain);
  }
  listAliases(domain?: string): Promise<Alias[]> {
    return this.inner.listAliases(domain);
  }
  credentials(address: string): Promise<Credentials | null> {
    return this.inner.credentials(address);
  }
  async addDomain(name: string): Promise<Domain> {
    this.invalidate();
    return this.inner.addDomain(name);
  }
  async removeDomain(name: string, opts?: { force?: boolean }): Promise<boolean> {
    this.invalidate();
    return this.inner.removeDomain(name, opts);
  }
  async addAccount(a: NewAccount): Promise<Account> {
    this.invalidate();
    return this.inner.addAccount(a);
  }
  async updateAccount(address: string, patch: AccountPatch): Promise<boolean> {
    this.invalidate();
    return this.inner.updateAccount(address, patch);
  }
  async removeAccount(address: string): Promise<boolean> {
    this.invalidate();
    return this.inner.removeAccount(address);
  }
  async addAlias(source: string, targets: readonly string[]): Promise<Alias> {
    this.invalidate();
    return this.inner.addAlias(source, targets);
  }
  async removeAlias(source: string, target?: string): Promise<boolean> {
    this.invalidate();
    return this.inner.removeAlias(source, target);
  }
}
