/**
 * Address lists (RFC 5322 3.4) as IMAP ENVELOPE address structures (RFC 3501 7.4.2). The
 * tokenising is nodemailer's addressparser, which copes with the obsolete and broken forms
 * seen in real mail (comments, route addresses, missing brackets, unclosed quotes).
 */
import addressparser from "nodemailer/lib/addressparser";
import type { MimeAddress } from "./types.js";

/** Characters the address parser may still be given for this message (see MIME_LIMITS). */
export interface AddressBudget {
  left: number;
}

type Entry = ReturnType<typeof addressparser>[number];

function mailbox(name: string, address: string): MimeAddress | null {
  const display = name.trim() === "" ? null : name.trim();
  const addr = address.trim();
  if (addr === "") {
    // A bare word: RFC 822 allowed a local part without a domain ("To: postmaster").
    return display === null ? null : { name: null, mailbox: display, host: "" };
  }
  const at = addr.lastIndexOf("@");
  if (at < 0) return { name: display, mailbox: addr, host: "" };
  return { name: display, mailbox: addr.slice(0, at), host: addr.slice(at + 1) };
}

function flatten(entries: Entry[], out: MimeAddress[]): void {
  for (const e of entries) {
    if (e.group) {
      // RFC 3501 7.4.2: group start (mailbox = group name, host NIL) ... group end (both NIL).
      out.push({ name: null, mailbox: e.name, host: null });
      flatten(e.group, out);
      out.push({ name: null, mailbox: null, host: null });
    } else {
      const m = mailbox(e.name, e.address);
      if (m) out.push(m);
    }
  }
}

/**
 * Parses an unfolded address field value. Encoded-words in names stay as written (IMAP wants the
 * raw form). A value longer than `maxField` (or already cut, `truncated`) is cut at its last
 * comma before the limit, so that no address is cut in two.
 */
export function parseAddressList(value: string, budget: AddressBudget, maxField: number, truncated = false): MimeAddress[] {
  let v = value;
  const limit = Math.min(maxField, budget.left);
  if (v.length > limit || truncated) {
    const comma = v.lastIndexOf(",", Math.min(limit, v.length - 1));
    v = comma > 0 ? v.slice(0, comma) : "";
  }
  budget.left -= v.length;
  if (v.trim() === "") return [];
  const out: MimeAddress[] = [];
  try {
    flatten(addressparser(v), out);
  } catch {
    return [];
  }
  return out;
}
