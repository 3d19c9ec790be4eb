/**
 * The promises a ParsedMessage keeps about its offsets and shape, as a checker: the tests (unit
 * and property) run it on every parse, and a caller may run it to guard stored data.
 */
import { countLF, LF } from "./bytes.js";
import { findPart, walkParts } from "./section.js";
import type { MimePart, ParsedMessage } from "./types.js";

/** Every broken promise, as a sentence; empty when all hold. */
export function treeProblems(raw: Buffer, msg: ParsedMessage): string[] {
  const problems: string[] = [];
  const bad = (p: MimePart, what: string) => problems.push(`part "${p.path}" (${p.type}/${p.subtype}): ${what}`);
  const root = msg.root;
  if (msg.size !== raw.length) problems.push("size is not the message length");
  if (root.headerStart !== 0 || root.bodyEnd !== raw.length) problems.push("the root does not cover the message");
  if (msg.headerEnd !== root.bodyStart) problems.push("headerEnd is not the root's body start");

  for (const p of walkParts(root)) {
    if (!(0 <= p.headerStart && p.headerStart <= p.headerEnd && p.headerEnd === p.bodyStart && p.bodyStart <= p.bodyEnd && p.bodyEnd <= raw.length)) {
      bad(p, `offsets out of order: ${p.headerStart} ${p.headerEnd} ${p.bodyStart} ${p.bodyEnd}`);
      continue;
    }
    if (p.size !== p.bodyEnd - p.bodyStart) bad(p, "size is not bodyEnd - bodyStart");
    if (p.lines !== countLF(raw, p.bodyStart, p.bodyEnd)) bad(p, `lines ${p.lines} is not the body's LF count`);
    if (p.type !== p.type.toLowerCase() || p.subtype !== p.subtype.toLowerCase() || p.type === "" || p.subtype === "") bad(p, "type not lower case");
    if (p.encoding !== p.encoding.toUpperCase() || p.encoding === "") bad(p, "encoding not upper case");

    const message = p.type === "message" && (p.subtype === "rfc822" || p.subtype === "global");
    if (message) {
      const c = p.children[0];
      if (p.children.length !== 1 || !c) bad(p, "a message part needs exactly one child");
      else if (c.headerStart !== p.bodyStart || c.bodyEnd !== p.bodyEnd) bad(p, "the encapsulated message does not fill the body");
      if (!p.envelope) bad(p, "a message part needs an envelope");
    } else if (p.type === "multipart") {
      let prev = p.bodyStart;
      for (const c of p.children) {
        if (c.headerStart < prev || c.bodyEnd > p.bodyEnd) bad(c, "outside its parent or overlapping its sibling");
        if (c.headerStart > 0 && c.headerStart < raw.length && raw[c.headerStart - 1] !== LF) bad(c, "does not start at a line start");
        prev = c.bodyEnd;
      }
      if (p.envelope) bad(p, "a multipart has no envelope");
    } else if (p.children.length > 0 || p.envelope) {
      bad(p, "a leaf with children or an envelope");
    }

    const found = findPart(root, p.path);
    const isMultipartRoot = p.type === "multipart" && (p === root || found?.children[0] === p);
    if (!isMultipartRoot && found !== p) bad(p, `findPart("${p.path}") finds another part`);
    if (isMultipartRoot && p !== root && found?.type !== "message") bad(p, "a nested multipart root does not share its container's path");
  }
  return problems;
}
