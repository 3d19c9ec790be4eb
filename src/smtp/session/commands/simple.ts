/** Commands with no state of their own: RSET, NOOP, QUIT, VRFY, HELP, and the unimplemented ones. */
import type { SmtpSession } from "../session.js";
import { R } from "../../replies.js";

export async function rset(s: SmtpSession, arg: string): Promise<void> {
  if (arg) return s.error(R.syntax("Syntax: RSET"));
  await s.resetTransaction();
  s.send(R.ok());
}

export function noop(s: SmtpSession): void {
  // RFC 5321 4.1.1.9: the argument, if any, is ignored.
  s.send(R.ok());
}

export function quit(s: SmtpSession): void {
  s.send(R.bye(s.opts.hostname));
  s.closeAfterReplies();
}

export function vrfy(s: SmtpSession, arg: string): void {
  // RFC 5321 3.5.3: 252 says nothing about whether the user exists (no address harvesting).
  if (!arg) return s.error(R.syntax("Syntax: VRFY address"));
  s.send(R.vrfy());
}

export function help(s: SmtpSession): void {
  s.send(R.help());
}

export function notImplemented(s: SmtpSession): void {
  s.error(R.notImplemented());
}
