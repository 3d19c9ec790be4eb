/**
 * Multi-line responses (RFC 1939 3): every line that starts with "." gets another "." in
 * front, and the response ends with ".\r\n" on a line of its own.
 */
const DOT = 0x2e;
const LF = 0x0a;

/** Byte-stuff `data` and append the terminator (a CRLF first when data does not end with one). */
export function multiline(data: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < data.length; i++) {
    // A line starts at offset 0 and after every LF (bare LFs too, so no client that splits on
    // LF alone can read a terminator inside a message).
    if (data[i] === DOT && (i === 0 || data[i - 1] === LF)) {
      parts.push(data.subarray(start, i), Buffer.from("."));
      start = i;
    }
  }
  parts.push(data.subarray(start));
  const endsWithCrlf = data.length >= 2 && data[data.length - 2] === 13 && data[data.length - 1] === LF;
  parts.push(Buffer.from(data.length === 0 || endsWithCrlf ? ".\r\n" : "\r\n.\r\n"));
  return parts.filter((p) => p.length > 0);
}

/** The header and the first `lines` lines of the body (TOP, RFC 1939 7). */
export function topOf(message: Buffer, lines: number): Buffer {
  let end = message.indexOf("\r\n\r\n");
  if (end < 0) return message;
  end += 4;
  for (let n = 0; n < lines && end < message.length; n++) {
    const eol = message.indexOf("\r\n", end);
    end = eol < 0 ? message.length : eol + 2;
  }
  return message.subarray(0, end);
}
