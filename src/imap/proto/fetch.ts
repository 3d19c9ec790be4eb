/**
 * FETCH arguments (RFC 9051 6.4.5, RFC 3501 6.4.5, RFC 3516 BINARY, RFC 7162 MODSEQ and
 * CHANGEDSINCE, RFC 7162 3.2.6 VANISHED) and STORE arguments (RFC 9051 6.4.6, UNCHANGEDSINCE).
 */
import type { SectionSpec, SequenceSet } from "../types.js";
import { Parser } from "./parser.js";

export interface Partial {
  start: number;
  length: number;
}

export type FetchAtt =
  | { kind: "FLAGS" | "UID" | "INTERNALDATE" | "RFC822.SIZE" | "ENVELOPE" | "BODY" | "BODYSTRUCTURE" | "MODSEQ" | "RFC822" | "RFC822.HEADER" | "RFC822.TEXT" }
  | { kind: "section"; peek: boolean; section: SectionSpec; partial?: Partial }
  | { kind: "binary"; peek: boolean; part: number[]; partial?: Partial }
  | { kind: "binary.size"; part: number[] };

export interface FetchArgs {
  set: SequenceSet;
  atts: FetchAtt[];
  changedSince?: number;
  vanished: boolean;
}

const SIMPLE = new Set(["FLAGS", "UID", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE", "MODSEQ", "RFC822", "RFC822.HEADER", "RFC822.TEXT"]);
const MACROS: Record<string, FetchAtt["kind"][]> = {
  ALL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"],
  FAST: ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
  FULL: ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"],
};

export function parseFetch(p: Parser): FetchArgs {
  const set = p.sequenceSet();
  p.sp();
  let atts: FetchAtt[];
  if (p.peek() === 0x28) atts = p.list(() => fetchAtt(p), false);
  else {
    const macro = MACROS[p.peekUpper(5).replace(/[^A-Z].*$/, "")];
    if (macro) {
      p.keyword();
      atts = macro.map((kind) => ({ kind }) as FetchAtt);
    } else atts = [fetchAtt(p)];
  }
  let changedSince: number | undefined;
  let vanished = false;
  if (p.maybeSp()) {
    p.list(() => {
      const m = p.keyword();
      if (m === "CHANGEDSINCE") {
        p.sp();
        changedSince = p.modseq();
      } else if (m === "VANISHED") vanished = true;
      else p.fail(`unknown FETCH modifier ${m.slice(0, 20)}`);
    }, false);
  }
  p.end();
  if (vanished && changedSince === undefined) p.fail("VANISHED needs CHANGEDSINCE");
  return { set, atts, changedSince, vanished };
}

function fetchAtt(p: Parser): FetchAtt {
  // Read the name up to "[" or a delimiter: atom chars exclude "[" only after BODY/BINARY.
  const start = p.pos;
  while (/[A-Za-z0-9.]/.test(String.fromCharCode(p.peek()))) p.pos++;
  const name = p.buf.toString("latin1", start, p.pos).toUpperCase();
  if (!name) p.fail("expected a fetch attribute");
  if (p.peek() === 0x5b) {
    if (name === "BODY" || name === "BODY.PEEK") {
      p.char("[");
      const section = sectionSpec(p);
      p.char("]");
      return { kind: "section", peek: name === "BODY.PEEK", section, partial: partial(p) };
    }
    if (name === "BINARY" || name === "BINARY.PEEK" || name === "BINARY.SIZE") {
      p.char("[");
      const part = partNumbers(p);
      p.char("]");
      if (name === "BINARY.SIZE") return { kind: "binary.size", part };
      return { kind: "binary", peek: name === "BINARY.PEEK", part, partial: partial(p) };
    }
    p.fail(`unexpected "[" after ${name.slice(0, 20)}`);
  }
  if (!SIMPLE.has(name)) p.fail(`unknown fetch attribute ${name.slice(0, 30)}`);
  return { kind: name as "FLAGS" };
}

function partNumbers(p: Parser): number[] {
  const part: number[] = [];
  while (p.peek() >= 0x30 && p.peek() <= 0x39) {
    part.push(p.nz32());
    if (!p.maybeChar(".")) break;
    if (!(p.peek() >= 0x30 && p.peek() <= 0x39)) {
      p.pos--;
      break;
    }
  }
  return part;
}

/** section-spec inside [...] (RFC 9051 9: section-msgtext / section-part ["." section-text]). */
export function sectionSpec(p: Parser): SectionSpec {
  const part = partNumbers(p);
  if (p.peek() === 0x5d) return { part };
  if (part.length > 0) p.char(".");
  const start = p.pos;
  while (/[A-Za-z.]/.test(String.fromCharCode(p.peek()))) p.pos++;
  const text = p.buf.toString("latin1", start, p.pos).toUpperCase();
  switch (text) {
    case "HEADER":
    case "TEXT":
      return { part, text };
    case "MIME":
      if (part.length === 0) p.fail("MIME needs a part number");
      return { part, text };
    case "HEADER.FIELDS":
    case "HEADER.FIELDS.NOT": {
      p.sp();
      const fields = p.list(() => p.astring(), false);
      return { part, text, fields };
    }
    default:
      return p.fail("invalid section");
  }
}

function partial(p: Parser): Partial | undefined {
  if (!p.maybeChar("<")) return undefined;
  const start = p.number();
  p.char(".");
  const length = p.nz32();
  p.char(">");
  return { start, length };
}

export interface StoreArgs {
  set: SequenceSet;
  unchangedSince?: number;
  op: "add" | "remove" | "replace";
  silent: boolean;
  flags: string[];
}

export function parseStore(p: Parser): StoreArgs {
  const set = p.sequenceSet();
  p.sp();
  let unchangedSince: number | undefined;
  if (p.peek() === 0x28) {
    p.list(() => {
      const m = p.keyword();
      if (m !== "UNCHANGEDSINCE") p.fail(`unknown STORE modifier ${m.slice(0, 20)}`);
      p.sp();
      unchangedSince = p.modseq();
    }, false);
    p.sp();
  }
  const item = p.keyword();
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(item);
  if (!m) p.fail("expected FLAGS, +FLAGS or -FLAGS");
  p.sp();
  let flags: string[];
  if (p.peek() === 0x28) flags = p.flagList();
  else {
    flags = [p.flag()];
    while (p.maybeSp()) flags.push(p.flag());
  }
  p.end();
  return { set, unchangedSince, op: m[1] === "+" ? "add" : m[1] === "-" ? "remove" : "replace", silent: m[2] !== undefined, flags };
}

/** The name of a section in responses: "BODY[1.2.HEADER.FIELDS (FROM)]". */
export function sectionName(s: SectionSpec, quoteField: (f: string) => string): string {
  let inner = s.part.join(".");
  if (s.text) inner += (inner ? "." : "") + s.text;
  if (s.fields) inner += ` (${s.fields.map(quoteField).join(" ")})`;
  return inner;
}
