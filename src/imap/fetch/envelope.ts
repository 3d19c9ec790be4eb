/** The ENVELOPE of FETCH (RFC 9051 7.5.2, RFC 3501 7.4.2) from the parsed envelope. */
import type { Envelope, MimeAddress } from "../../mime/index.js";
import { Run, type ImapValue } from "../proto/value.js";

/**
 * RFC 9051 7.5.2: an address is (name adl mailbox host); adl (the source route) is always NIL.
 * Group syntax (RFC 5322 3.4) is already in the parse: a start has host NIL and mailbox = the
 * group name, an end has mailbox and host NIL.
 */
function addressValue(a: MimeAddress): ImapValue {
  return [a.name, null, a.mailbox, a.host];
}

/** An address list, "(" 1*address ")" with no space between addresses, or NIL when empty. */
function addressList(list: readonly MimeAddress[]): ImapValue {
  return list.length === 0 ? null : [new Run(list.map(addressValue))];
}

/**
 * (date subject from sender reply-to to cc bcc in-reply-to message-id). Strings are the raw
 * header values (not RFC 2047 decoded); NIL for an absent field. Sender and reply-to default to
 * from in the parse already (RFC 3501 7.4.2).
 */
export function envelopeValue(env: Envelope): ImapValue {
  return [
    env.date,
    env.subject,
    addressList(env.from),
    addressList(env.sender),
    addressList(env.replyTo),
    addressList(env.to),
    addressList(env.cc),
    addressList(env.bcc),
    env.inReplyTo,
    env.messageId,
  ];
}
