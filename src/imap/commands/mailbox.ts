/**
 * Authenticated state, mailbox management (RFC 9051 6.3): CREATE, DELETE, RENAME, SUBSCRIBE,
 * UNSUBSCRIBE, NAMESPACE (RFC 2342), STATUS (+ SIZE RFC 8438, HIGHESTMODSEQ RFC 7162).
 */
import type { ImapMailboxInfo } from "../backend.js";
import type { CommandContext, Done, ImapSession } from "../session.js";
import { claimRecent, no } from "../session.js";
import { atom, type ImapValue } from "../proto/value.js";
import type { Parser } from "../proto/parser.js";

export async function create(s: ImapSession, c: CommandContext): Promise<Done> {
  let name = s.mailboxArg(c.p);
  // RFC 9051 6.3.4: a trailing separator is not part of the name.
  if (name.endsWith("/")) name = name.replace(/\/+$/, "");
  c.p.end();
  checkName(name);
  if (name === "INBOX") throw no("INBOX always exists", "ALREADYEXISTS");
  await s.backend.createMailbox(s.account!.accountId, name);
}

function checkName(name: string): void {
  if (name === "" || name.includes("//") || name.startsWith("/") || /[\0-\x1f\x7f]/.test(name) || name.length > 1000) throw no("Invalid mailbox name", "CANNOT");
}

export async function del(s: ImapSession, c: CommandContext): Promise<Done> {
  const name = s.mailboxArg(c.p);
  c.p.end();
  if (name === "INBOX") throw no("INBOX cannot be deleted", "CANNOT");
  if (s.selected?.info.name === name) s.deselect();
  await s.backend.deleteMailbox(s.account!.accountId, name);
}

export async function rename(s: ImapSession, c: CommandContext): Promise<Done> {
  const from = s.mailboxArg(c.p);
  c.p.sp();
  const to = s.mailboxArg(c.p).replace(/\/+$/, "");
  c.p.end();
  checkName(to);
  if (to === "INBOX") throw no("INBOX already exists", "ALREADYEXISTS");
  await s.backend.renameMailbox(s.account!.accountId, from, to);
}

export async function subscribe(s: ImapSession, c: CommandContext): Promise<Done> {
  const name = s.mailboxArg(c.p);
  c.p.end();
  await s.backend.setSubscribed(s.account!.accountId, name, c.name === "SUBSCRIBE");
}

export function namespace(s: ImapSession): Done {
  s.untaggedValues("NAMESPACE", [[["", "/"]], null, null]);
}

export const STATUS_ITEMS = ["MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "HIGHESTMODSEQ", "APPENDLIMIT"];

export function statusItemList(p: Parser): string[] {
  return p.list(() => {
    const k = p.keyword();
    if (!STATUS_ITEMS.includes(k)) p.fail(`unknown STATUS item ${k.slice(0, 20)}`);
    return k;
  }, false);
}

/** The attribute list of a STATUS response. */
export async function statusValues(s: ImapSession, info: ImapMailboxInfo, items: string[]): Promise<ImapValue[]> {
  let recent = 0;
  let deleted = 0;
  if (items.includes("DELETED") || items.includes("RECENT")) {
    const messages = await s.backend.messages(info.id);
    deleted = messages.filter((m) => m.flags.includes("\\Deleted")).length;
    recent = s.selected?.info.id === info.id ? s.selected.recent.size : claimRecent(s.backend, info.id, messages.map((m) => m.uid), false).length;
  }
  if (items.includes("HIGHESTMODSEQ")) s.condstore = true;
  const out: ImapValue[] = [];
  for (const k of items) {
    const v = k === "MESSAGES" ? info.messages : k === "RECENT" ? recent : k === "UIDNEXT" ? info.uidNext : k === "UIDVALIDITY" ? info.uidValidity : k === "UNSEEN" ? info.unseen : k === "DELETED" ? deleted : k === "SIZE" ? info.size : k === "HIGHESTMODSEQ" ? info.highestModseq : s.opts.maxMessageSize;
    out.push(atom(k), v);
  }
  return out;
}

export async function status(s: ImapSession, c: CommandContext): Promise<Done> {
  const name = s.mailboxArg(c.p);
  c.p.sp();
  const items = statusItemList(c.p);
  c.p.end();
  const info = await s.backend.getMailbox(s.account!.accountId, name);
  if (!info) throw no("No such mailbox", "NONEXISTENT");
  s.untaggedValues("STATUS", [s.encodeMailbox(info.name), await statusValues(s, info, items)]);
}
