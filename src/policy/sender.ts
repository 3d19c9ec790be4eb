/**
 * Sender policy for authenticated submission (RFC 6409 6.1: the MSA may check that the sender
 * is the authenticated user). A user may use as MAIL FROM and in From:/Sender: only their own
 * address (and its "+tag" subaddresses), addresses of aliases that deliver to them, and the
 * entries of their send-as list ("@domain" allows the whole domain). Catch-all aliases do not
 * count: they would make every unknown address of a domain usable by whoever receives it.
 */
import type { Reply } from "../core/reply.js";
import { R } from "../smtp/replies.js";
import { parseAddressList } from "../mime/address.js";
import { fieldName, fieldValue, forEachField } from "../mime/header.js";
import { addressKey, splitAddress } from "../store/address-key.js";
import { asciiDomain } from "../store/domain-name.js";

/** Who is sending: the authenticated account. */
export interface SenderIdentity {
  accountId: number;
  address: string;
  sendAs: readonly string[];
}

/** The directory lookups the policy needs (Directory has them). */
export interface SenderDirectory {
  getAlias(source: string): Promise<string[] | null>;
  getAccount(address: string): Promise<{ id: number } | null>;
}

export interface SenderPolicyOptions {
  /** Subaddress separator ("+"); "" when subaddressing is off. */
  separator: string;
}

const MAX_ALIAS_DEPTH = 10;

/** The key of an address, or null when it cannot be one of ours (bad domain, no domain). */
function keyOf(address: string): string | null {
  const { domain } = splitAddress(address);
  if (domain === "") return null;
  try {
    return addressKey(address);
  } catch {
    return null;
  }
}

/** The address without its "+tag" (RFC 5233), or null when it has none. */
function withoutTag(address: string, separator: string): string | null {
  if (!separator) return null;
  const { local, domain } = splitAddress(address);
  const i = local.indexOf(separator);
  return i > 0 ? `${local.slice(0, i)}@${domain}` : null;
}

function sendAsAllows(key: string, entries: readonly string[]): boolean {
  const domain = key.slice(key.lastIndexOf("@") + 1);
  for (const e of entries) {
    if (e.startsWith("@")) {
      try {
        if (asciiDomain(e.slice(1)) === domain) return true;
      } catch {
        /* a broken entry allows nothing */
      }
    } else if (keyOf(e) === key) {
      return true;
    }
  }
  return false;
}

/** Whether an alias (not a catch-all) leads to the account, through nested aliases too. */
async function aliasLeadsTo(address: string, accountId: number, dir: SenderDirectory, seen: Set<string>, depth: number): Promise<boolean> {
  const key = keyOf(address);
  if (key === null || seen.has(key) || depth > MAX_ALIAS_DEPTH) return false;
  seen.add(key);
  const targets = await dir.getAlias(address);
  if (!targets) return false;
  for (const t of targets) {
    const account = keyOf(t) === null ? null : await dir.getAccount(t);
    if (account?.id === accountId) return true;
    if (!account && (await aliasLeadsTo(t, accountId, dir, seen, depth + 1))) return true;
  }
  return false;
}

/** May this identity use `address` as a sender? */
export async function mayUseSender(address: string, id: SenderIdentity, dir: SenderDirectory, opts: SenderPolicyOptions): Promise<boolean> {
  const forms = [address];
  const untagged = withoutTag(address, opts.separator);
  if (untagged) forms.push(untagged);
  const own = keyOf(id.address);
  for (const a of forms) {
    const key = keyOf(a);
    if (key === null) continue;
    if (key === own) return true;
    if (sendAsAllows(key, id.sendAs)) return true;
    if (await aliasLeadsTo(a, id.accountId, dir, new Set(), 0)) return true;
  }
  return false;
}

/** MAIL FROM: 553 5.7.1 for an address the user may not use; the null reverse-path is fine. */
export async function envelopeSenderVerdict(address: string | null, id: SenderIdentity, dir: SenderDirectory, opts: SenderPolicyOptions): Promise<Reply | undefined> {
  if (address === null || address === "") return undefined;
  return (await mayUseSender(address, id, dir, opts)) ? undefined : R.senderNotOwned(address);
}

/** Upper bound on the header octets looked at for From:/Sender:. */
const MAX_FIELD_CHARS = 64 * 1024;

/**
 * The addresses in the From: and Sender: fields of a header block (every field, every mailbox
 * of a list; group names skipped). A mailbox without a domain comes back as its bare local part,
 * which no rule allows.
 */
export function headerSenders(header: Buffer): { field: string; address: string }[] {
  const out: { field: string; address: string }[] = [];
  forEachField(header, 0, header.length, (f) => {
    const name = fieldName(header, f).toLowerCase();
    if (name !== "from" && name !== "sender") return;
    const { text } = fieldValue(header, f);
    const list = parseAddressList(text, { left: MAX_FIELD_CHARS }, MAX_FIELD_CHARS);
    // An empty group ("undisclosed:;", RFC 6854) names nobody and passes.
    const found = list.length > 0;
    for (const m of list) {
      if (m.mailbox === null || m.host === null) continue; // group start or end
      out.push({ field: name, address: m.host === "" ? m.mailbox : `${m.mailbox}@${m.host}` });
    }
    // A From: that names no mailbox we can read is refused rather than waved through.
    if (!found && text.trim() !== "") out.push({ field: name, address: text.trim() });
  });
  return out;
}

/** Header text goes back in a reply: one line of printable characters, bounded. */
function printable(text: string): string {
  const t = text.replace(/[^\x20-\x7e]/g, "?");
  return t.length > 200 ? `${t.slice(0, 200)}...` : t;
}

/** End of data: 550 5.7.1 when From: or Sender: names an address the user may not use. */
export async function headerSenderVerdict(header: Buffer, id: SenderIdentity, dir: SenderDirectory, opts: SenderPolicyOptions): Promise<Reply | undefined> {
  for (const s of headerSenders(header)) {
    if (!(await mayUseSender(s.address, id, dir, opts))) return R.headerSenderNotOwned(s.field === "sender" ? "Sender" : "From", printable(s.address));
  }
  return undefined;
}
