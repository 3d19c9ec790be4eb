/**
 * The MIME tree walk with exact byte offsets (RFC 2045, RFC 2046, RFC 5322, RFC 6532).
 *
 * One forward pass over the message: every entity reads its header, then its body up to the
 * next delimiter line of any open multipart (BoundarySet), so no byte is scanned twice for
 * boundaries, whatever the nesting. Line counts are summed from the children for the same
 * reason. Nothing here throws on any input: broken structure degrades as IMAP servers degrade it.
 */
import { readEnvelope, emptyEnvelope } from "./envelope.js";
import { BoundarySet, type Delimiter } from "./boundary.js";
import { countLF, eolBefore } from "./bytes.js";
import { readContent, type Content } from "./content.js";
import { HeaderScanner, fieldName, forEachField, type RawField } from "./header.js";
import { MIME_LIMITS } from "./limits.js";
import type { AddressBudget } from "./address.js";
import type { Envelope, MimePart } from "./types.js";

/** Header fields a part or message root needs (lower-case names). */
const WANTED = new Set([
  "content-type",
  "content-transfer-encoding",
  "content-id",
  "content-description",
  "content-md5",
  "content-disposition",
  "content-language",
  "content-location",
  "date",
  "subject",
  "from",
  "sender",
  "reply-to",
  "to",
  "cc",
  "bcc",
  "in-reply-to",
  "message-id",
]);
const WANTED_LENGTHS = new Set([...WANTED].map((n) => n.length));

interface Walk {
  raw: Buffer;
  boundaries: BoundarySet;
  headers: HeaderScanner;
  parts: number;
  addresses: AddressBudget;
}

/** Where an entity sits: a body part of a multipart, or the root of a (possibly nested) message. */
type Place = { kind: "part"; path: string; inDigest: boolean } | { kind: "root"; container: string };

interface Entity {
  part: MimePart;
  /** The delimiter that ended the entity, or null at the end of the message. */
  term: Delimiter | null;
  /** LF octets in the entity's header (the part's own `lines` counts its body). */
  headerLines: number;
  /** Set for message roots. */
  envelope?: Envelope;
}

const isMessageType = (c: Content) => c.type === "message" && (c.subtype === "rfc822" || c.subtype === "global");

/** RFC 2045 6.4 / RFC 2046 5.2.1: only an identity-encoded message can be parsed in place. */
const IDENTITY = new Set(["7BIT", "8BIT", "BINARY"]);

/**
 * Where an entity that starts at `start` ends, given the delimiter after it (or the end of the
 * message). RFC 2046 5.1.1: "the CRLF preceding the boundary delimiter line is conceptually
 * attached to the boundary", always; so when the only line end before a delimiter is a header's
 * blank line or a close delimiter's own CRLF, that line end is the delimiter's, not the entity's.
 */
function entityEnd(raw: Buffer, d: Delimiter | null, start: number): number {
  return d ? Math.max(start, d.lineStart - eolBefore(raw, d.lineStart)) : raw.length;
}

/** Ends the part at `end`; a header that reached past it (its blank line) is cut back. */
function settle(part: MimePart, end: number): void {
  part.bodyEnd = end;
  if (part.bodyStart > end) part.headerEnd = part.bodyStart = end;
  part.size = part.bodyEnd - part.bodyStart;
}

function pathOf(place: Place, multipart: boolean): string {
  if (place.kind === "part") return place.path;
  // RFC 3501 6.4.5: a non-multipart message's body is part 1.
  if (multipart) return place.container;
  return place.container === "" ? "1" : `${place.container}.1`;
}

function childPath(parent: string, n: number): string {
  return parent === "" ? String(n) : `${parent}.${n}`;
}

function newPart(path: string, c: Content, headerStart: number, headerEnd: number): MimePart {
  return {
    path,
    headerStart,
    headerEnd,
    bodyStart: headerEnd,
    bodyEnd: headerEnd,
    type: c.type,
    subtype: c.subtype,
    params: c.params,
    id: c.id,
    description: c.description,
    encoding: c.encoding,
    size: 0,
    lines: 0,
    md5: c.md5,
    disposition: c.disposition,
    language: c.language,
    location: c.location,
    children: [],
  };
}

function opaque(part: MimePart): void {
  // A message we do not parse into cannot carry an envelope and a body structure.
  part.type = "application";
  part.subtype = "octet-stream";
}

