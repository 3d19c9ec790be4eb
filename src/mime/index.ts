/**
 * The message parser the mail store runs once at delivery, so that IMAP never reparses: the MIME
 * tree with exact byte offsets, ENVELOPE and BODYSTRUCTURE data, and text for SEARCH.
 * Pure (no I/O), works on a Buffer, linear in its size, and never throws on any bytes.
 */
import { parseTree } from "./parser.js";
import { countAttachments, searchBody, searchHeaders } from "./search.js";
import type { ParsedMessage } from "./types.js";

export type { Envelope, MimeAddress, MimePart, ParsedMessage } from "./types.js";
export { headerLines } from "./header.js";
export { findPart, walkParts } from "./section.js";
export { MIME_LIMITS } from "./limits.js";
export { treeProblems } from "./invariants.js";

export function parseMessage(raw: Buffer): ParsedMessage {
  const { root, envelope } = parseTree(raw);
  return {
    size: raw.length,
    root,
    envelope,
    headerEnd: root.headerEnd,
    subject: envelope.subjectDecoded,
    searchHeaders: searchHeaders(raw, root.headerStart, root.headerEnd),
    searchBody: searchBody(raw, root),
    attachments: countAttachments(root),
  };
}
