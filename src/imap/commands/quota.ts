/**
 * QUOTA (RFC 9208): one root "" per account with the STORAGE resource in units of 1024 octets.
 * SETQUOTA is refused: limits are set by the administrator.
 */
import type { CommandContext, Done, ImapSession } from "../session.js";
import { no } from "../session.js";
import { atom } from "../proto/value.js";

async function quotaLine(s: ImapSession): Promise<boolean> {
  const q = await s.backend.quota(s.account!.accountId);
  if (q.limit === null) return false;
  s.untaggedValues("QUOTA", ["", [atom("STORAGE"), Math.ceil(q.used / 1024), Math.floor(q.limit / 1024)]]);
  return true;
}

export async function getQuota(s: ImapSession, c: CommandContext): Promise<Done> {
  const root = c.p.astring();
  c.p.end();
  if (root !== "" || !(await quotaLine(s))) throw no("No such quota root", "NONEXISTENT");
}

export async function getQuotaRoot(s: ImapSession, c: CommandContext): Promise<Done> {
  const name = s.mailboxArg(c.p);
  c.p.end();
  const info = await s.backend.getMailbox(s.account!.accountId, name);
  if (!info) throw no("No such mailbox", "NONEXISTENT");
  const q = await s.backend.quota(s.account!.accountId);
  s.untaggedValues("QUOTAROOT", q.limit === null ? [s.encodeMailbox(info.name)] : [s.encodeMailbox(info.name), ""]);
  if (q.limit !== null) await quotaLine(s);
}

export function setQuota(): Done {
  throw no("Quotas are set by the administrator", "NOPERM");
}
