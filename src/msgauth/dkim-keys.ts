/**
 * DKIM key pairs and the DNS records that publish them (RFC 6376 3.6.1, RFC 8463 4).
 * Private keys are PKCS#8 PEM and public keys SPKI PEM, as the store keeps them.
 */
import { createPublicKey, generateKeyPairSync } from "node:crypto";

export type DkimKeyAlgorithm = "rsa" | "ed25519";

export interface DkimKeyPair {
  privateKey: string;
  publicKey: string;
}

/** RSA 2048 by default: RFC 8301 3.2 wants at least 1024 and recommends 2048. */
export function generateDkimKeyPair(algorithm: DkimKeyAlgorithm, rsaBits = 2048): DkimKeyPair {
  if (algorithm === "rsa") {
    return generateKeyPairSync("rsa", { modulusLength: rsaBits, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
  }
  return generateKeyPairSync("ed25519", { publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
}

/** The p= value: RSA as base64 SubjectPublicKeyInfo; Ed25519 as the bare 32-octet key (RFC 8463 4). */
export function dkimPublicKeyData(algorithm: DkimKeyAlgorithm, publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  return (algorithm === "ed25519" ? der.subarray(der.length - 32) : der).toString("base64");
}

/** "selector._domainkey.example.com" (RFC 6376 3.6.2.1). */
export function dkimRecordName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
}

/** "v=DKIM1; k=rsa; p=..." */
export function dkimRecordValue(algorithm: DkimKeyAlgorithm, publicKeyPem: string): string {
  return `v=DKIM1; k=${algorithm}; p=${dkimPublicKeyData(algorithm, publicKeyPem)}`;
}

/**
 * The value as zone-file character-strings: a TXT string holds at most 255 octets (RFC 1035
 * 3.3.14), and a 2048-bit RSA key is longer, so it is split into quoted strings that
 * resolvers join (RFC 6376 3.6.2.2).
 */
export function zoneFileStrings(value: string, max = 255): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += max) parts.push(`"${value.slice(i, i + max)}"`);
  return parts.join(" ");
}

/** A selector is a dot-separated list of LDH labels (RFC 6376 3.1). */
export function isValidSelector(s: string): boolean {
  return s.length <= 63 * 2 && s.split(".").every((l) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

/** petrel<yyyymm> (UTC), with "ed" added for Ed25519 keys so that both can be published at once. */
export function defaultSelector(algorithm: DkimKeyAlgorithm, now: number): string {
  const d = new Date(now);
  const base = `petrel${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  return algorithm === "ed25519" ? `${base}ed` : base;
}
