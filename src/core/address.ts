/**
 * Mailbox addresses as they appear in the SMTP envelope (RFC 5321 4.1.2, RFC 6531 3.3).
 * Parsing is strict: anything that is not a valid Path is a syntax error, so that
 * tricks (bang paths, percent hack, quoted "@") can be recognised and refused by policy.
 */
export interface Address {
  /** Local part exactly as given (without quotes when it was a valid quoted-string). */
  readonly local: string;
  /** Domain in lower case, or an address literal like "[127.0.0.1]". */
  readonly domain: string;
  /** True when the local part was written as a quoted string. */
  readonly quoted: boolean;
  /** True when local part or domain carries non-ASCII (needs SMTPUTF8). */
  readonly utf8: boolean;
}

export class AddressSyntaxError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "AddressSyntaxError";
  }
}

// RFC 5321 4.1.2 Dot-string of atext (RFC 5322 3.2.3), extended with UTF-8 by RFC 6531 3.3.
const DOT_STRING = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+)*$/u;
// sub-domain = Let-dig [Ldh-str]; RFC 6531 allows U-labels.
const LABEL = /^[A-Za-z0-9\u0080-\u{10FFFF}]([A-Za-z0-9\-\u0080-\u{10FFFF}]*[A-Za-z0-9\u0080-\u{10FFFF}])?$/u;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export const MAX_LOCAL_PART = 64; // RFC 5321 4.5.3.1.1
export const MAX_DOMAIN = 255; // RFC 5321 4.5.3.1.2
export const MAX_PATH = 256; // RFC 5321 4.5.3.1.3

export function isValidDomain(domain: string): boolean {
  if (domain.length === 0 || domain.length > MAX_DOMAIN) return false;
  if (domain.startsWith("[")) return isAddressLiteral(domain);
  const labels = domain.split(".");
  return labels.every((l) => l.length > 0 && l.length <= 63 && LABEL.test(l));
}

function isAddressLiteral(lit: string): boolean {
  if (!lit.endsWith("]")) return false;
  const inner = lit.slice(1, -1);
  if (IPV4.test(inner)) return true;
  if (/^IPv6:/i.test(inner)) return isIPv6(inner.slice(5));
  return false;
}

/** RFC 5321 4.1.3 IPv6-addr: eight groups, or fewer with one "::", optionally ending in IPv4. */
function isIPv6(s: string): boolean {
  const v4 = /^(.*:)([^:]*\.[^:]*)$/.exec(s);
  if (v4 && !IPV4.test(v4[2]!)) return false;
  const parts = (v4 ? `${v4[1]}0:0` : s).split("::");
  if (parts.length > 2) return false;
  const groups = parts.flatMap((p) => (p === "" ? [] : p.split(":")));
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return parts.length === 2 ? groups.length <= 7 : groups.length === 8;
}

function hasNonAscii(s: string): boolean {
  return /[^\x00-\x7f]/.test(s);
}

/** Parse "local@domain" (no angle brackets). Source routes must already be removed. */
export function parseMailbox(text: string): Address {
  if (text.length > MAX_PATH) throw new AddressSyntaxError("address too long");
  let local: string;
  let rest: string;
  let quoted = false;
  if (text.startsWith('"')) {
    // RFC 5321 Quoted-string: qtextSMTP or quoted-pairSMTP (backslash + %d32-126).
    let i = 1;
    let value = "";
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (c === "\\") {
        const n = text[i + 1];
        if (n === undefined || n < " " || n > "~") throw new AddressSyntaxError("bad quoted-pair in local part");
        value += n;
        i++;
      } else if (c === '"') {
        break;
      } else if (c < " " || c === "\x7f") {
        throw new AddressSyntaxError("control character in local part");
      } else {
        value += c;
      }
    }
    if (text[i] !== '"') throw new AddressSyntaxError("unterminated quoted local part");
    if (text[i + 1] !== "@") throw new AddressSyntaxError("missing @ after quoted local part");
    local = value;
    rest = text.slice(i + 2);
    quoted = true;
  } else {
    const at = text.lastIndexOf("@");
    if (at <= 0) throw new AddressSyntaxError("address must be local-part@domain");
    local = text.slice(0, at);
    rest = text.slice(at + 1);
    if (!DOT_STRING.test(local)) throw new AddressSyntaxError("invalid characters in local part");
  }
  if (Buffer.byteLength(local) > MAX_LOCAL_PART) throw new AddressSyntaxError("local part too long");
  if (local.length === 0) throw new AddressSyntaxError("empty local part");
  if (!isValidDomain(rest)) throw new AddressSyntaxError("invalid domain");
  const domain = rest.startsWith("[") ? rest : rest.toLowerCase();
  return { local, domain, quoted, utf8: hasNonAscii(local) || hasNonAscii(domain) };
}

/** RFC 5321 4.1.2: a Path may carry a source route "@a,@b:" that servers SHOULD ignore. */
export function stripSourceRoute(path: string): string {
  const m = /^@[^:]*:(.*)$/s.exec(path);
  if (!m) return path;
  const route = path.slice(0, path.length - m[1]!.length - 1);
  for (const hop of route.split(",")) {
    if (!hop.startsWith("@") || !isValidDomain(hop.slice(1))) throw new AddressSyntaxError("invalid source route");
  }
  return m[1]!;
}

/** Render an address back into RFC 5321 form, quoting the local part when needed. */
export function formatAddress(a: Address): string {
  const local = DOT_STRING.test(a.local) ? a.local : `"${a.local.replace(/(["\\])/g, "\\$1")}"`;
  return `${local}@${a.domain}`;
}

