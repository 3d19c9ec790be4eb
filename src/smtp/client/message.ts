/**
 * What a message needs from the server it goes to: 8BITMIME (RFC 6152) when the body has octets
 * over 127, SMTPUTF8 (RFC 6531) when an address or, for an SMTPUTF8 message, a header field is
 * not ASCII. Also the DSN parameters as they go on the wire (RFC 3461 4).
 */
import { domainToASCII } from "node:url";
import { encodeXtext } from "../parse/xtext.js";

export function hasEightBit(data: Buffer, end = data.length): boolean {
  for (let i = 0; i < end; i++) if (data[i]! > 0x7f) return true;
  return false;
}

/** Where the header section ends (the empty line), or the whole buffer. */
export function headerEnd(body: Buffer): number {
  const i = body.indexOf("\r\n\r\n");
  return i < 0 ? body.length : i + 2;
}

export function isAscii(s: string): boolean {
  return !/[^\x00-\x7f]/.test(s);
}

/**
 * The address as it may go to a server without SMTPUTF8: an IDN domain becomes its A-labels
 * (the same domain, RFC 5890); a non-ASCII local part cannot be written, so null.
 */
export function asciiAddress(address: string): string | null {
  if (isAscii(address)) return address;
  const at = address.lastIndexOf("@");
  const local = at < 0 ? address : address.slice(0, at);
  if (!isAscii(local) || at < 0) return null;
  const domain = domainToASCII(address.slice(at + 1));
  return domain ? `${local}@${domain}` : null;
}

/**
 * ORCPT value: "rfc822;" + xtext for ASCII addresses; "utf-8;" + utf-8-addr-xtext (RFC 6533 3),
 * where each non-ASCII character becomes "\x{HEX}", unless the session uses SMTPUTF8, where
 * utf-8-addr-unitext lets the characters through.
 */
export function orcptParam(type: string, address: string, smtputf8: boolean): string {
  if (type.toLowerCase() !== "utf-8") return `${type};${encodeXtext(address)}`;
  let out = "";
  for (const ch of address) {
    const cp = ch.codePointAt(0)!;
    if (cp > 0x7e && smtputf8) out += ch;
    else if (cp < 0x21 || cp > 0x7e || ch === "+" || ch === "=" || ch === "\\") out += `\\x{${cp.toString(16).toUpperCase()}}`;
    else out += ch;
  }
  return `utf-8;${out}`;
}
