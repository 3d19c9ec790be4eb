/**
 * AUTHORIZATION state: CAPA (RFC 2449), USER/PASS (RFC 1939 7), AUTH PLAIN (RFC 5034, RFC 4616),
 * STLS (RFC 2595 4) and QUIT before login.
 */
import type { Pop3Session } from "../session.js";

export function capa(s: Pop3Session, arg: string): void {
  if (arg !== "") return s.err("CAPA takes no argument");
  const caps = ["TOP"];
  if (s.state === "authorization" && s.loginAllowed) caps.push("USER");
  caps.push("UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING");
  if (s.state === "authorization" && s.loginAllowed) caps.push("SASL PLAIN");
  if (s.state === "authorization" && s.opts.starttls && !s.tls) caps.push("STLS");
  caps.push("EXPIRE NEVER", "LOGIN-DELAY 0", "IMPLEMENTATION Petrel");
  s.ok("Capability list follows");
  for (const c of caps) s.line(c);
  s.line(".");
}

function tlsRequired(s: Pop3Session): boolean {
  if (s.loginAllowed) return false;
  s.err("[AUTH] TLS required: use STLS first, or the pop3s port");
  return true;
}

export function user(s: Pop3Session, arg: string): void {
  if (tlsRequired(s)) return;
  if (arg === "") return s.err("Syntax: USER name");
  s.user = arg;
  s.ok("send PASS");
}

export async function pass(s: Pop3Session, arg: string): Promise<void> {
  if (tlsRequired(s)) return;
  const name = s.user;
  if (name === undefined) return s.err("USER first");
  s.user = undefined;
  // RFC 1939 7: the password may contain spaces; the whole rest of the line is the password.
  const account = await s.backend.authenticate(name, arg, s.remoteAddress);
  if (!account) return s.loginFailed(name, "USER");
  await s.loggedIn(account, "USER");
}

export async function auth(s: Pop3Session, arg: string): Promise<void> {
  const words = arg === "" ? [] : arg.split(" ");
  if (words.length === 0) {
    // Listing the mechanisms with a bare AUTH predates CAPA; some clients still ask.
    s.ok("SASL mechanisms follow");
    if (s.loginAllowed) s.line("PLAIN");
    s.line(".");
    return;
  }
  if (tlsRequired(s)) return;
  const [mech, initial, extra] = words;
  if (extra !== undefined || !mech) return s.err("Syntax: AUTH mechanism [initial-response]");
  if (mech.toUpperCase() !== "PLAIN") return s.err("unsupported SASL mechanism");
  if (initial !== undefined) return plainResponse(s, initial);
  s.line("+ ");
  s.saslLine = (line) => plainResponse(s, line);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** RFC 4616: [authzid] NUL authcid NUL passwd; "=" is an empty initial response, "*" cancels. */
async function plainResponse(s: Pop3Session, response: string): Promise<void> {
  if (response === "*") return s.err("authentication cancelled");
  const raw = response === "=" ? "" : response;
  if (!BASE64.test(raw)) return s.err("invalid base64");
  const parts = Buffer.from(raw, "base64").toString("utf8").split("\0");
  if (parts.length !== 3) return s.loginFailed("", "PLAIN");
  const [authzid, authcid, password] = parts as [string, string, string];
  // Logging in as another user (authzid) is not supported.
  if (authzid !== "" && authzid !== authcid) return s.loginFailed(authcid, "PLAIN");
  const account = await s.backend.authenticate(authcid, password, s.remoteAddress);
  if (!account) return s.loginFailed(authcid, "PLAIN");
  await s.loggedIn(account, "PLAIN");
}

export async function stls(s: Pop3Session, arg: string): Promise<void> {
  if (arg !== "") return s.err("STLS takes no argument");
  if (s.tls) return s.err("already using TLS");
  if (!s.opts.starttls) return s.err("STLS not available");
  await s.upgradeTls();
}

export function quitAuthorization(s: Pop3Session, _arg: string): void {
  s.ok("Petrel POP3 server signing off");
  s.closeAfterReplies();
}
