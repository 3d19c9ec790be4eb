/**
 * The shapes the mail store keeps for a message, parsed once at delivery so that IMAP never
 * reparses: the MIME tree with byte offsets, the ENVELOPE and BODYSTRUCTURE data (RFC 3501 7.4.2,
 * RFC 9051 7.5.2), and text for SEARCH.
 */

/**
 * One entry of an IMAP ENVELOPE address list (RFC 3501 7.4.2, RFC 9051 7.5.2).
 * IMAP group syntax: a group start has host null and mailbox = the group name; a group end has
 * mailbox and host both null. An address without a domain has host "" (never null, which would
 * read as group syntax).
 */
export interface MimeAddress {
  /** Display name as written (quotes removed, RFC 2047 encoded-words kept), or null. */
  name: string | null;
  mailbox: string | null;
  host: string | null;
}

/**
 * RFC 3501 7.4.2 / RFC 9051 7.5.2. Strings are the raw header values (unfolded, trimmed, not
 * RFC 2047 decoded) as IMAP requires; null when the header field is absent; the first field of a
 * name counts. 8-bit octets are read as UTF-8 (RFC 6532), or as latin1 where they are not valid
 * UTF-8. Sender and reply-to are the from list when those fields are absent or empty. An empty
 * list stands for NIL.
 */
export interface Envelope {
  date: string | null;
  subject: string | null;
  /** The subject RFC 2047 decoded, for SEARCH and display (not part of the IMAP ENVELOPE). */
  subjectDecoded: string | null;
  from: MimeAddress[];
  sender: MimeAddress[];
  replyTo: MimeAddress[];
  to: MimeAddress[];
  cc: MimeAddress[];
  bcc: MimeAddress[];
  inReplyTo: string | null;
  messageId: string | null;
}

/**
 * One node of the MIME tree. Offsets index the raw message given to parseMessage.
 *
 * `path` is the IMAP section number (RFC 3501 6.4.5): "1", "1.2", "2.1.3"... For every part but a
 * multipart message root, BODY[path] = raw.subarray(bodyStart, bodyEnd) and
 * BODY[path.MIME] = raw.subarray(headerStart, headerEnd).
 * Message roots (the top-level root, and the single child of a message/rfc822 part):
 * - a non-multipart root's body is "1" for the whole message, "<p>.1" inside message part <p>;
 * - a multipart root carries its container's path ("" at the top, "<p>" inside message part
 *   <p>): its header is BODY[<p>.HEADER] and its body BODY[<p>.TEXT].
 * findPart() resolves a section number to its part.
 */
export interface MimePart {
  path: string;
  /** The header block: headerEnd is just after the blank line, so headerEnd = bodyStart. */
  headerStart: number;
  headerEnd: number;
  /**
   * Body octets. A part inside a multipart ends before the CRLF (or LF) that belongs to the next
   * delimiter line (RFC 2046 5.1.1), even when that line end is the only one left: then a header's
   * blank line, or the line end after a nested close delimiter, goes to the delimiter (the header
   * is cut before it, the body is empty). A multipart's body includes its preamble, delimiters,
   * children and epilogue, as IMAP's BODY[n] returns them.
   */
  bodyStart: number;
  bodyEnd: number;
  /** Lower case. Default text/plain, or message/rfc822 directly inside multipart/digest. */
  type: string;
  subtype: string;
  /**
   * Content-Type parameters, lower-case keys, RFC 2231 decoded (continuations and charsets);
   * other values as written. A part without a Content-Type field gets { charset: "us-ascii" }.
   */
  params: Record<string, string>;
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding, upper case, default "7BIT". */
  encoding: string;
  /** Body octets (bodyEnd - bodyStart). */
  size: number;
  /** Lines in the body: the number of LF octets in it (as Dovecot counts). Set for every part. */
  lines: number;
  md5: string | null;
  disposition: { type: string; params: Record<string, string> } | null;
  language: string[] | null;
  location: string | null;
  /**
   * Multipart: the body parts, possibly none (no boundary parameter, no delimiter found, or past
   * the nesting limit); an IMAP server then writes one empty text/plain part, as Dovecot does.
   * message/rfc822 and message/global: exactly one child, the encapsulated message's root.
   * A message part whose inside is not parsed (transfer-encoded, or past the limits) is reported
   * as application/octet-stream so that this always holds.
   */
  children: MimePart[];
  /** For message/rfc822 and message/global parts: the encapsulated message's envelope. */
  envelope?: Envelope;
}

export interface ParsedMessage {
  size: number;
  root: MimePart;
  envelope: Envelope;
  /** Offset of the body of the whole message (= root.headerEnd = root.bodyStart). */
  headerEnd: number;
  /** Subject decoded (RFC 2047) for search and display, or null when there is none. */
  subject: string | null;
  /** The message's header fields unfolded and decoded, "Name: value\n" lines (bounded). */
  searchHeaders: string;
  /** Decoded text of the text/plain and text/html (tags stripped) parts, UTF-8, bounded. */
  searchBody: string;
  /** Parts with disposition "attachment" or a file name (filename or name parameter). */
  attachments: number;
}
