/** Parsing the arguments the directory commands share: addresses, alias sources, sizes. */
import { AddressSyntaxError, formatAddress, isValidDomain, parseMailbox, type Address } from "../core/address.js";
import { parseSize } from "../config/size.js";
import { asciiDomain, unicodeDomain } from "../store/domain-name.js";

function parse(text: string): Address {
  try {
    return parseMailbox(text.normalize("NFC"));
  } catch (e) {
    if (e instanceof AddressSyntaxError) throw new Error(`${text} is not a valid address: ${e.reason}`);
    throw e;
  }
}

/** local@domain of an account: UTF-8 local part (NFC), domain in its Unicode form. */
export function accountAddress(text: string): string {
  const a = parse(text);
  if (a.domain.startsWith("[")) throw new Error(`${text}: an account needs a domain name, not an address literal`);
  if (formatAddress(a).startsWith('"')) throw new Error(`${text}: quoted local parts are not supported for accounts`);
  return `${a.local}@${unicodeDomain(a.domain)}`;
}

/** An alias target: any valid address, local or remote, in canonical form. */
export function targetAddress(text: string): string {
  const a = parse(text);
  return a.domain.startsWith("[") ? formatAddress(a) : formatAddress({ ...a, domain: unicodeDomain(a.domain) });
}

/** A domain name given on the command line, in its Unicode form. */
export function domainName(text: string): string {
  const name = text.normalize("NFC");
  if (name.startsWith("[") || !isValidDomain(name) || !isValidDomain(asciiDomain(name))) throw new Error(`${text} is not a valid domain name`);
  return unicodeDomain(name);
}

/** An alias source: local@domain, or @domain for a catch-all. */
export function aliasSource(text: string): string {
  if (text.startsWith("@")) return `@${domainName(text.slice(1))}`;
  return accountAddress(text);
}

/** A quota: a size ("1GiB", "500MB", bytes), or "none" for unlimited. */
export function parseQuota(text: string): number | null {
  if (text.trim().toLowerCase() === "none") return null;
  const n = parseSize(text);
  if (n === null || !Number.isSafeInteger(n)) throw new Error(`invalid quota "${text}": give a size like 1GiB, 500MB or a number of bytes, or none`);
  return n;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 1536 -> "1.5 KiB". */
export function formatSize(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) (v /= 1024), i++;
  return i === 0 ? `${v} B` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${UNITS[i]}`;
}
