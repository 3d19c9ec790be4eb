/**
 * How addresses are matched. Domains compare by their ASCII (A-label) form, case-insensitive.
 * Local parts compare case-insensitively after Unicode NFC normalisation: RFC 5321 2.4 allows
 * case-sensitive local parts but discourages relying on it, and every mainstream server folds
 * case, which is what users expect ("Alice@" and "alice@" are one mailbox).
 */
import { asciiDomain } from "./domain-name.js";

export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf("@");
  if (at < 0) return { local: address, domain: "" };
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

export function localKey(local: string): string {
  return local.normalize("NFC").toLowerCase();
}

/** The lookup key of "local@domain", or of "@domain" (catch-all). */
export function addressKey(address: string): string {
  const { local, domain } = splitAddress(address);
  return `${localKey(local)}@${asciiDomain(domain)}`;
}
