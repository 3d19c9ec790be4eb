/**
 * FETCH and UID FETCH (RFC 9051 6.4.5, BINARY RFC 3516, CONDSTORE/QRESYNC RFC 7162 3.1.4, 3.2.6)
 * and STORE / UID STORE (RFC 9051 6.4.6, UNCHANGEDSINCE RFC 7162 3.1.3).
 *
 * Message octets are loaded one message at a time and written out before the next is read;
 * output is drained when the peer is slow.
 */
import type { ImapMessageContent } from "../backend.js";
import type { CommandContext, Done, ImapSession } from "../session.js";
import { bad, no } from "../session.js";
import { parseFetch, parseStore, sectionName, type FetchAtt } from "../proto/fetch.js";
import { formatDateTime, isAtom } from "../proto/parser.js";
import { atom, Literal8, type ImapValue } from "../proto/value.js";
import { envelopeValue } from "../fetch/envelope.js";
import { bodyStructureValue } from "../fetch/bodystructure.js";
import { binaryBytes, sectionBytes } from "../fetch/section.js";
import type { ParsedMessage } from "../../mime/index.js";
import { compressUids } from "./sets.js";

/** Output buffered before it is written to the socket during a FETCH. */
const FLUSH_AT = 64 * 1024;
/** Messages answered between two yields to the event loop. */
const YIELD_EVERY = 500;

const NEEDS_CONTENT = new Set(["RFC822", "RFC822.HEADER", "RFC822.TEXT", "section", "binary", "binary.size"]);
const NEEDS_STRUCTURE = new Set(["ENVELOPE", "BODY", "BODYSTRUCTURE"]);

/** Does this attribute set \Seen (RFC 9051 6.4.5: BODY[...] without PEEK, RFC822, RFC822.TEXT)? */
function setsSeen(a: FetchAtt): boolean {
  return ((a.kind === "section" || a.kind === "binary") && !a.peek) || a.kind === "RFC822" || a.kind === "RFC822.TEXT";
}

export async function fetch(s: ImapSession, c: CommandContext): Promise<Done> {
  const args = parseFetch(c.p);
  const sel = s.selected!;
  if (args.vanished && (!c.uid || !s.qresync)) throw bad("VANISHED needs UID FETCH and ENABLE QRESYNC");
  const atts = [...args.atts];
  const has = (k: string) => atts.some((a) => a.kind === k);
  if (c.uid && !has("UID")) atts.unshift({ kind: "UID" });
  if (args.changedSince !== undefined || has("MODSEQ")) s.condstore = true;
  if (args.changedSince !== undefined && !has("MODSEQ")) atts.push({ kind: "MODSEQ" });
  let uids = s.resolveSet(args.set, c.uid);
  if (args.vanished) {
    const ch = await s.backend.changes(sel.info.id, args.changedSince!);
    const asked = new Set(uids);
    // RFC 7162 3.2.6: UIDs in the requested range that were expunged since the mod-sequence.
    const ranges = args.set === "$" ? [] : args.set.map((r) => [r.from === "*" ? Infinity : r.from, r.to === "*" ? Infinity : r.to].sort((a, b) => a - b));
    const gone = ch.expunged.filter((u) => !asked.has(u) && (ranges.some(([lo, hi]) => u >= lo! && u <= hi!) || false));
    if (gone.length) s.untagged(`VANISHED (EARLIER) ${compressUids(gone)}`);
  }
  if (args.changedSince !== undefined) uids = uids.filter((u) => (sel.meta.get(u)?.modseq ?? 0) > args.changedSince!);
  // \Seen first, so that the FLAGS we send are the new ones.
  const seenFlagChanged = new Set<number>();
  if (!sel.readOnly && atts.some(setsSeen)) {
    const unseen = uids.filter((u) => !sel.meta.get(u)!.flags.includes("\\Seen"));
    if (unseen.length) {
      const r = await s.backend.storeFlags(sel.info.id, unseen, "add", ["\\Seen"]);
      for (const u of r.updated) {
        const m = sel.meta.get(u.uid);
        if (m) sel.meta.set(u.uid, { ...m, flags: u.flags, modseq: u.modseq });
        seenFlagChanged.add(u.uid);
      }
    }
  }
  const needContent = atts.some((a) => NEEDS_CONTENT.has(a.kind));
  const needStructure = atts.some((a) => NEEDS_STRUCTURE.has(a.kind));
  let failedCte = false;
  let sinceYield = 0;
  for (const uid of uids) {
    const meta = sel.meta.get(uid);
    if (!meta) continue;
    let content: ImapMessageContent | null = null;
    let parsed: ParsedMessage | null = null;
    if (needContent) {
      content = await s.backend.content(sel.info.id, uid);
      if (!content) continue; // expunged meanwhile: reported later
      parsed = content.parsed;
    } else if (needStructure) {
      parsed = await s.backend.structure(sel.info.id, uid);
      if (!parsed) continue;
    }
    const items: ImapValue[] = [];
    for (const a of atts) {
      const r = item(s, a, uid, content, parsed);
      if (r === "unknown-cte") {
        failedCte = true;
        continue;
      }
      items.push(...r);
    }
    if (seenFlagChanged.has(uid) && !has("FLAGS")) items.push(atom("FLAGS"), s.flagsOf(uid));
    s.fetchResponse(uid, items);
    // One socket write per ~64 KiB rather than per message, and a turn of the event loop now
    // and then, so that FETCH 1:* on a large mailbox does not hold up every other session.
    if (s.pendingOutput >= FLUSH_AT) await s.flushAndDrain();
    else if (++sinceYield >= YIELD_EVERY) {
      sinceYield = 0;
      await new Promise((r) => setImmediate(r));
    }
  }
  await s.flushAndDrain();
  if (failedCte) throw no("Unknown Content-Transfer-Encoding", "UNKNOWN-CTE");
}

