/**
 * ARC sealing (RFC 8617 5.1) of a message we forward, through mailauth's sealer: one ARC set
 * (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results) with the next instance number,
 * signed with the forwarding domain's DKIM key (RSA: RFC 8617 only defines rsa-sha256).
 *
 * The ARC-Authentication-Results copies our own Authentication-Results field (authserv-id =
 * ours) that inbound verification added when the message arrived (RFC 8617 4.1.1). The chain
 * validation status cv= is "none" for a message without ARC sets; else the arc= result our
 * Authentication-Results recorded, or, without one, the chain as verified now.
 */
import { arc as arcVerify, dkimVerify, sealMessage, type ARCSealOptions } from "mailauth";
import { authservIdOf } from "./auth-results.js";

export interface ArcSealKey {
  domain: string;
  selector: string;
  /** PKCS#8 PEM, RSA. */
  privateKey: string;
}

export interface ArcSealOptions {
  key: ArcSealKey;
  /** Our authserv-id (the host name in our Authentication-Results). */
  authservId: string;
  /** mailauth's resolver function, for verifying an existing chain. */
  resolver: (name: string, rrtype: string) => Promise<unknown[]>;
  now?: () => number;
}

export type ArcSealResult = { sealed: true; headers: Buffer; instance: number; cv: string } | { sealed: false; reason: string };

/** RFC 8617 4.2.1: at most 50 ARC sets. */
const MAX_INSTANCE = 50;

interface HeaderField {
  key: string;
  value: string;
}

function headerFields(raw: Buffer): HeaderField[] {
  let end = raw.indexOf("\r\n\r\n");
  end = end < 0 ? raw.length : end + 2;
  const text = raw.subarray(0, end).toString("latin1");
  const out: HeaderField[] = [];
  for (const line of text.split(/\r\n/)) {
    if (line === "") continue;
    if (/^[ \t]/.test(line) && out.length) out[out.length - 1]!.value += `\r\n${line}`;
    else {
      const colon = line.indexOf(":");
      if (colon > 0) out.push({ key: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1) });
    }
  }
  return out;
}

/** The arc= result in an Authentication-Results value, if it has one. */
function arcResultIn(value: string): string | null {
  const m = /(?:^|;)\s*arc\s*=\s*([a-z]+)/i.exec(value.replace(/\([^)]*\)/g, ""));
  return m ? m[1]!.toLowerCase() : null;
}

export async function arcSeal(raw: Buffer, o: ArcSealOptions): Promise<ArcSealResult> {
  const fields = headerFields(raw);
  const seals = fields.filter((f) => f.key === "arc-seal");
  const instances = seals.map((f) => Number(/(?:^|;)\s*i\s*=\s*(\d+)/.exec(f.value)?.[1] ?? 0));
  const last = Math.max(0, ...instances);
  if (last >= MAX_INSTANCE) return { sealed: false, reason: `the chain has ${last} ARC sets already` };
  // RFC 8617 5.1.2: a chain that already failed (cv=fail) is not sealed again.
  if (seals.some((f) => /(?:^|;)\s*cv\s*=\s*fail/i.test(f.value))) return { sealed: false, reason: "the ARC chain has failed already (cv=fail)" };
  const ours = fields.find((f) => f.key === "authentication-results" && authservIdOf(f.value) === o.authservId.toLowerCase());
  const authResults = ours ? ours.value.trim() : `${o.authservId}; none`;
  let cv = "none";
  if (last > 0) {
    const recorded = ours ? arcResultIn(ours.value) : null;
    if (recorded === "pass" || recorded === "fail") cv = recorded;
    else {
      const d = await dkimVerify(raw, { resolver: o.resolver as never });
      const res = await arcVerify((d as unknown as { arc: never }).arc ?? ({ chain: false } as never), { resolver: o.resolver as never });
      cv = res.status.result === "pass" ? "pass" : "fail";
    }
  }
  const seal = {
    signingDomain: o.key.domain,
    selector: o.key.selector,
    privateKey: o.key.privateKey,
    algorithm: "rsa-sha256",
    signTime: new Date(o.now ? o.now() : Date.now()),
    cv,
    authResults,
  } as ARCSealOptions & { cv: string; authResults: string };
  const headers = await sealMessage(raw, seal);
  if (headers.length === 0) return { sealed: false, reason: "mailauth produced no ARC set" };
  return { sealed: true, headers, instance: last + 1, cv };
}
