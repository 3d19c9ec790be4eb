/**
 * Types shared by the IMAP parser (imap/parse), the engine (imap/session, imap/commands) and the
 * message views (imap/fetch, imap/search). Numbers are sequence numbers or UIDs depending on the
 * command; "*" is the largest in use (RFC 9051 9, seq-number).
 */

export interface SeqRange {
  from: number | "*";
  to: number | "*";
}

/** A sequence set, or "$": the saved search result (SEARCHRES, RFC 5182). */
export type SequenceSet = SeqRange[] | "$";

/** A section specification of BODY[...] / BINARY[...] (RFC 9051 6.4.5). */
export interface SectionSpec {
  /** Part numbers, [] for the whole message. */
  part: number[];
  /** The text part of the specifier, upper case; absent for a part's content. */
  text?: "HEADER" | "HEADER.FIELDS" | "HEADER.FIELDS.NOT" | "TEXT" | "MIME";
  /** Field names of HEADER.FIELDS (.NOT), as written. */
  fields?: string[];
}

export type SearchDateField = "internal" | "sent";

/**
 * A search key (RFC 9051 6.4.4). BCC/CC/FROM/SUBJECT/TO are header keys; ANSWERED, DELETED,
 * DRAFT, FLAGGED, SEEN, KEYWORD and their UN- forms are flag keys.
 */
export type SearchKey =
  | { op: "all" }
  | { op: "flag"; flag: string; set: boolean }
  | { op: "recent" }
  | { op: "new" }
  | { op: "old" }
  | { op: "seq"; set: SequenceSet }
  | { op: "uid"; set: SequenceSet }
  | { op: "header"; field: string; value: string }
  | { op: "body"; value: string }
  | { op: "text"; value: string }
  /** date is "YYYY-MM-DD"; comparisons disregard time and time zone (RFC 9051 6.4.4). */
  | { op: "date"; field: SearchDateField; cmp: "before" | "on" | "since"; date: string }
  | { op: "size"; cmp: "larger" | "smaller"; size: number }
  /** CONDSTORE MODSEQ key: messages with modseq >= value. */
  | { op: "modseq"; modseq: number }
  /** WITHIN (RFC 5032): internal date older / younger than this many seconds. */
  | { op: "older" | "younger"; seconds: number }
  | { op: "not"; key: SearchKey }
  | { op: "or"; a: SearchKey; b: SearchKey }
  | { op: "and"; keys: SearchKey[] };
