/** STARTTLS (RFC 3207). */
import type { SmtpSession } from "../session.js";
import { R } from "../../replies.js";

export async function starttls(s: SmtpSession, arg: string): Promise<void> {
  if (arg) return s.error(R.syntax("Syntax: STARTTLS"));
  if (s.tls) return s.error(R.alreadyTls());
  if (!s.opts.starttls) return s.error(R.tlsUnavailable());
  if (s.txn) return s.error(R.nestedMail());
  await s.upgradeTls();
}
