/**
 * SEARCH arguments (RFC 9051 6.4.4, RFC 3501 6.4.4, RFC 4731/9051 ESEARCH RETURN, RFC 5182 SAVE,
 * RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER) into the SearchKey AST of ../types.ts.
 */
import type { SearchKey } from "../types.js";
import { Parser } from "./parser.js";

export type SearchReturn = "MIN" | "MAX" | "ALL" | "COUNT" | "SAVE";

export interface SearchArgs {
  /** Present when RETURN (...) was given (ESEARCH form); empty list means ALL. */
  ret?: SearchReturn[];
  charset?: string;
  key: SearchKey;
  /** The key uses MODSEQ (the response then carries the highest mod-sequence). */
  usesModseq: boolean;
}

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ["\\Answered", true],
  DELETED: ["\\Deleted", true],
  DRAFT: ["\\Draft", true],
  FLAGGED: ["\\Flagged", true],
  SEEN: ["\\Seen", true],
  UNANSWERED: ["\\Answered", false],
  UNDELETED: ["\\Deleted", false],
  UNDRAFT: ["\\Draft", false],
  UNFLAGGED: ["\\Flagged", false],
  UNSEEN: ["\\Seen", false],
};

const HEADER_KEYS = ["BCC", "CC", "FROM", "SUBJECT", "TO"];
const DATE_KEYS: Record<string, ["internal" | "sent", "before" | "on" | "since"]> = {
  BEFORE: ["internal", "before"],
  ON: ["internal", "on"],
  SINCE: ["internal", "since"],
  SENTBEFORE: ["sent", "before"],
  SENTON: ["sent", "on"],
  SENTSINCE: ["sent", "since"],
};

/** Parse the arguments after "SEARCH " to the end. */
export function parseSearch(p: Parser): SearchArgs {
  let ret: SearchReturn[] | undefined;
  let charset: string | undefined;
  if (p.peekUpper(7) === "RETURN ") {
    p.keyword();
    p.sp();
    ret = p.list(() => {
      const k = p.keyword();
      if (k !== "MIN" && k !== "MAX" && k !== "ALL" && k !== "COUNT" && k !== "SAVE") p.fail(`unknown search return option ${k.slice(0, 20)}`);
      return k;
    });
    p.sp();
  }
  if (p.peekUpper(8) === "CHARSET ") {
    p.keyword();
    p.sp();
    charset = p.astring().toUpperCase();
    p.sp();
  }
  const state = { modseq: false };
  const keys: SearchKey[] = [searchKey(p, state)];
  while (p.maybeSp()) keys.push(searchKey(p, state));
  p.end();
  return { ret, charset, key: keys.length === 1 ? keys[0]! : { op: "and", keys }, usesModseq: state.modseq };
}

function searchKey(p: Parser, state: { modseq: boolean }): SearchKey {
  const c = p.peek();
  if (c === 0x28) {
    p.char("(");
    p.enter();
    const keys: SearchKey[] = [searchKey(p, state)];
    while (p.maybeSp()) keys.push(searchKey(p, state));
    p.char(")");
    p.leave();
    return keys.length === 1 ? keys[0]! : { op: "and", keys };
  }
  if ((c >= 0x30 && c <= 0x39) || c === 0x2a || c === 0x24) return { op: "seq", set: p.sequenceSet() };
  const k = p.keyword();
  const flag = FLAG_KEYS[k];
  if (flag) return { op: "flag", flag: flag[0], set: flag[1] };
  if (HEADER_KEYS.includes(k)) {
    p.sp();
    return { op: "header", field: k, value: p.astring() };
  }
  const date = DATE_KEYS[k];
  if (date) {
    p.sp();
    return { op: "date", field: date[0], cmp: date[1], date: p.date() };
  }
  switch (k) {
    case "ALL":
      return { op: "all" };
    case "NEW":
      return { op: "new" };
    case "OLD":
      return { op: "old" };
    case "RECENT":
      return { op: "recent" };
    case "KEYWORD":
    case "UNKEYWORD":
      p.sp();
      return { op: "flag", flag: p.atom(), set: k === "KEYWORD" };
    case "BODY":
      p.sp();
      return { op: "body", value: p.astring() };
    case "TEXT":
      p.sp();
      return { op: "text", value: p.astring() };
    case "HEADER": {
      p.sp();
      const field = p.astring();
      p.sp();
      return { op: "header", field, value: p.astring() };
    }
    case "LARGER":
    case "SMALLER":
      p.sp();
      return { op: "size", cmp: k === "LARGER" ? "larger" : "smaller", size: p.number() };
    case "UID":
      p.sp();
      return { op: "uid", set: p.sequenceSet() };
    case "NOT":
      p.sp();
      p.enter();
      try {
        return { op: "not", key: searchKey(p, state) };
      } finally {
        p.leave();
      }
    case "OR": {
      p.sp();
      p.enter();
      const a = searchKey(p, state);
      p.sp();
      const b = searchKey(p, state);
      p.leave();
      return { op: "or", a, b };
    }
    case "OLDER":
    case "YOUNGER":
      p.sp();
      return { op: k === "OLDER" ? "older" : "younger", seconds: p.nz32() };
    case "MODSEQ": {
      // RFC 7162 3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer
      p.sp();
      if (p.peek() === 0x22) {
        p.quoted();
        p.sp();
        const t = p.keyword();
        if (t !== "PRIV" && t !== "SHARED" && t !== "ALL") p.fail("invalid MODSEQ entry type");
        p.sp();
      }
      state.modseq = true;
      return { op: "modseq", modseq: p.modseq() };
    }
    default:
      return p.fail(`unknown search key ${k.slice(0, 30)}`);
  }
}
