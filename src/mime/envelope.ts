/** The IMAP ENVELOPE of a message header (RFC 3501 7.4.2, RFC 9051 7.5.2). */
import { parseAddressList, type AddressBudget } from "./address.js";
import type { FieldLookup } from "./content.js";
import { decodeWords } from "./words.js";
import { fieldValue } from "./header.js";
import { MIME_LIMITS } from "./limits.js";
import type { Envelope, MimeAddress } from "./types.js";

export function readEnvelope(raw: Buffer, field: FieldLookup, budget: AddressBudget): Envelope {
  const text = (name: string): string | null => {
    const f = field(name);
    return f ? fieldValue(raw, f).text : null;
  };
  const list = (name: string): MimeAddress[] => {
    const f = field(name);
    if (!f) return [];
    const v = fieldValue(raw, f);
    return parseAddressList(v.text, budget, MIME_LIMITS.maxAddressField, v.cut);
  };
  const subject = text("subject");
  const from = list("from");
  const sender = list("sender");
  const replyTo = list("reply-to");
  return {
    date: text("date"),
    subject,
    subjectDecoded: subject === null ? null : decodeWords(subject),
    from,
    // RFC 3501 7.4.2: "If the Sender or Reply-To lines are absent in the [RFC-2822] header, or
    // are present but empty, the server sets the corresponding member of the envelope to be the
    // same value as the from member".
    sender: sender.length > 0 ? sender : from.map((a) => ({ ...a })),
    replyTo: replyTo.length > 0 ? replyTo : from.map((a) => ({ ...a })),
    to: list("to"),
    cc: list("cc"),
    bcc: list("bcc"),
    inReplyTo: text("in-reply-to"),
    messageId: text("message-id"),
  };
}

/** The envelope of a message with no header at all. */
export function emptyEnvelope(): Envelope {
  return { date: null, subject: null, subjectDecoded: null, from: [], sender: [], replyTo: [], to: [], cc: [], bcc: [], inReplyTo: null, messageId: null };
}