function partialOf(data: Buffer, partial: { start: number; length: number } | undefined): Buffer {
  if (!partial) return data;
  return data.subarray(Math.min(partial.start, data.length), Math.min(partial.start + partial.length, data.length));
}

function field(f: string): string {
  return isAtom(f) ? f : JSON.stringify(f);
}

function item(s: ImapSession, a: FetchAtt, uid: number, content: ImapMessageContent | null, parsed: ParsedMessage | null): ImapValue[] | "unknown-cte" {
  const sel = s.selected!;
  const meta = sel.meta.get(uid)!;
  switch (a.kind) {
    case "UID":
      return [atom("UID"), uid];
    case "FLAGS":
      return [atom("FLAGS"), s.flagsOf(uid)];
    case "INTERNALDATE":
      return [atom("INTERNALDATE"), formatDateTime(meta.internalDate)];
    case "RFC822.SIZE":
      return [atom("RFC822.SIZE"), meta.size];
    case "MODSEQ":
      return [atom("MODSEQ"), [meta.modseq]];
    case "ENVELOPE":
      return [atom("ENVELOPE"), envelopeValue(parsed!.envelope)];
    case "BODY":
      return [atom("BODY"), bodyStructureValue(parsed!, false)];
    case "BODYSTRUCTURE":
      return [atom("BODYSTRUCTURE"), bodyStructureValue(parsed!, true)];
    case "RFC822":
      return [atom("RFC822"), content!.raw];
    case "RFC822.HEADER":
      return [atom("RFC822.HEADER"), sectionBytes(content!.raw, content!.parsed, { part: [], text: "HEADER" }) ?? ""];
    case "RFC822.TEXT":
      return [atom("RFC822.TEXT"), sectionBytes(content!.raw, content!.parsed, { part: [], text: "TEXT" }) ?? ""];
    case "section": {
      const data = sectionBytes(content!.raw, content!.parsed, a.section);
      const name = `BODY[${sectionName(a.section, field)}]${a.partial ? `<${a.partial.start}>` : ""}`;
      return [atom(name), data === null ? "" : partialOf(data, a.partial)];
    }
    case "binary": {
      const data = binaryBytes(content!.raw, content!.parsed, a.part);
      if (data === "unknown-cte") return data;
      const name = `BINARY[${a.part.join(".")}]${a.partial ? `<${a.partial.start}>` : ""}`;
      if (data === null) return [atom(name), null];
      const out = partialOf(data, a.partial);
      return [atom(name), out.includes(0) ? new Literal8(out) : out];
    }
    case "binary.size": {
      const data = binaryBytes(content!.raw, content!.parsed, a.part);
      if (data === "unknown-cte") return data;
      return [atom(`BINARY.SIZE[${a.part.join(".")}]`), data === null ? 0 : data.length];
    }
  }
}

export async function store(s: ImapSession, c: CommandContext): Promise<Done> {
  const args = parseStore(c.p);
  const sel = s.selected!;
  if (sel.readOnly) throw no("Mailbox is read-only", "READ-ONLY");
  if (args.unchangedSince !== undefined) s.condstore = true;
  const flags = args.flags.filter((f) => f !== "\\Recent");
  if (flags.some((f) => f.startsWith("\\") && !["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"].includes(f))) throw bad("Unknown system flag");
  const uids = s.resolveSet(args.set, c.uid);
  if (uids.length === 0) return;
  const r = await s.backend.storeFlags(sel.info.id, uids, args.op, flags, args.unchangedSince);
  for (const u of r.updated) {
    const m = sel.meta.get(u.uid);
    if (!m) continue;
    // The view's highestModseq moves only in sync(): changes of others below our modseq are
    // still to be fetched.
    sel.meta.set(u.uid, { ...m, flags: u.flags, modseq: u.modseq });
  }
  const updated = new Set(r.updated.map((u) => u.uid));
  for (const uid of uids) {
    if (!sel.meta.has(uid)) continue;
    // RFC 7162 3.1.3: once CONDSTORE is in use, FETCH (MODSEQ) is sent even with .SILENT.
    if (updated.has(uid) && (!args.silent || s.condstore)) {
      const items: ImapValue[] = args.silent ? [] : [atom("FLAGS"), s.flagsOf(uid)];
      s.fetchResponse(uid, [...items, ...s.uidModseq(uid, c.uid)]);
    }
  }
  if (r.modified.length) {
    const set = c.uid ? r.modified : r.modified.map((u) => s.seqOf(u)).filter((n) => n > 0);
    return { code: `MODIFIED ${compressUids(set)}`, text: "Some messages were modified meanwhile" };
  }
}
