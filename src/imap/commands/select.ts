/**
 * SELECT / EXAMINE (RFC 9051 6.3.2-3, CONDSTORE and QRESYNC parameters RFC 7162 3.1.8, 3.2.5),
 * and the selected-state commands that leave or clean the mailbox: CLOSE, UNSELECT (RFC 3691),
 * EXPUNGE, UID EXPUNGE (RFC 4315).
 */
import type { CommandContext, Done, ImapSession } from "../session.js";
import { bad, no } from "../session.js";
import { atom } from "../proto/value.js";
import type { SequenceSet } from "../types.js";
import { compressUids } from "./sets.js";

const SYSTEM_FLAGS = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];

interface Qresync {
  uidValidity: number;
  modseq: number;
  knownUids?: SequenceSet;
}

export async function select(s: ImapSession, c: CommandContext): Promise<Done> {
  const { p } = c;
  const name = s.mailboxArg(p);
  let qresync: Qresync | undefined;
  if (p.maybeSp()) {
    p.list(() => {
      const k = p.keyword();
      if (k === "CONDSTORE") s.condstore = true;
      else if (k === "QRESYNC") {
        if (!s.qresync) throw bad("ENABLE QRESYNC first");
        p.sp();
        p.char("(");
        const uidValidity = p.nz32();
        p.sp();
        const modseq = p.modseq();
        let knownUids: SequenceSet | undefined;
        if (p.maybeSp() && p.peek() !== 0x28) {
          knownUids = p.sequenceSet();
          p.maybeSp();
        }
        // seq-match-data: (known-sequence-set known-uid-set); only a hint, we send all changes.
        if (p.peek() === 0x28) {
          p.char("(");
          p.sequenceSet();
          p.sp();
          p.sequenceSet();
          p.char(")");
        }
        p.char(")");
        qresync = { uidValidity, modseq, knownUids };
      } else throw bad(`Unknown SELECT parameter ${k.slice(0, 20)}`);
    }, false);
  }
  p.end();
  const readOnly = c.name === "EXAMINE";
  if (s.selected) {
    s.deselect();
    // RFC 7162 3.2.11 / RFC 9051 7.1: the end of the previous mailbox's responses.
    if (s.qresync || s.rev2) s.untagged("OK [CLOSED] Previous mailbox closed");
  }
  const info = await s.backend.getMailbox(s.account!.accountId, name);
  if (!info) throw no("No such mailbox", "NONEXISTENT");
  const sel = await s.select(info, readOnly);
  const keywords = new Set<string>();
  for (const m of sel.meta.values()) for (const f of m.flags) if (!f.startsWith("\\")) keywords.add(f);
  const flags = [...SYSTEM_FLAGS, ...[...keywords].sort()];
  s.untagged(`${sel.uids.length} EXISTS`);
  if (!s.rev2) s.untagged(`${sel.recent.size} RECENT`);
  s.untagged(`FLAGS (${flags.join(" ")})`);
  s.untagged(`OK [PERMANENTFLAGS (${readOnly ? "" : [...flags, "\\*"].join(" ")})] Flags permitted`);
  if (!s.rev2) {
    const first = sel.uids.findIndex((u) => !sel.meta.get(u)!.flags.includes("\\Seen"));
    if (first >= 0) s.untagged(`OK [UNSEEN ${first + 1}] First unseen`);
  }
  s.untagged(`OK [UIDVALIDITY ${info.uidValidity}] UIDs valid`);
  s.untagged(`OK [UIDNEXT ${Math.max(info.uidNext, (sel.uids.at(-1) ?? 0) + 1)}] Predicted next UID`);
  s.untagged(`OK [HIGHESTMODSEQ ${sel.highestModseq}] Highest`);
  if (s.rev2) {
    const attrs = info.specialUse ? [atom(info.specialUse)] : [];
    s.untaggedValues("LIST", [attrs, "/", s.encodeMailbox(info.name)]);
  }
  if (qresync && qresync.uidValidity === info.uidValidity) {
    const ch = await s.backend.changes(info.id, qresync.modseq);
    let gone = ch.expunged;
    if (qresync.knownUids && qresync.knownUids !== "$") {
      const ranges = qresync.knownUids.map((r) => [r.from === "*" ? Infinity : r.from, r.to === "*" ? Infinity : r.to].sort((a, b) => a - b) as [number, number]);
      gone = gone.filter((u) => ranges.some(([lo, hi]) => u >= lo && u <= hi));
    }
    if (gone.length) s.untagged(`VANISHED (EARLIER) ${compressUids(gone)}`);
    for (const m of ch.changed) {
      if (!sel.meta.has(m.uid)) continue;
      s.fetchResponse(m.uid, [atom("UID"), m.uid, atom("FLAGS"), s.flagsOf(m.uid), atom("MODSEQ"), [sel.meta.get(m.uid)!.modseq]]);
    }
  }
  return { code: readOnly ? "READ-ONLY" : "READ-WRITE", text: `${c.name} completed` };
}

/** CLOSE: expunge silently (unless read-only), then leave. */
export async function close(s: ImapSession): Promise<Done> {
  const sel = s.selected!;
  if (!sel.readOnly) {
    const deleted = sel.uids.filter((u) => sel.meta.get(u)!.flags.includes("\\Deleted"));
    if (deleted.length) await s.backend.expunge(sel.info.id, deleted);
  }
  s.deselect();
}

export function unselect(s: ImapSession): Done {
  s.deselect();
}

export async function expunge(s: ImapSession, c: CommandContext): Promise<Done> {
  const sel = s.selected!;
  let only: Set<number> | undefined;
  if (c.uid) {
    only = new Set(s.resolveSet(c.p.sequenceSet(), true));
  }
  c.p.end();
  if (sel.readOnly) throw no("Mailbox is read-only", "READ-ONLY");
  // Pending expunges of others first, so our sequence numbers are right.
  await s.sync(true, true);
  const deleted = sel.uids.filter((u) => sel.meta.get(u)!.flags.includes("\\Deleted") && (!only || only.has(u)));
  if (deleted.length === 0) return;
  const removed = await s.backend.expunge(sel.info.id, deleted);
  s.expunged(removed);
}
