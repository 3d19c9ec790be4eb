// Benchmark messages: valid RFC 5322 messages of an exact size, already in SMTP DATA wire form
// (dot-stuffed, CRLF line ends). The body is the same for every message of a run, so it is built
// once; the headers carry a unique Message-ID but have a fixed length, so sizes stay exact.
import { randomBytes } from "node:crypto";

export interface MessageSpec {
  from: string;
  to: string;
  /** Size of the message (headers + body, CRLFs included), before dot-stuffing. */
  size: number;
}

const LINE_CHARS = 76; // classic line length, well under RFC 5322's 78-character advice
const CRLF = "\r\n";
// Printable ASCII without space: "!" .. "~" (94 characters). Line i starts at offset i % 94, so
// every 94th line begins with "." and exercises dot-stuffing on both ends.
const ALPHABET = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join("");
const ALPHABET2 = ALPHABET + ALPHABET;

/** Body line i (without CRLF) of n characters. */
function line(i: number, n: number): string {
  let s = "";
  const start = i % ALPHABET.length;
  while (s.length < n) s += ALPHABET2.slice(start, start + Math.min(n - s.length, ALPHABET.length));
  return s;
}

/** RFC 5321 4.5.2: a line that starts with "." gets one more "." on the wire. */
function stuff(l: string): string {
  return l.startsWith(".") ? "." + l : l;
}

/** Lengths (without CRLF) of body lines that fill exactly `bytes` bytes, CRLFs included. */
function bodyLineLengths(bytes: number): number[] {
  const full = LINE_CHARS + 2;
  const lens: number[] = [];
  let left = bytes;
  while (left >= full) {
    lens.push(LINE_CHARS);
    left -= full;
  }
  if (left === 1) {
    // A 1-byte remainder cannot be a line (every line ends in CRLF): shorten the previous line
    // by one character and end with an empty line instead.
    if (lens.length === 0) throw new Error("message size too small for its headers");
    lens[lens.length - 1]!--;
    left += 1;
  }
  if (left >= 2) lens.push(left - 2);
  return lens;
}

export interface MessageFactory {
  /** Wire bytes of message number `seq`: headers + body + terminating ".\r\n", as a few buffers. */
  next(seq: number): Buffer[];
  /** Bytes on the wire per message (dot-stuffed, with the terminator). */
  wireBytes: number;
}

/** Unique per run, so repeated runs never produce the same Message-ID. */
function runId(): string {
  return `${Date.now().toString(36)}.${randomBytes(4).toString("hex")}`;
}

function rfc5322Date(d: Date): string {
  // toUTCString() says "GMT", an obsolete zone in RFC 5322; "+0000" is the modern form.
  return d.toUTCString().replace(/GMT$/, "+0000");
}

/** The header block for message `seq`, ending with the empty line; fixed length for all seq. */
function headers(spec: MessageSpec, id: string, date: string, seq: number): string {
  const n = String(seq).padStart(10, "0");
  return (
    `From: Petrel Bench <${spec.from}>${CRLF}` +
    `To: <${spec.to}>${CRLF}` +
    `Subject: Petrel benchmark message ${n}${CRLF}` +
    `Date: ${date}${CRLF}` +
    `Message-ID: <${id}.${n}@bench.test>${CRLF}` +
    `MIME-Version: 1.0${CRLF}` +
    `Content-Type: text/plain; charset=us-ascii${CRLF}` +
    CRLF
  );
}

export function messageFactory(spec: MessageSpec): MessageFactory {
  const id = runId();
  const date = rfc5322Date(new Date());
  const headerLen = Buffer.byteLength(headers(spec, id, date, 0), "latin1");
  if (spec.size < headerLen + 2) {
    throw new Error(`message size ${spec.size} is smaller than the headers (${headerLen + 2} bytes)`);
  }
  const body = Buffer.from(
    bodyLineLengths(spec.size - headerLen)
      .map((n, i) => stuff(line(i, n)) + CRLF)
      .join(""),
    "latin1",
  );
  const dot = Buffer.from("." + CRLF, "latin1");
  return {
    wireBytes: headerLen + body.length + dot.length,
    next: (seq) => [Buffer.from(headers(spec, id, date, seq), "latin1"), body, dot],
  };
}

/**
 * A very large message, generated on the fly in chunks of about `chunkBytes` (never the whole
 * message in memory). Yields wire-form buffers; the last one ends with the ".\r\n" terminator.
 */
export function* streamMessage(spec: MessageSpec, chunkBytes = 64 * 1024): Generator<Buffer> {
  const head = headers(spec, runId(), rfc5322Date(new Date()), 1);
  yield Buffer.from(head, "latin1");
  const lens = bodyLineLengthsLazy(spec.size - Buffer.byteLength(head, "latin1"));
  let chunk = "";
  let i = 0;
  for (const n of lens) {
    chunk += stuff(line(i++, n)) + CRLF;
    if (chunk.length >= chunkBytes) {
      yield Buffer.from(chunk, "latin1");
      chunk = "";
    }
  }
  yield Buffer.from(chunk + "." + CRLF, "latin1");
}

/** Same result as bodyLineLengths, without an array of a million entries for 50 MiB. */
function* bodyLineLengthsLazy(bytes: number): Generator<number> {
  const full = LINE_CHARS + 2;
  if (bytes < 2) throw new Error("message size too small for its headers");
  const tail = bodyLineLengths(bytes % full + (bytes >= full ? full : 0));
  const fullLines = bytes >= full ? Math.floor(bytes / full) - 1 : 0;
  for (let i = 0; i < fullLines; i++) yield LINE_CHARS;
  yield* tail;
}
