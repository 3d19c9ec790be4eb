/**
 * Not-authenticated state (RFC 9051 6.2): STARTTLS, AUTHENTICATE PLAIN (RFC 4616, SASL-IR
 * RFC 4959) and LOGIN. Before TLS, unless configured otherwise, both logins are refused and
 * LOGINDISABLED is advertised (RFC 9051 6.2.3).
 */
import type { CommandContext, Done, ImapSession } from "../session.js";
import { bad, no } from "../session.js";
import { TOO_LONG } from "../proto/reader.js";

export async function starttls(s: ImapSession, c: CommandContext): Promise<Done> {
  if (s.tls) throw bad("TLS is already active");
  if (!s.opts.starttls) throw bad("STARTTLS is not available here");
  await s.upgradeTls(c.tag);
  return "answered";
}

function requireTls(s: ImapSession): void {
  if (!s.loginAllowed) throw no("Use STARTTLS first, or the imaps port", "PRIVACYREQUIRED");
}

export async function login(s: ImapSession, c: CommandContext): Promise<Done> {
  const user = c.p.astring();
  c.p.sp();
  const pass = c.p.astring();
  c.p.end();
  requireTls(s);
  const account = await s.backend.authenticate(user, pass, s.remoteAddress);
  if (!account) return s.loginFailed(user, "LOGIN", c.tag);
  return s.loggedIn(account, "LOGIN");
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export async function authenticate(s: ImapSession, c: CommandContext): Promise<Done> {
  const mech = c.p.keyword();
  let initial: string | undefined;
  if (c.p.maybeSp()) initial = c.p.atom();
  c.p.end();
  requireTls(s);
  if (mech !== "PLAIN") throw no("Unsupported authentication mechanism", "CANNOT");
  let response = initial;
  if (response === undefined) {
    s.continuation("");
    const line = await s.readLine();
    if (line === null) return "answered";
    if (line === TOO_LONG) throw bad("Response too long");
    response = line;
  }
  // RFC 9051 6.2.2: "*" cancels; "=" is an empty initial response (RFC 4959).
  if (response === "*") throw bad("Authentication cancelled");
  const raw = response === "=" ? "" : response;
  if (!BASE64.test(raw)) throw bad("Invalid base64");
  const parts = Buffer.from(raw, "base64").toString("utf8").split("\0");
  if (parts.length !== 3) return s.loginFailed("", "PLAIN", c.tag);
  const [authzid, authcid, password] = parts as [string, string, string];
  // Logging in as another user (authzid) is not supported.
  if (authzid !== "" && authzid !== authcid) return s.loginFailed(authcid, "PLAIN", c.tag);
  const account = await s.backend.authenticate(authcid, password, s.remoteAddress);
  if (!account) return s.loginFailed(authcid, "PLAIN", c.tag);
  return s.loggedIn(account, "PLAIN");
}
