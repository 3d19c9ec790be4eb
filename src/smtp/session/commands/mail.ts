/** MAIL FROM (RFC 5321 4.1.1.2) with SIZE, BODY, SMTPUTF8, DSN, REQUIRETLS and AUTH parameters. */
import type { SmtpSession } from "../session.js";
import { R } from "../../replies.js";
import { ParamError, parseMailFrom } from "../../parse/path-params.js";
import { replyText } from "../../../core/reply.js";

export async function mail(s: SmtpSession, arg: string): Promise<void> {
  if (s.txn && !s.txn.failReply) return s.error(R.nestedMail());
  // A BDAT transaction that failed is over (RFC 3030 2): a new MAIL starts afresh, as our 503 says.
  if (s.txn) await s.resetTransaction();
  if (s.opts.requireAuth && !s.authUser) return s.error(R.authRequired());
  if (s.stats.transactions >= s.opts.maxTransactions) {
    s.send(R.tooManyTransactions(s.opts.hostname));
    return s.closeAfterReplies();
  }
  let from;
  try {
    from = parseMailFrom(arg, { tls: s.tls !== undefined });
  } catch (e) {
    if (!(e instanceof ParamError)) throw e;
    return s.error(e.kind === "path" ? R.badSenderSyntax(e.message) : e.kind === "unknown-param" ? R.unknownParam(e.message) : R.syntax(e.message));
  }
  // RFC 6531 3.4: a non-ASCII address needs SMTPUTF8 on MAIL.
  if (from.address?.utf8 && !from.smtputf8) return s.error(R.utf8NotDeclared());
  // RFC 1870 6.1: refuse a declared size we would refuse at the end anyway.
  if (from.declaredSize !== undefined && from.declaredSize > s.opts.maxMessageSize) return s.error(R.messageTooBig());
  const sender = from.address ? `${from.address.local}@${from.address.domain}` : "<>";
  const verdict = await s.handler.mail(s.view, from);
  if (verdict && verdict.code >= 400) {
    s.log.info({ event: "mail", from: sender, reply: replyText(verdict) }, "sender refused");
    return s.error(verdict);
  }
  s.txn = { from, rcpts: [] };
  s.stats.transactions++;
  s.stats.junk = 0;
  s.log.info({ event: "mail", from: sender, size: from.declaredSize, body: from.body, smtputf8: from.smtputf8 || undefined, requireTls: from.requireTls || undefined, ret: from.dsn.ret, envid: from.dsn.envid }, "sender accepted");
  s.send(verdict ?? R.senderOk());
}
