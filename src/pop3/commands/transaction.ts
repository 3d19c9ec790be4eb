/**
 * TRANSACTION state (RFC 1939 5, 7): STAT, LIST, RETR, DELE, NOOP, RSET, TOP, UIDL, and QUIT,
 * which enters UPDATE and removes the messages marked deleted. Message numbers are 1-based over
 * the snapshot taken at login; a deleted message is invisible until RSET.
 */
import type { DropEntry, Pop3Session } from "../session.js";
import { topOf } from "../stuffing.js";

const NUMBER = /^[0-9]{1,9}$/;

/** The message an argument names, or undefined after an -ERR reply. */
function message(s: Pop3Session, arg: string): [number, DropEntry] | undefined {
  if (!NUMBER.test(arg)) {
    s.err("invalid message number");
    return undefined;
  }
  const n = Number(arg);
  const m = n >= 1 ? s.drop[n - 1] : undefined;
  if (!m) {
    s.err("no such message");
    return undefined;
  }
  if (m.deleted) {
    s.err("message deleted");
    return undefined;
  }
  return [n, m];
}

function live(s: Pop3Session): { count: number; octets: number } {
  let count = 0;
  let octets = 0;
  for (const m of s.drop) {
    if (m.deleted) continue;
    count++;
    octets += m.size;
  }
  return { count, octets };
}

export function stat(s: Pop3Session, arg: string): void {
  if (arg !== "") return s.err("STAT takes no argument");
  const { count, octets } = live(s);
  s.ok(`${count} ${octets}`);
}

export function list(s: Pop3Session, arg: string): void {
  if (arg !== "") {
    const m = message(s, arg);
    if (m) s.ok(`${m[0]} ${m[1].size}`);
    return;
  }
  const { count, octets } = live(s);
  s.ok(`${count} messages (${octets} octets)`);
  s.drop.forEach((m, i) => {
    if (!m.deleted) s.line(`${i + 1} ${m.size}`);
  });
  s.line(".");
}

export function uidl(s: Pop3Session, arg: string): void {
  // RFC 1939 7: the unique-id is stable across sessions; ours is UIDVALIDITY-UID of the INBOX.
  const id = (m: DropEntry) => `${s.uidValidity}-${m.uid}`;
  if (arg !== "") {
    const m = message(s, arg);
    if (m) s.ok(`${m[0]} ${id(m[1])}`);
    return;
  }
  s.ok("unique-id listing follows");
  s.drop.forEach((m, i) => {
    if (!m.deleted) s.line(`${i + 1} ${id(m)}`);
  });
  s.line(".");
}

async function content(s: Pop3Session, m: DropEntry): Promise<Buffer | null> {
  const data = await s.backend.retrieve(s.account!.accountId, m.uid);
  if (!data) s.err("message was removed by another session");
  return data;
}

export async function retr(s: Pop3Session, arg: string): Promise<void> {
  const m = message(s, arg);
  if (!m) return;
  const data = await content(s, m[1]);
  if (data) s.multi(`${data.length} octets`, data);
}

export async function top(s: Pop3Session, arg: string): Promise<void> {
  const [n, lines, extra] = arg.split(" ");
  if (extra !== undefined || lines === undefined || !NUMBER.test(lines)) return s.err("Syntax: TOP msg lines");
  const m = message(s, n!);
  if (!m) return;
  const data = await content(s, m[1]);
  if (data) s.multi("top of message follows", topOf(data, Number(lines)));
}

export function dele(s: Pop3Session, arg: string): void {
  const m = message(s, arg);
  if (!m) return;
  m[1].deleted = true;
  s.ok(`message ${m[0]} deleted`);
}

export function noop(s: Pop3Session, arg: string): void {
  if (arg !== "") return s.err("NOOP takes no argument");
  s.ok("");
}

export function rset(s: Pop3Session, arg: string): void {
  if (arg !== "") return s.err("RSET takes no argument");
  for (const m of s.drop) m.deleted = false;
  const { count, octets } = live(s);
  s.ok(`maildrop has ${count} messages (${octets} octets)`);
}

/** QUIT in TRANSACTION: UPDATE state, remove what was marked, then sign off. */
export async function quit(s: Pop3Session, arg: string): Promise<void> {
  if (arg !== "") return s.err("QUIT takes no argument");
  s.state = "update";
  const uids = s.drop.filter((m) => m.deleted).map((m) => m.uid);
  s.closeAfterReplies();
  try {
    if (uids.length) await s.backend.expunge(s.account!.accountId, uids);
  } catch (err) {
    s.log.error({ err, user: s.account?.address }, "expunge failed");
    s.err("[SYS/TEMP] some deleted messages not removed");
    return;
  }
  s.log.info({ event: "expunge", user: s.account?.address, removed: uids.length }, "maildrop updated");
  s.ok(`Petrel POP3 server signing off (${uids.length} message${uids.length === 1 ? "" : "s"} deleted)`);
}
