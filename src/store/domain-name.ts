import { domainToASCII, domainToUnicode } from "node:url";

/**
 * Domains are stored in their Unicode form (U-labels) and matched by their ASCII form
 * (A-labels), so "bücher.example" and "xn--bcher-kva.example" are the same domain.
 */
export function asciiDomain(name: string): string {
  const stripped = name.toLowerCase();
  const ascii = domainToASCII(stripped);
  return ascii || stripped;
}

export function unicodeDomain(name: string): string {
  const u = domainToUnicode(name.toLowerCase());
  return u || name.toLowerCase();
}
