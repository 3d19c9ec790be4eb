/**
 * Commands valid in any state (RFC 9051 6.1): CAPABILITY, NOOP, LOGOUT; ID (RFC 2971); ENABLE
 * (RFC 5161, authenticated state); CHECK (rev1, a NOOP here).
 */
import type { CommandContext, Done, ImapSession } from "../session.js";
import { bad } from "../session.js";

export function capability(s: ImapSession): Done {
  s.untagged(`CAPABILITY ${s.capabilities().join(" ")}`);
}

export async function noop(s: ImapSession): Promise<Done> {
  // NOOP and CHECK always ask for changes: polling clients rely on them.
  if (s.selected) await s.sync(true, true);
}

export function logout(s: ImapSession, c: CommandContext): Done {
  s.untagged("BYE Petrel IMAP server signing off");
  s.write(`${c.tag} OK LOGOUT completed\r\n`);
  s.state = "logout";
  s.closeAfterReplies();
  return "answered";
}

/** RFC 2971: ID ( field value ... ) / NIL. We log what the client says about itself. */
export function id(s: ImapSession, c: CommandContext): Done {
  const { p } = c;
  const fields: Record<string, string | null> = {};
  if (p.peek() === 0x28) {
    const items = p.list(() => p.nstring());
    if (items.length % 2 !== 0 || items.length > 60) throw bad("ID needs field-value pairs (at most 30)");
    for (let i = 0; i < items.length; i += 2) fields[String(items[i]).slice(0, 30)] = items[i + 1]?.slice(0, 1024) ?? null;
  } else if (p.nstring() !== null) throw bad("ID needs a list or NIL");
  p.end();
  if (Object.keys(fields).length) s.log.info({ event: "id", client: fields }, "client id");
  s.untaggedValues("ID", [["name", "Petrel", "vendor", "Petrel"]]);
}

const ENABLEABLE = ["CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2"];

/** RFC 5161: only the extensions newly enabled are listed in ENABLED. */
export function enable(s: ImapSession, c: CommandContext): Done {
  const { p } = c;
  const names = [p.keyword()];
  while (p.maybeSp()) names.push(p.keyword());
  p.end();
  const now: string[] = [];
  for (const n of names) {
    if (!ENABLEABLE.includes(n) || s.enabled.has(n)) continue;
    s.enabled.add(n);
    now.push(n === "IMAP4REV2" ? "IMAP4rev2" : n);
    // RFC 7162 3.2.3: QRESYNC implies CONDSTORE.
    if (n === "QRESYNC" || n === "CONDSTORE") s.condstore = true;
    if (n === "QRESYNC" && !s.enabled.has("CONDSTORE")) s.enabled.add("CONDSTORE");
  }
  s.untagged(`ENABLED${now.map((n) => " " + n).join("")}`);
}
