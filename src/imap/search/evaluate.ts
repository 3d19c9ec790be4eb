/**
 * SEARCH (RFC 9051 6.4.4) over a mailbox's messages. The key is compiled once into closures;
 * each message is first tried with what the session already holds (flags, sizes, dates, numbers),
 * in three-valued logic (structure keys answer "unknown" at no cost, AND is false as soon as one
 * key is false, OR true as soon as one is true), and its structure is loaded only when the answer
 * still depends on it: `SEEN BODY foo` loads only the seen messages.
 */
import type { ParsedMessage } from "../../mime/index.js";
import type { ImapMessageMeta } from "../backend.js";
import type { SearchKey } from "../types.js";
import { DAY, compareDay, dayOf, sentDay } from "./dates.js";
import { setTest } from "./sets.js";
import { headerTest, substring } from "./text.js";

export interface SearchItem {
  seq: number;
  uid: number;
  meta: ImapMessageMeta;
  recent: boolean;
}

/** false, true, or "cannot tell without the message's structure". */
const F = 0;
const T = 1;
const U = 2;
type Tri = 0 | 1 | 2;

/** A compiled key: `parsed` undefined means "not loaded yet". */
type Test = (item: SearchItem, parsed: ParsedMessage | undefined) => Tri;

/** Messages whose structure is loaded at the same time. */
const LOAD_BATCH = 16;

interface Context {
  maxSeq: number;
  maxUid: number;
  now: number;
}

const tri = (b: boolean): Tri => (b ? T : F);

/** RFC 9051 2.3.2: flags compare case-insensitively (system flags and keywords alike). */
function hasFlag(flags: readonly string[], lower: string): boolean {
  for (const f of flags) if (f.length === lower.length && f.toLowerCase() === lower) return true;
  return false;
}

/** A test on the structure only: undecided until it is loaded. */
const needs =
  (f: (parsed: ParsedMessage) => boolean): Test =>
  (_item, parsed) =>
    parsed === undefined ? U : tri(f(parsed));

function compile(key: SearchKey, ctx: Context): Test {
  switch (key.op) {
    case "all":
      return () => T;
    case "flag": {
      const lower = key.flag.toLowerCase();
      return key.set ? (it) => tri(hasFlag(it.meta.flags, lower)) : (it) => tri(!hasFlag(it.meta.flags, lower));
    }
    case "recent":
      return (it) => tri(it.recent);
    case "new":
      return (it) => tri(it.recent && !hasFlag(it.meta.flags, "\\seen"));
    case "old":
      return (it) => tri(!it.recent);
    case "seq": {
      const inSet = setTest(key.set, ctx.maxSeq);
      return (it) => tri(inSet(it.seq));
    }
    case "uid": {
      const inSet = setTest(key.set, ctx.maxUid);
      return (it) => tri(inSet(it.uid));
    }
    case "size":
      return key.cmp === "larger" ? (it) => tri(it.meta.size > key.size) : (it) => tri(it.meta.size < key.size);
    case "modseq":
      return (it) => tri(it.meta.modseq >= key.modseq);
    case "older": {
      // RFC 5032: OLDER is older than the interval, YOUNGER younger than or equal to it.
      const limit = ctx.now - key.seconds * 1000;
      return (it) => tri(it.meta.internalDate < limit);
    }
    case "younger": {
      const limit = ctx.now - key.seconds * 1000;
      return (it) => tri(it.meta.internalDate >= limit);
    }
    case "date": {
      const target = dayOf(key.date);
      if (Number.isNaN(target)) return () => F;
      const cmp = key.cmp;
      if (key.field === "internal") return (it) => tri(compareDay(cmp, Math.floor(it.meta.internalDate / DAY), target));
      // A message without a (readable) Date: field is dated by its internal date, as Dovecot does.
      return (it, parsed) => {
        if (parsed === undefined) return U;
        const date = parsed.envelope.date;
        let day = date === null ? NaN : sentDay(date);
        if (Number.isNaN(day)) day = Math.floor(it.meta.internalDate / DAY);
        return tri(compareDay(cmp, day, target));
      };
    }
    case "header":
      return needs(headerTest(key.field, key.value));
    case "body": {
      const match = substring(key.value);
      return needs((p) => match(p.searchBody));
    }
    case "text": {
      const match = substring(key.value);
      return needs((p) => match(p.searchHeaders) || match(p.searchBody));
    }
    case "not": {
      const inner = compile(key.key, ctx);
      return (it, p) => {
        const r = inner(it, p);
        return r === U ? U : r === T ? F : T;
      };
    }
    case "or": {
      const a = compile(key.a, ctx);
      const b = compile(key.b, ctx);
      return (it, p) => {
        const x = a(it, p);
        if (x === T) return T;
        const y = b(it, p);
        if (y === T) return T;
        return x === U || y === U ? U : F;
      };
    }
    case "and": {
      const tests = key.keys.map((k) => compile(k, ctx));
      if (tests.length === 1) return tests[0]!;
      return (it, p) => {
        let r: Tri = T;
        for (const t of tests) {
          const x = t(it, p);
          if (x === F) return F;
          if (x === U) r = U;
        }
        return r;
      };
    }
  }
}

/**
 * One boolean per item, in order: does the message match the key? `load` gives a message's
 * structure (null when it is gone: it then matches nothing); it is called only for messages whose
 * answer depends on it, at most LOAD_BATCH at a time. `now` (ms) anchors OLDER/YOUNGER.
 */
export async function searchMessages(
  key: SearchKey,
  items: SearchItem[],
  load: (uid: number) => Promise<ParsedMessage | null>,
  now: number,
): Promise<boolean[]> {
  let maxSeq = 0;
  let maxUid = 0;
  for (const it of items) {
    if (it.seq > maxSeq) maxSeq = it.seq;
    if (it.uid > maxUid) maxUid = it.uid;
  }
  const test = compile(key, { maxSeq, maxUid, now });
  const result = new Array<boolean>(items.length);
  const pending: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const r = test(items[i]!, undefined);
    result[i] = r === T;
    if (r === U) pending.push(i);
  }
  for (let b = 0; b < pending.length; b += LOAD_BATCH) {
    const batch = pending.slice(b, b + LOAD_BATCH);
    const loaded = await Promise.all(batch.map((i) => load(items[i]!.uid)));
    for (let k = 0; k < batch.length; k++) {
      const parsed = loaded[k];
      const i = batch[k]!;
      result[i] = parsed != null && test(items[i]!, parsed) === T;
    }
  }
  return result;
}
