/**
 * Bounds that keep parsing linear and memory bounded on hostile input. Past a bound the parser
 * degrades (treats a part as opaque, stops collecting text); it never throws.
 */
export const MIME_LIMITS = {
  /** Entities nested deeper than this (multipart or message) are treated as opaque leaves. */
  maxDepth: 50,
  /** Parts in one message; after that, no more parts are created (the bytes stay in the parent). */
  maxParts: 10_000,
  /** RFC 2046 5.1.1 allows 70; a longer boundary parameter makes the multipart opaque. */
  maxBoundaryLength: 256,
  /** UTF-8 bytes of ParsedMessage.searchBody. */
  maxSearchBody: 2 * 1024 * 1024,
  /** UTF-8 bytes of ParsedMessage.searchHeaders. */
  maxSearchHeaders: 1024 * 1024,
  /** Octets of one header field value that are read (ENVELOPE strings, Content-* fields...). */
  maxFieldValue: 256 * 1024,
  /** Characters of one header value given to the RFC 2047 decoder (longer values are cut). */
  maxDecodedField: 256 * 1024,
  /** Characters of one address field given to the address parser (cut at a comma before). */
  maxAddressField: 256 * 1024,
  /** Characters of all address fields of one message given to the address parser. */
  maxAddressTotal: 1024 * 1024,
} as const;
