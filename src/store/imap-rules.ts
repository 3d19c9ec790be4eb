/**
 * Rules both mailstore backends apply the same way: mailbox names (INBOX, hierarchy "/",
 * validity) and message flags (system flags canonical, keywords as given, no duplicates).
 */
import { MailstoreError, type FlagChange, type FlagOperation } from "./types.js";

const SEP = "/";

/**
 * RFC 9051 5.1: INBOX is case-insensitive, also as the first level of a hierarchy
 * ("inbox/x" is "INBOX/x"). Other names are kept as written.
 */
export function normalizeMailboxName(name: string): string {
  if (name.length >= 5 && name.slice(0, 5).toUpperCase() === "INBOX" && (name.length === 5 || name[5] === SEP)) return `INBOX${name.slice(5)}`;
  return name;
}

// RFC 9051 5.1: no control characters (C0, DEL, C1), no line or paragraph separator.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;

/** Bounds on a name, so that one CREATE cannot make hundreds of superior mailboxes. */
export const MAX_MAILBOX_NAME_LENGTH = 512;
export const MAX_MAILBOX_DEPTH = 16;

/**
 * The normalized name, or MailstoreError INVALID: empty, "//", leading or trailing "/",
 * controls, longer than MAX_MAILBOX_NAME_LENGTH or deeper than MAX_MAILBOX_DEPTH levels.
 */
export function checkMailboxName(name: string): string {
  if (name === "" || name.includes(SEP + SEP) || name.startsWith(SEP) || name.endsWith(SEP) || CONTROL.test(name)) {
    throw new MailstoreError("INVALID", "invalid mailbox name");
  }
  if (name.length > MAX_MAILBOX_NAME_LENGTH || name.split(SEP).length > MAX_MAILBOX_DEPTH) {
    throw new MailstoreError("INVALID", `mailbox names are limited to ${MAX_MAILBOX_NAME_LENGTH} characters and ${MAX_MAILBOX_DEPTH} levels`);
  }
  return normalizeMailboxName(name);
}

/** The superior names of a name, outermost first: "a/b/c" -> ["a", "a/b"]. */
export function superiors(name: string): string[] {
  const parts = name.split(SEP);
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join(SEP));
}

/** Whether `name` is `root` or below it. */
export function isAtOrBelow(name: string, root: string): boolean {
  return name === root || name.startsWith(root + SEP);
}

/** `name` (at or below `from`) moved to `to`. */
export function renamed(name: string, from: string, to: string): string {
  return to + name.slice(from.length);
}

const SYSTEM = new Map(["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"].map((f) => [f.toLowerCase(), f]));

/** The key flags are compared by: flags and keywords are case-insensitive (RFC 9051 2.3.2). */
const flagKey = (f: string): string => f.toLowerCase();

/**
 * Flags as stored: system flags in their canonical spelling, keywords as given, duplicates
 * removed (first spelling kept), \Recent dropped (a session property, never stored).
 */
export function canonicalFlags(flags: readonly string[]): string[] {
  const out = new Map<string, string>();
  for (const f of flags) {
    if (f === "") continue;
    const key = flagKey(f);
    if (key === "\\recent" || out.has(key)) continue;
    out.set(key, SYSTEM.get(key) ?? f);
  }
  return [...out.values()];
}

/** The flags of a message after a STORE; `current` is as stored. */
export function applyFlags(current: readonly string[], op: FlagOperation, flags: readonly string[]): string[] {
  const given = canonicalFlags(flags);
  if (op === "replace") return given;
  const have = canonicalFlags(current);
  if (op === "add") {
    const keys = new Set(have.map(flagKey));
    return [...have, ...given.filter((f) => !keys.has(flagKey(f)))];
  }
  const drop = new Set(given.map(flagKey));
  return have.filter((f) => !drop.has(flagKey(f)));
}

/** Same flags, whatever their order. */
export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(a);
  return b.every((f) => keys.has(f));
}

export const parseFlags = (stored: string): string[] => (stored ? stored.split(" ") : []);

/** Whether stored flags (or a flag list) include \Seen, compared case-insensitively. */
export function isSeen(flags: string | readonly string[]): boolean {
  return (typeof flags === "string" ? parseFlags(flags) : flags).some((f) => f.toLowerCase() === "\\seen");
}

/** The counters a set of messages adds to its mailbox's status (sizes may come back as strings from PostgreSQL bigint). */
export function tally(rows: readonly { flags: string; size: number }[]): { messages: number; unseen: number; size: number } {
  let unseen = 0;
  let size = 0;
  for (const r of rows) {
    if (!isSeen(r.flags)) unseen++;
    size += Number(r.size);
  }
  return { messages: rows.length, unseen, size };
}

/**
 * What a STORE does to these messages (both backends then write it): the new flags of those
 * that change, all with one new modseq; the UIDs refused by UNCHANGEDSINCE; and how the
 * mailbox's unseen count moves.
 */
export function planFlagChange(
  rows: readonly { uid: number; modseq: number; flags: string }[],
  change: Pick<FlagChange, "op" | "flags" | "unchangedSince">,
  modseq: number,
): { updated: { uid: number; flags: string[]; modseq: number }[]; modified: number[]; unseenDelta: number } {
  const plan = { updated: [] as { uid: number; flags: string[]; modseq: number }[], modified: [] as number[], unseenDelta: 0 };
  for (const r of rows) {
    // RFC 7162 3.1.3: a message changed since UNCHANGEDSINCE is left alone and reported.
    if (change.unchangedSince !== undefined && r.modseq > change.unchangedSince) {
      plan.modified.push(r.uid);
      continue;
    }
    const old = parseFlags(r.flags);
    const flags = applyFlags(old, change.op, change.flags);
    if (sameFlags(old, flags)) continue;
    plan.updated.push({ uid: r.uid, flags, modseq });
    // Unseen changes only when \Seen comes or goes.
    plan.unseenDelta += Number(isSeen(old)) - Number(isSeen(flags));
  }
  return plan;
}
