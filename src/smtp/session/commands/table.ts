/**
 * The SMTP command table (Postfix's idea): each verb with its protocol flags. The session
 * checks the flags; each command's behaviour is in its own file.
 */
import type { SmtpSession } from "../session.js";
import { ehlo, helo } from "./helo.js";
import { mail } from "./mail.js";
import { rcpt } from "./rcpt.js";
import { data } from "./data.js";
import { bdat } from "./bdat.js";
import { help, noop, notImplemented, quit, rset, vrfy } from "./simple.js";
import { starttls } from "./starttls.js";
import { auth } from "./auth.js";

export interface CommandSpec {
  run(s: SmtpSession, arg: string): Promise<void> | void;
  /** Refused with 503 before EHLO/HELO. */
  needsHelo: boolean;
  /** Counts toward the limit of commands without a transaction (Postfix's junk commands). */
  junk: boolean;
}

const spec = (run: CommandSpec["run"], flags: Partial<Omit<CommandSpec, "run">> = {}): CommandSpec => ({ run, needsHelo: false, junk: false, ...flags });

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map([
  ["EHLO", spec(ehlo, { junk: true })],
  ["HELO", spec(helo, { junk: true })],
  ["MAIL", spec(mail, { needsHelo: true })],
  ["RCPT", spec(rcpt, { needsHelo: true })],
  ["DATA", spec(data, { needsHelo: true })],
  ["BDAT", spec(bdat, { needsHelo: true })],
  ["RSET", spec(rset, { junk: true })],
  ["NOOP", spec(noop, { junk: true })],
  ["QUIT", spec(quit)],
  ["VRFY", spec(vrfy, { junk: true })],
  ["EXPN", spec(notImplemented, { junk: true })],
  ["HELP", spec(help, { junk: true })],
  ["STARTTLS", spec(starttls)],
  ["AUTH", spec(auth, { needsHelo: true })],
  // RFC 5321 4.5.1 lists these as optional; Petrel does not implement them.
  ["TURN", spec(notImplemented, { junk: true })],
  ["ETRN", spec(notImplemented, { junk: true })],
  ["SEND", spec(notImplemented, { junk: true })],
  ["SOML", spec(notImplemented, { junk: true })],
  ["SAML", spec(notImplemented, { junk: true })],
]);
