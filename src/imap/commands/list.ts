/**
 * LIST (RFC 9051 6.3.9 with LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154,
 * CHILDREN RFC 3348) and LSUB (RFC 3501 6.3.9). Wildcards: "*" matches anything, "%" anything
 * but the separator. Parents that exist only implicitly are listed \Noselect (\NonExistent).
 */
import type { ImapMailboxInfo } from "../backend.js";
import type { CommandContext, Done, ImapSession } from "../session.js";
import { bad } from "../session.js";
import { atom, type ImapValue } from "../proto/value.js";
import { decodeMutf7 } from "../mutf7.js";
import { statusItemList, statusValues } from "./mailbox.js";

const SEP = "/";

interface ListArgs {
  select: Set<string>;
  ret: Set<string>;
  statusItems?: string[];
  reference: string;
  patterns: string[];
  extended: boolean;
}

function parseList(s: ImapSession, c: CommandContext): ListArgs {
  const { p } = c;
  const select = new Set<string>();
  const ret = new Set<string>();
  let statusItems: string[] | undefined;
  let extended = false;
  if (p.peek() === 0x28) {
    extended = true;
    for (const o of p.list(() => p.keyword())) {
      if (!["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"].includes(o)) throw bad(`Unknown LIST selection option ${o.slice(0, 20)}`);
      select.add(o);
    }
    if (select.has("RECURSIVEMATCH") && select.size === 1) throw bad("RECURSIVEMATCH needs another selection option");
    p.sp();
  }
  const reference = decodeName(s, p.astringBytes());
  p.sp();
  let patterns: string[];
  if (p.peek() === 0x28) {
    extended = true;
    patterns = p.list(() => decodeName(s, Buffer.from(p.listMailbox(), "utf8")), false);
  } else patterns = [decodeName(s, Buffer.from(p.listMailbox(), "utf8"))];
  if (p.maybeSp()) {
    extended = true;
    if (p.keyword() !== "RETURN") throw bad("Expected RETURN");
    p.sp();
    p.list(() => {
      const o = p.keyword();
      if (o === "STATUS") {
        p.sp();
        statusItems = statusItemList(p);
      } else if (!["SUBSCRIBED", "CHILDREN", "SPECIAL-USE"].includes(o)) throw bad(`Unknown LIST return option ${o.slice(0, 20)}`);
      ret.add(o);
    });
  }
  p.end();
  return { select, ret, statusItems, reference, patterns, extended };
}

function decodeName(s: ImapSession, raw: Buffer): string {
  if (s.utf8) return raw.toString("utf8");
  const d = decodeMutf7(raw.toString("latin1"));
  if (d === null) throw bad("Invalid modified UTF-7 name");
  return d;
}

/** A pattern as a RegExp over full names (INBOX matched case-insensitively). */
export function patternRegExp(pattern: string): RegExp {
  const p = /^inbox(?=$|\/)/i.test(pattern) ? "INBOX" + pattern.slice(5) : pattern;
  let re = "";
  for (const ch of p) re += ch === "*" ? ".*" : ch === "%" ? "[^/]*" : ch.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return new RegExp(`^${re}$`, "s");
}

function canonical(reference: string, pattern: string): string {
  if (pattern.startsWith(SEP) && reference.endsWith(SEP)) return reference + pattern.slice(1);
  return reference + pattern;
}

