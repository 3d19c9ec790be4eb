/**
 * APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502), literal8 (RFC 3516 4.4), UTF8 (RFC 6855
 * 4), APPENDUID (RFC 4315) and TRYCREATE. The framing reader has already bounded each literal
 * by maxMessageSize ([TOOBIG] otherwise).
 */
import type { CommandContext, Done, ImapSession } from "../session.js";
import { bad, no } from "../session.js";
import { compressUids } from "./sets.js";

interface OneMessage {
  flags: string[];
  date?: number;
  raw: Buffer;
}

export async function append(s: ImapSession, c: CommandContext): Promise<Done> {
  const { p } = c;
  const name = s.mailboxArg(p);
  const messages: OneMessage[] = [];
  while (p.maybeSp()) {
    let flags: string[] = [];
    let date: number | undefined;
    if (p.peek() === 0x28) {
      flags = p.flagList().filter((f) => f !== "\\Recent");
      p.sp();
    }
    if (p.peek() === 0x22) {
      date = p.dateTime();
      p.sp();
    }
    let raw: Buffer;
    if (p.peekUpper(5) === "UTF8 ") {
      p.keyword();
      p.sp();
      p.char("(");
      raw = p.literal(true).data;
      p.char(")");
    } else raw = p.literal(true).data;
    if (raw.length === 0) throw bad("Empty message");
    if (raw.length > s.opts.maxMessageSize) throw no("Message too big", "TOOBIG");
    messages.push({ flags, date, raw });
  }
  p.end();
  if (messages.length === 0) throw bad("APPEND needs a message");
  const accountId = s.account!.accountId;
  const target = await s.backend.getMailbox(accountId, name);
  if (!target) throw no("No such mailbox", "TRYCREATE");
  const uids: number[] = [];
  let uidValidity = target.uidValidity;
  try {
    for (const m of messages) {
      const r = await s.backend.append(accountId, name, m.raw, m.flags, m.date);
      uids.push(r.uid);
      uidValidity = r.uidValidity;
    }
  } catch (err) {
    // RFC 3502: MULTIAPPEND is all or nothing.
    if (uids.length) await s.backend.expunge(target.id, uids).catch((e: unknown) => s.log.error({ err: e }, "MULTIAPPEND rollback failed"));
    throw err;
  }
  if (s.selected?.info.id === target.id) s.selected.dirty = true;
  return { code: `APPENDUID ${uidValidity} ${compressUids(uids)}`, text: "APPEND completed" };
}
