/**
 * An SMTP reply: basic code, RFC 3463 enhanced status code, and text lines.
 * Replies are values; they are written to the wire in exactly one place (smtp/session).
 */
export interface Reply {
  readonly code: number;
  /** RFC 3463 enhanced code such as "2.1.0"; omitted only for the greeting and EHLO lines. */
  readonly enhanced?: string;
  readonly lines: readonly string[];
}

export function reply(code: number, enhanced: string | undefined, text: string | readonly string[]): Reply {
  const lines = typeof text === "string" ? [text] : text;
  if (enhanced !== undefined && enhanced[0] !== String(code)[0]) {
    // RFC 3463 2: the class digit of the enhanced code must match the basic reply's class.
    throw new Error(`enhanced code ${enhanced} does not match reply ${code}`);
  }
  return { code, enhanced, lines: lines.length ? lines : [""] };
}

/** Format a reply as CRLF-terminated wire lines ("250-a", "250 b"). */
export function formatReply(r: Reply): string {
  const prefix = r.enhanced ? ` ${r.enhanced} ` : " ";
  let out = "";
  for (let i = 0; i < r.lines.length; i++) {
    const sep = i === r.lines.length - 1 ? prefix : prefix.replace(/^ /, "-");
    const text = r.lines[i]!;
    out += `${r.code}${sep}${text}`.trimEnd() + "\r\n";
  }
  return out;
}

/** One-line rendering for logs and CLI output. */
export function replyText(r: Reply): string {
  return `${r.code}${r.enhanced ? " " + r.enhanced : ""} ${r.lines.join(" / ")}`;
}
