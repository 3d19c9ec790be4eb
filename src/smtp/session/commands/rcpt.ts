/** RCPT TO (RFC 5321 4.1.1.3) with DSN NOTIFY and ORCPT (RFC 3461). */
import type { SmtpSession } from "../session.js";
import { R } from "../../replies.js";
import { ParamError, parseRcptTo } from "../../parse/path-params.js";
import { replyText } from "../../../core/reply.js";

export async function rcpt(s: SmtpSession, arg: string): Promise<void> {
  const txn = s.txn;
  if (!txn) return s.error(R.needMail());
  if (txn.via) return s.error(R.syntax("RCPT not allowed after message data started"));
  let to;
  try {
    to = parseRcptTo(arg);
  } catch (e) {
    if (!(e instanceof ParamError)) throw e;
    return s.error(e.kind === "path" ? R.badRecipientSyntax(e.message) : e.kind === "unknown-param" ? R.unknownParam(e.message) : R.syntax(e.message));
  }
  const rcptText = `${to.address.local}@${to.address.domain}`;
  if (to.address.utf8 && !txn.from.smtputf8) return s.error(R.utf8NotDeclared());
  // RFC 5321 4.5.3.1.10: 452 for too many recipients; the client sends the rest later.
  if (txn.rcpts.length >= s.opts.maxRecipients) {
    s.log.info({ event: "rcpt", to: rcptText, reply: "452 4.5.3" }, "recipient refused");
    return s.send(R.tooManyRecipients());
  }
  const verdict = await s.handler.rcpt(s.view, { from: txn.from, rcpts: txn.rcpts }, to);
  if (verdict && verdict.code >= 400) {
    s.log.info({ event: "rcpt", to: rcptText, reply: replyText(verdict) }, "recipient refused");
    return s.error(verdict);
  }
  txn.rcpts.push(to);
  s.log.info({ event: "rcpt", to: rcptText, notify: to.dsn.notify?.join(","), orcpt: to.dsn.orcpt?.address }, "recipient accepted");
  s.send(verdict ?? R.recipientOk());
}
