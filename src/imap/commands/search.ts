/**
 * SEARCH and UID SEARCH (RFC 9051 6.4.4), with ESEARCH results (RFC 9051 7.3.4, RFC 4731) when
 * RETURN is given or IMAP4rev2 is enabled, SEARCHRES SAVE (RFC 5182) and the CONDSTORE MODSEQ
 * key (RFC 7162 3.1.5).
 */
import type { CommandContext, Done, ImapSession } from "../session.js";
import { no } from "../session.js";
import { parseSearch } from "../proto/search.js";
import { searchMessages, type SearchItem } from "../search/evaluate.js";
import type { SearchKey } from "../types.js";
import { compressUids } from "./sets.js";

const CHARSETS = ["UTF-8", "US-ASCII"];

/** "$" (the saved result) as a UID set the evaluator understands. */
function resolveSaved(key: SearchKey, saved: number[]): SearchKey {
  switch (key.op) {
    case "seq":
    case "uid":
      if (key.set !== "$") return key;
      return saved.length ? { op: "uid", set: saved.map((u) => ({ from: u, to: u })) } : { op: "not", key: { op: "all" } };
    case "not":
      return { op: "not", key: resolveSaved(key.key, saved) };
    case "or":
      return { op: "or", a: resolveSaved(key.a, saved), b: resolveSaved(key.b, saved) };
    case "and":
      return { op: "and", keys: key.keys.map((k) => resolveSaved(k, saved)) };
    default:
      return key;
  }
}

export async function search(s: ImapSession, c: CommandContext): Promise<Done> {
  const args = parseSearch(c.p);
  const sel = s.selected!;
  if (args.charset && !CHARSETS.includes(args.charset)) throw no("Unsupported charset", `BADCHARSET (${CHARSETS.join(" ")})`);
  if (args.usesModseq) s.condstore = true;
  const items: SearchItem[] = sel.uids.map((uid, i) => ({ seq: i + 1, uid, meta: sel.meta.get(uid)!, recent: sel.recent.has(uid) }));
  const key = resolveSaved(args.key, sel.saved);
  const matches = await searchMessages(key, items, (uid) => s.backend.structure(sel.info.id, uid), s.clock.now());
  const hits = items.filter((_, i) => matches[i]);
  const nums = hits.map((h) => (c.uid ? h.uid : h.seq));
  const highest = args.usesModseq && hits.length ? Math.max(...hits.map((h) => h.meta.modseq)) : undefined;
  const ret = args.ret ?? (s.rev2 ? ["ALL"] : undefined);
  if (!ret) {
    s.untagged(`SEARCH${nums.map((n) => " " + n).join("")}${highest !== undefined ? ` (MODSEQ ${highest})` : ""}`);
    return;
  }
  const opts = ret.length === 0 ? ["ALL"] : ret;
  if (opts.includes("SAVE")) {
    // RFC 5182 2.1: with MIN or MAX (and not ALL/COUNT), only those are saved.
    const onlyMinMax = (opts.includes("MIN") || opts.includes("MAX")) && !opts.includes("ALL") && !opts.includes("COUNT");
    sel.saved = onlyMinMax ? [...new Set([opts.includes("MIN") ? hits[0]?.uid : undefined, opts.includes("MAX") ? hits.at(-1)?.uid : undefined].filter((u): u is number => u !== undefined))] : hits.map((h) => h.uid);
    if (opts.length === 1) return;
  }
  let line = `ESEARCH (TAG "${c.tag}")${c.uid ? " UID" : ""}`;
  if (nums.length) {
    if (opts.includes("MIN")) line += ` MIN ${nums[0]}`;
    if (opts.includes("MAX")) line += ` MAX ${nums.at(-1)}`;
    if (opts.includes("ALL")) line += ` ALL ${compressUids(nums)}`;
  }
  if (opts.includes("COUNT")) line += ` COUNT ${nums.length}`;
  if (highest !== undefined) line += ` MODSEQ ${highest}`;
  s.untagged(line);
}
