/**
 * Trace fields of a message header, for loop detection: the Received: count (RFC 5321 6.3)
 * and the Delivered-To: addresses earlier deliveries left.
 */
export interface Trace {
  received: number;
  deliveredTo: Set<string>;
}

export function traceHeaders(raw: Buffer, headerEnd: number): Trace {
  const text = raw.subarray(0, Math.min(headerEnd, raw.length)).toString("latin1");
  let received = 0;
  const deliveredTo = new Set<string>();
  for (const m of text.matchAll(/^(received|delivered-to):[ \t]*(.*)$/gim)) {
    if (m[1]!.toLowerCase() === "received") received++;
    else deliveredTo.add(Buffer.from(m[2]!.trim(), "latin1").toString("utf8").toLowerCase());
  }
  return { received, deliveredTo };
}
