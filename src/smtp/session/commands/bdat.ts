/**
 * BDAT (RFC 3030 CHUNKING): "BDAT <size> [LAST]" followed by exactly size octets. The octets
 * are always read, even when the command is refused, so the stream stays in step.
 */
import type { SmtpSession } from "../session.js";
import { R } from "../../replies.js";
import { openMessage } from "./open-message.js";

export async function bdat(s: SmtpSession, arg: string): Promise<void> {
  const m = /^(\d{1,15})(?: +(LAST))?$/i.exec(arg);
  if (!m) {
    // Without a size we cannot find the end of the chunk: resynchronising is impossible.
    s.send(R.syntax("Syntax: BDAT size [LAST]"));
    return s.closeAfterReplies();
  }
  const size = Number(m[1]);
  const last = m[2] !== undefined;
  const txn = s.txn;
  if (txn && !txn.failReply && txn.via === undefined) {
    // RFC 3030 2: the chunk is read in full before any refusal is given.
    if (txn.rcpts.length === 0) txn.failReply = R.noValidRecipients();
    else {
      const failure = await openMessage(s, txn, "BDAT");
      if (failure) s.txn = { ...txn, failReply: failure };
    }
  }
  s.beginBdat(size, last);
}