function parseEntity(w: Walk, start: number, place: Place, depth: number): Entity {
  const raw = w.raw;
  w.parts++;
  const extent = w.headers.extent(start, w.boundaries);
  const fields = new Map<string, RawField>();
  forEachField(raw, start, extent.end, (f) => {
    if (!WANTED_LENGTHS.has(f.nameEnd - f.start)) return; // most fields, cheaply
    const name = fieldName(raw, f).toLowerCase();
    if (WANTED.has(name) && !fields.has(name)) fields.set(name, f);
  });
  const lookup = (name: string) => fields.get(name);
  const content = readContent(raw, lookup, place.kind === "part" && place.inDigest);
  const multipart = content.type === "multipart";
  const part = newPart(pathOf(place, multipart), content, start, extent.end);
  const entity: Entity = { part, term: null, headerLines: 0 };
  if (place.kind === "root") entity.envelope = readEnvelope(raw, lookup, w.addresses);

  const canNest = depth < MIME_LIMITS.maxDepth && w.parts < MIME_LIMITS.maxParts;
  const message = isMessageType(content) && canNest && IDENTITY.has(content.encoding);
  if (isMessageType(content) && !message) opaque(part);

  if (!extent.blank) {
    // The header ran into a delimiter or the end: no body.
    entity.term = extent.term;
    if (message) attachEmpty(w, part);
  } else if (multipart && content.boundary && canNest) {
    parseMultipart(w, entity, content.boundary, depth);
  } else if (message) {
    const child = parseEntity(w, part.bodyStart, { kind: "root", container: part.path }, depth + 1);
    entity.term = child.term;
    const end = entityEnd(raw, child.term, start);
    if (end < child.part.headerStart) {
      // The only line end left was our blank line, and it went to the delimiter: no body.
      settle(part, end);
      attachEmpty(w, part);
    } else {
      settle(part, Math.max(end, child.part.bodyEnd));
      part.children.push(child.part);
      part.envelope = child.envelope!;
      part.lines = child.headerLines + child.part.lines;
    }
  } else {
    entity.term = w.boundaries.next(part.bodyStart);
    settle(part, entityEnd(raw, entity.term, start));
    part.lines = countLF(raw, part.bodyStart, part.bodyEnd);
  }
  entity.headerLines = countLF(raw, start, part.headerEnd);
  return entity;
}

/** Gives a message part with an empty body its (empty) encapsulated message. */
function attachEmpty(w: Walk, part: MimePart): void {
  const child = emptyRoot(w, part.path, part.bodyEnd);
  part.children = [child.part];
  part.envelope = child.envelope!;
  part.lines = 0;
}

/** RFC 2046 5.1.1: preamble, body parts between delimiters, close delimiter, epilogue. */
function parseMultipart(w: Walk, entity: Entity, boundary: Buffer, depth: number): void {
  const { raw, boundaries } = w;
  const part = entity.part;
  const inDigest = part.subtype === "digest";
  const owner = boundaries.push(boundary);
  // The LF count of the body is summed piece by piece (children count their own), so that
  // nested parts are not counted again at every level. `floor`: where the counted part ends.
  let floor = part.bodyStart;
  let lf = 0;
  let d = boundaries.next(part.bodyStart);
  while (d && d.owner === owner && !d.close) {
    lf += countLF(raw, floor, d.lineEnd);
    floor = d.lineEnd;
    if (w.parts >= MIME_LIMITS.maxParts) {
      d = boundaries.next(d.lineEnd);
      continue;
    }
    const n = part.children.length + 1;
    const child = parseEntity(w, d.lineEnd, { kind: "part", path: childPath(part.path, n), inDigest }, depth + 1);
    part.children.push(child.part);
    lf += child.headerLines + child.part.lines;
    floor = child.part.bodyEnd;
    d = child.term;
  }
  if (d && d.owner === owner && d.close) {
    lf += countLF(raw, floor, d.lineEnd);
    floor = d.lineEnd;
    boundaries.closeFrom(owner);
    d = boundaries.next(d.lineEnd); // the epilogue runs to an outer delimiter or the end
  } else {
    boundaries.closeFrom(owner); // no close delimiter: an outer one (or the end) cut us short
  }
  // An empty last part right before the outer delimiter ("--b" CRLF "--outer") shares its line
  // end with that delimiter: the multipart keeps it rather than end before its own part.
  const last = part.children.at(-1);
  settle(part, Math.max(entityEnd(raw, d, part.headerStart), last ? last.bodyEnd : 0));
  if (part.bodyEnd >= floor) lf += countLF(raw, floor, part.bodyEnd);
  else lf -= countLF(raw, part.bodyEnd, floor);
  part.lines = part.size === 0 ? 0 : lf;
  entity.term = d;
}

/** The root of an empty encapsulated message (a message part with no body). */
function emptyRoot(w: Walk, container: string, at: number): Entity {
  w.parts++;
  const content = readContent(w.raw, () => undefined, false);
  const part = newPart(pathOf({ kind: "root", container }, false), content, at, at);
  return { part, term: null, headerLines: 0, envelope: emptyEnvelope() };
}

export interface Tree {
  root: MimePart;
  envelope: Envelope;
}

export function parseTree(raw: Buffer): Tree {
  const w: Walk = { raw, boundaries: new BoundarySet(raw), headers: new HeaderScanner(raw), parts: 0, addresses: { left: MIME_LIMITS.maxAddressTotal } };
  const e = parseEntity(w, 0, { kind: "root", container: "" }, 0);
  return { root: e.part, envelope: e.envelope! };
}
