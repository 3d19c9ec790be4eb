/**
 * The DATA body on the wire (RFC 5321 4.5.2): a line that starts with "." gets another ".", the
 * content ends with CRLF, and "." CRLF ends the data.
 */
const CRLF = Buffer.from("\r\n");
const END = Buffer.from(".\r\n");

export function dotStuff(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  // RFC 5321 4.5.2: before sending a line, if its first character is a period, double it.
  if (body.length > 0 && body[0] === 0x2e) parts.push(Buffer.from("."));
  for (;;) {
    const i = body.indexOf("\n.", start);
    if (i < 0) break;
    parts.push(body.subarray(start, i + 2), Buffer.from("."));
    start = i + 2;
  }
  parts.push(body.subarray(start));
  const endsWithCrlf = body.length >= 2 && body[body.length - 2] === 0x0d && body[body.length - 1] === 0x0a;
  if (body.length > 0 && !endsWithCrlf) parts.push(CRLF);
  parts.push(END);
  return Buffer.concat(parts);
}
