/** DATA (RFC 5321 4.1.1.4): 354, then the session reads dot-stuffed content to CRLF.CRLF. */
import type { SmtpSession } from "../session.js";
import { R } from "../../replies.js";
import { openMessage } from "./open-message.js";

export async function data(s: SmtpSession, arg: string): Promise<void> {
  if (arg) return s.error(R.syntax("Syntax: DATA"));
  const txn = s.txn;
  if (!txn) return s.error(R.needMail());
  if (txn.via === "BDAT" || txn.failReply) return s.error(R.mixedDataBdat());
  // RFC 2920 3.1: when every RCPT failed, DATA gets 554 (not 354) so no content follows.
  if (txn.rcpts.length === 0) return s.error(R.noValidRecipients());
  const failure = await openMessage(s, txn, "DATA");
  if (failure) return s.error(failure);
  s.send(R.startData());
  s.beginData();
}
