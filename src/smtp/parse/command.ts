/**
 * Splits a command line into verb and argument. The line has no CRLF; it must be printable
 * (UTF-8 is allowed in arguments for SMTPUTF8, RFC 6531), never contain CR, LF or NUL.
 */
export interface CommandLine {
  /** Upper-cased verb, e.g. "MAIL". */
  readonly verb: string;
  /** Everything after the verb and one space, as given. */
  readonly arg: string;
}

export type ParseResult = { ok: true; cmd: CommandLine } | { ok: false; reason: "control" | "encoding" | "empty" };

const decoder = new TextDecoder("utf-8", { fatal: true });

export function parseCommandLine(line: Buffer): ParseResult {
  let text: string;
  try {
    text = decoder.decode(line);
  } catch {
    return { ok: false, reason: "encoding" };
  }
  // Control characters (bare CR/LF, NUL, ...) are never part of a valid command; tabs are tolerated.
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(text)) return { ok: false, reason: "control" };
  const trimmed = text.replace(/[ \t]+$/, "");
  if (trimmed.length === 0) return { ok: false, reason: "empty" };
  const sp = trimmed.search(/[ \t]/);
  const verb = (sp < 0 ? trimmed : trimmed.slice(0, sp)).toUpperCase();
  const arg = sp < 0 ? "" : trimmed.slice(sp + 1).replace(/^[ \t]+/, "");
  return { ok: true, cmd: { verb, arg } };
}
