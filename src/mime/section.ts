/** IMAP section numbers (RFC 3501 6.4.5) resolved against a parsed tree. */
import type { MimePart } from "./types.js";

const isMessage = (p: MimePart) => p.type === "message" && p.children.length === 1;

/** The parts of the tree in order (depth first), the root first. */
export function* walkParts(root: MimePart): Generator<MimePart> {
  const stack: MimePart[] = [root];
  while (stack.length > 0) {
    const p = stack.pop()!;
    yield p;
    for (let i = p.children.length - 1; i >= 0; i--) stack.push(p.children[i]!);
  }
}

/**
 * The part a section number ("1", "1.2", "2.1.3") names, or null; "" names the root. For a
 * message/rfc822 part "n", "n" itself is the part (BODY[n], BODY[n.MIME]) and "n.m" goes into the
 * encapsulated message; a non-multipart message's body is its part 1.
 */
export function findPart(root: MimePart, section: string): MimePart | null {
  if (section === "") return root;
  if (!/^[1-9][0-9]{0,8}(\.[1-9][0-9]{0,8})*$/.test(section)) return null;
  const nums = section.split(".").map(Number);
  // The top level behaves like the inside of a message part.
  let cur: MimePart | null = null;
  for (const n of nums) {
    const message: MimePart | null = cur === null ? root : isMessage(cur) ? cur.children[0]! : null;
    if (message) {
      if (message.type === "multipart") cur = message.children[n - 1] ?? null;
      else cur = n === 1 ? message : null;
    } else if (cur!.type === "multipart") {
      cur = cur!.children[n - 1] ?? null;
    } else {
      return null;
    }
    if (cur === null) return null;
  }
  return cur;
}