export async function list(s: ImapSession, c: CommandContext): Promise<Done> {
  const a = parseList(s, c);
  const accountId = s.account!.accountId;
  if (a.patterns.length === 1 && a.patterns[0] === "" && !a.extended) {
    // RFC 9051 6.3.9: an empty pattern asks for the hierarchy delimiter.
    s.untaggedValues("LIST", [[atom("\\Noselect")], SEP, ""]);
    return;
  }
  const [boxes, subs] = await Promise.all([s.backend.listMailboxes(accountId), s.backend.subscriptions(accountId)]);
  const byName = new Map(boxes.map((b) => [b.name, b]));
  const subscribed = new Set(subs.map((n) => (/^inbox$/i.test(n) ? "INBOX" : n)));
  const all = new Set<string>(byName.keys());
  // RFC 5258 3.1: with SUBSCRIBED, subscriptions to mailboxes that do not exist are listed too.
  if (a.select.has("SUBSCRIBED")) for (const n of subscribed) all.add(n);
  // Implied parents: "a" when only "a/b" exists.
  for (const n of [...all]) {
    const parts = n.split(SEP);
    for (let i = 1; i < parts.length; i++) all.add(parts.slice(0, i).join(SEP));
  }
  const names = [...all].sort((x, y) => (x === "INBOX" ? -1 : y === "INBOX" ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const regs = a.patterns.filter((pt) => pt !== "").map((pt) => patternRegExp(canonical(a.reference, pt)));
  const hasChild = (n: string) => names.some((m) => m.startsWith(n + SEP) && (byName.has(m) || subscribed.has(m)));
  const showSubscribed = a.select.has("SUBSCRIBED") || a.ret.has("SUBSCRIBED");
  const rev1Plain = !a.extended;
  for (const name of names) {
    if (!regs.some((r) => r.test(name))) continue;
    const info = byName.get(name);
    const attrs: string[] = [];
    let childInfo = false;
    if (a.select.has("SUBSCRIBED") && !subscribed.has(name)) {
      // RFC 5258 3.5: with RECURSIVEMATCH a parent of a subscribed mailbox appears with CHILDINFO.
      if (a.select.has("RECURSIVEMATCH") && [...subscribed].some((m) => m.startsWith(name + SEP))) childInfo = true;
      else continue;
    }
    if (a.select.has("SPECIAL-USE") && !info?.specialUse) continue;
    if (!info) {
      const listedForSubscription = a.select.has("SUBSCRIBED") && subscribed.has(name);
      if (!hasChild(name) && !listedForSubscription) continue;
      attrs.push(rev1Plain ? "\\Noselect" : "\\NonExistent");
    }
    attrs.push(hasChild(name) ? "\\HasChildren" : "\\HasNoChildren");
    if (info?.specialUse) attrs.push(info.specialUse);
    if (showSubscribed && subscribed.has(name)) attrs.push("\\Subscribed");
    const values: ImapValue[] = [attrs.map((x) => atom(x)), SEP, s.encodeMailbox(name)];
    if (childInfo) values.push(["CHILDINFO", ["SUBSCRIBED"]]);
    s.untaggedValues("LIST", values);
    if (a.statusItems && info) {
      const fresh = (await s.backend.getMailbox(accountId, name)) ?? info;
      s.untaggedValues("STATUS", [s.encodeMailbox(name), await statusValues(s, fresh, a.statusItems)]);
    }
  }
}

/** LSUB (RFC 3501 6.3.9; deprecated in rev2 but still used by rev1 clients). */
export async function lsub(s: ImapSession, c: CommandContext): Promise<Done> {
  const reference = decodeName(s, c.p.astringBytes());
  c.p.sp();
  const pattern = decodeName(s, Buffer.from(c.p.listMailbox(), "utf8"));
  c.p.end();
  const accountId = s.account!.accountId;
  const [boxes, subs] = await Promise.all([s.backend.listMailboxes(accountId), s.backend.subscriptions(accountId)]);
  const exists = new Set(boxes.map((b: ImapMailboxInfo) => b.name));
  const re = patternRegExp(canonical(reference, pattern));
  for (const raw of [...new Set(subs)].sort()) {
    const name = /^inbox$/i.test(raw) ? "INBOX" : raw;
    if (!re.test(name)) continue;
    s.untaggedValues("LSUB", [exists.has(name) ? [] : [atom("\\Noselect")], SEP, s.encodeMailbox(name)]);
  }
}
