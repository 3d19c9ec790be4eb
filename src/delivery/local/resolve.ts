/**
 * Where a recipient address leads: local accounts and remote addresses, after aliases,
 * sub-addressing ("alice+tag@"), postmaster/abuse routing and catch-alls. Used at RCPT time
 * (unknown users are refused there, so Petrel never sends backscatter) and at delivery.
 *
 * Order for one address: exact alias, account, the same two without the "+tag", postmaster@
 * and abuse@ (RFC 5321 4.5.1, RFC 2142), then the domain's catch-all.
 */
import type { Account, Directory } from "../../store/types.js";
import { splitAddress, localKey } from "../../store/address-key.js";
import type { SrsReverse } from "../srs.js";

export interface ResolveOptions {
  /** Sub-address separator, e.g. "+"; "" disables sub-addressing. */
  separator: string;
  /** Account that receives postmaster@ and abuse@ of every local domain, if configured. */
  postmaster: string | null;
  /** Alias nesting limit. */
  maxDepth?: number;
  /** SRS (delivery/srs.ts): bounces to our SRS addresses go back to the original sender; forged ones are unknown. */
  srs?: { reverse(address: string): SrsReverse };
}

export type Resolution =
  /** Not one of our domains. */
  | { kind: "remote" }
  /** Nothing at a local domain answers to this address. */
  | { kind: "unknown" }
  /** Aliases point back at themselves with no final destination. */
  | { kind: "loop" }
  /**
   * postmaster@ or abuse@ with no mailbox behind it: RFC 5321 4.5.1 says it MUST be accepted,
   * so it is, and delivery waits until delivery.postmaster names an account.
   */
  | { kind: "unrouted" }
  | { kind: "local"; accounts: Account[]; remote: string[] };

const ROLE_ACCOUNTS = new Set(["postmaster", "abuse"]);

export async function resolveRecipient(address: string, dir: Directory, opts: ResolveOptions): Promise<Resolution> {
  const { domain } = splitAddress(address);
  if (domain === "") {
    // "<Postmaster>" without a domain (RFC 5321 4.1.1.3).
    if (!opts.postmaster) return { kind: "unrouted" };
    const admin = await resolveRecipient(opts.postmaster, dir, { ...opts, postmaster: null });
    return admin.kind === "local" ? admin : { kind: "unrouted" };
  }
  if (!(await dir.isLocalDomain(domain))) return { kind: "remote" };
  const srs = opts.srs?.reverse(address);
  if (srs?.kind === "invalid") return { kind: "unknown" };
  if (srs?.kind === "valid") return { kind: "local", accounts: [], remote: [srs.address] };
  const accounts = new Map<number, Account>();
  const remote = new Set<string>();
  const seen = new Set<string>();
  let looped = false;
  let unroutedRole = false;
  const maxDepth = opts.maxDepth ?? 10;

  const visit = async (addr: string, depth: number): Promise<boolean> => {
    const { local, domain: d } = splitAddress(addr);
    if (!(await dir.isLocalDomain(d))) {
      remote.add(addr);
      return true;
    }
    const key = `${localKey(local)}@${d.toLowerCase()}`;
    if (seen.has(key) || depth > maxDepth) {
      looped = true;
      return false;
    }
    seen.add(key);
    for (const candidate of candidates(local, opts.separator)) {
      const full = `${candidate}@${d}`;
      const targets = await dir.getAlias(full);
      if (targets) {
        let any = false;
        for (const t of targets) any = (await visit(t, depth + 1)) || any;
        return any;
      }
      const account = await dir.getAccount(full);
      if (account) {
        accounts.set(account.id, account);
        return true;
      }
    }
    if (ROLE_ACCOUNTS.has(localKey(local)) && depth === 0) {
      const admin = opts.postmaster ? await dir.getAccount(opts.postmaster) : null;
      if (admin) {
        accounts.set(admin.id, admin);
        return true;
      }
      unroutedRole = true;
    }
    const catchAll = await dir.getAlias(`@${d}`);
    if (catchAll) {
      let any = false;
      for (const t of catchAll) any = (await visit(t, depth + 1)) || any;
      return any;
    }
    return false;
  };

  const found = await visit(address, 0);
  if (!found) return { kind: looped ? "loop" : unroutedRole ? "unrouted" : "unknown" };
  return { kind: "local", accounts: [...accounts.values()], remote: [...remote] };
}

/** The local part itself, then without its "+tag" (RFC 5233 sub-addressing). */
function candidates(local: string, separator: string): string[] {
  if (!separator) return [local];
  const i = local.indexOf(separator);
  return i > 0 ? [local, local.slice(0, i)] : [local];
}
