/**
 * COPY, MOVE (RFC 6851) and their UID forms, with COPYUID (RFC 4315). MOVE reports
 * "* OK [COPYUID ...]" first, then the expunges, then the tagged OK (RFC 6851 4.3).
 */
import type { CommandContext, Done, ImapSession } from "../session.js";
import { no } from "../session.js";
import { orderedSet } from "./sets.js";

export async function copy(s: ImapSession, c: CommandContext): Promise<Done> {
  const set = c.p.sequenceSet();
  c.p.sp();
  const to = s.mailboxArg(c.p);
  c.p.end();
  const sel = s.selected!;
  const uids = s.resolveSet(set, c.uid);
  const isMove = c.name === "MOVE";
  if (isMove && sel.readOnly) throw no("Mailbox is read-only", "READ-ONLY");
  const target = await s.backend.getMailbox(s.account!.accountId, to);
  if (!target) throw no("No such mailbox", "TRYCREATE");
  if (uids.length === 0) return { text: `${isMove ? "MOVE" : "COPY"} completed, nothing to do` };
  const r = isMove ? await s.backend.move(sel.info.id, uids, s.account!.accountId, to) : await s.backend.copy(sel.info.id, uids, s.account!.accountId, to);
  const code = r.map.length ? `COPYUID ${r.uidValidity} ${orderedSet(r.map.map((m) => m[0]))} ${orderedSet(r.map.map((m) => m[1]))}` : undefined;
  if (target.id === sel.info.id) sel.dirty = true;
  if (!isMove) return { code };
  if (code) s.untagged(`OK [${code}] Moved`);
  // Pending expunges of others first, so the sequence numbers are right.
  await s.sync(true, true);
  s.expunged(r.map.map((m) => m[0]));
}
