/** Shared by DATA and BDAT: open the queue's sink and write the Received: header first. */
import type { Reply } from "../../../core/reply.js";
import type { SmtpSession, Transaction } from "../session.js";
import { R } from "../../replies.js";

/** Returns the error reply to give when the message cannot be received. */
export async function openMessage(s: SmtpSession, txn: Transaction, via: "DATA" | "BDAT"): Promise<Reply | undefined> {
  try {
    const sink = await s.handler.openMessage(s.view, { from: txn.from, rcpts: txn.rcpts });
    txn.sink = sink;
    txn.via = via;
    txn.decoder = s.newDecoder(via === "DATA");
    await sink.write([s.receivedFor(txn, sink.id)]);
    return undefined;
  } catch (err) {
    s.log.error({ err }, "cannot open message");
    await s.resetTransaction();
    return R.localError();
  }
}
