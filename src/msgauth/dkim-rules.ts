/**
 * RFC 6376 verification rules that mailauth 4.x does not apply, checked on its passing results:
 * a signature that breaks one is not a pass (found with Mail::DKIM's corpus).
 * - 6.1.1: v= must be 1; the i= domain must be d= or a subdomain of it; an unknown q= query
 *   method (3.5: only dns/txt is defined; unrecognized methods are ignored) leaves no way to
 *   fetch the key.
 * - RFC 8301 3.1: rsa-sha1 signatures are not valid (an option keeps them, for old corpora).
 * - 3.6.1 key record: h= lists the hash algorithms the key may be used with; s= the service
 *   types (* or email); t=s forbids an i= domain that is a subdomain of d=.
 * (The key record's g= tag of RFC 4871 was removed by RFC 6376 and is ignored.)
 */
import type { DKIMResult } from "mailauth";

/** tag=value list (RFC 6376 3.2), names lower-cased, values with whitespace removed. */
export function tagList(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(";")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    if (name && !out.has(name)) out.set(name, part.slice(eq + 1).replace(/\s+/g, ""));
  }
  return out;
}

/** i= is dkim-quoted-printable (RFC 6376 2.11): =XX stands for one octet. */
/**
 * RFC 6376 3.2 tag-list syntax, strictly: tag-name = ALPHA *(ALPHA / DIGIT / "_"), case-
 * sensitive, each tag at most once, no empty tag-spec except after the last ";". Returns why
 * the list is malformed, or null. ARC-Seal and ARC-Message-Signature use the same syntax
 * (RFC 8617 4.1.2, 4.1.3); mailauth parses them leniently.
 */
export function tagListViolation(text: string, required: readonly string[] = []): string | null {
  const seen = new Set<string>();
  const specs = text.split(";");
  for (let k = 0; k < specs.length; k++) {
    const spec = specs[k]!;
    if (spec.trim() === "") {
      if (k === specs.length - 1) continue;
      return "empty tag";
    }
    const eq = spec.indexOf("=");
    if (eq < 0) return "tag without =";
    const name = spec.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) return `invalid tag name ${JSON.stringify(name)}`;
    if (seen.has(name)) return `duplicate tag ${name}`;
    seen.add(name);
  }
  for (const r of required) if (!seen.has(r)) return `missing tag ${r}`;
  return null;
}

const domainOf = (i: string) => {
  const plain = i.replace(/=([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  return plain.slice(plain.lastIndexOf("@") + 1).toLowerCase().replace(/\.$/, "");
};

/**
 * Why a signature that mailauth passed is not a valid one, or null. `signature` is the
 * DKIM-Signature value (after the colon), `keyRecord` the key's TXT record.
 */
export function dkimRuleViolation(signature: string, keyRecord: string | undefined, allowRsaSha1 = false): string | null {
  const syntax = tagListViolation(signature, ["v", "a", "b", "bh", "d", "h", "s"]);
  if (syntax) return syntax;
  const sig = tagList(signature);
  // RFC 8301 3.1: verifiers MUST NOT consider rsa-sha1 signatures valid.
  if (!allowRsaSha1 && sig.get("a")?.toLowerCase() === "rsa-sha1") return "rsa-sha1 is not accepted (RFC 8301)";
  const d = (sig.get("d") ?? "").toLowerCase().replace(/\.$/, "");
  if (sig.get("v") !== "1") return `unsupported signature version v=${sig.get("v") ?? ""}`;
  const i = sig.get("i");
  const iDomain = i === undefined ? d : domainOf(i);
  if (iDomain !== d && !iDomain.endsWith(`.${d}`)) return "i= is not within d=";
  const q = sig.get("q");
  if (q !== undefined && !q.toLowerCase().split(":").some((m) => m === "dns/txt" || m === "dns")) return `unknown query method q=${q}`;
  if (keyRecord === undefined) return null;
  const key = tagList(keyRecord);
  const hash = (sig.get("a") ?? "").toLowerCase().split("-").pop() ?? "";
  const h = key.get("h");
  if (h !== undefined && !h.toLowerCase().split(":").includes(hash)) return `key does not allow ${hash}`;
  const s = key.get("s");
  if (s !== undefined && !s.toLowerCase().split(":").some((x) => x === "*" || x === "email")) return "key is not for email";
  const t = key.get("t");
  if (t !== undefined && t.toLowerCase().split(":").includes("s") && iDomain !== d) return "key with t=s used for a subdomain i=";
  return null;
}

/**
 * Applies the rules to mailauth's results: a violating pass becomes neutral (RFC 8601 2.7.1:
 * "signed, but ... not otherwise able to be processed"), with the reason as comment.
 * `signatures` are the DKIM-Signature values of the message, matched by b=.
 */
export function applyDkimRules(results: DKIMResult[], signatures: readonly string[], allowRsaSha1 = false): void {
  const byB = new Map<string, string>();
  for (const s of signatures) byB.set(tagList(s).get("b") ?? "", s);
  for (const r of results) {
    if (r.status.result !== "pass") continue;
    const x = r as DKIMResult & { signature?: string; rr?: string };
    const sig = byB.get((x.signature ?? "").replace(/\s+/g, ""));
    if (sig === undefined) continue;
    const why = dkimRuleViolation(sig, x.rr, allowRsaSha1);
    if (!why) continue;
    r.status.result = "neutral";
    r.status.comment = why;
    r.info = r.info.replace(/^dkim=pass\b/, `dkim=neutral (${why})`);
  }
}
