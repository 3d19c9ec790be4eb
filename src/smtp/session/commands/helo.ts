/** EHLO and HELO (RFC 5321 4.1.1.1), and the extension list the EHLO reply advertises. */
import { reply } from "../../../core/reply.js";
import { isValidDomain } from "../../../core/address.js";
import type { SmtpSession } from "../session.js";
import { R } from "../../replies.js";

function validHeloName(name: string): boolean {
  // A domain or an address literal; many clients send a bare hostname, which is a domain too.
  return name.length > 0 && !/\s/.test(name) && (isValidDomain(name) || isValidDomain(name.toLowerCase()));
}

async function greet(s: SmtpSession, arg: string, esmtp: boolean): Promise<boolean> {
  const name = arg.trim();
  if (!validHeloName(name)) {
    s.error(R.heloSyntax());
    return false;
  }
  const r = await s.handler.helo?.(s.view, name);
  if (r && r.code >= 400) {
    s.error(r);
    return false;
  }
  // RFC 5321 4.1.4: EHLO/HELO resets any transaction in progress.
  await s.resetTransaction();
  s.helo = name;
  s.esmtp = esmtp;
  return true;
}

export function extensions(s: SmtpSession): string[] {
  const o = s.opts;
  const ext = ["PIPELINING", `SIZE ${o.maxMessageSize}`, "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN"];
  if (o.starttls && !s.tls) ext.push("STARTTLS");
  // RFC 8689 2: REQUIRETLS is advertised only on a TLS session.
  if (s.tls) ext.push("REQUIRETLS");
  const mechs = s.handler.saslMechanisms?.(s.view) ?? [];
  if (mechs.length && !s.authUser && (s.tls || !o.authRequiresTls)) ext.push(`AUTH ${mechs.join(" ")}`);
  // RFC 9422: the limits we really enforce.
  ext.push(`LIMITS RCPTMAX=${o.maxRecipients} MAILMAX=${o.maxTransactions}`);
  ext.push("HELP");
  return ext;
}

export async function ehlo(s: SmtpSession, arg: string): Promise<void> {
  if (!(await greet(s, arg, true))) return;
  s.send(reply(250, undefined, [`${s.opts.hostname} Hello ${s.helo} [${s.view.remoteAddress}]`, ...extensions(s)]));
}

export async function helo(s: SmtpSession, arg: string): Promise<void> {
  if (!(await greet(s, arg, false))) return;
  s.send(reply(250, undefined, `${s.opts.hostname} Hello ${s.helo} [${s.view.remoteAddress}]`));
}
