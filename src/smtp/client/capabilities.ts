/**
 * The ESMTP extensions a server announced in its EHLO reply (RFC 5321 4.1.1.1): one keyword per
 * line after the first, with parameters.
 */
import type { ServerReply } from "./reply-reader.js";

export interface Capabilities {
  readonly esmtp: boolean;
  has(keyword: string): boolean;
  params(keyword: string): readonly string[];
  /** RFC 1870 SIZE limit; 0 = no limit announced (or SIZE without a number). */
  readonly maxSize: number | null;
  /** RFC 4954 AUTH mechanisms, upper case. */
  readonly auth: ReadonlySet<string>;
}

export function parseCapabilities(ehlo: ServerReply | null): Capabilities {
  const map = new Map<string, string[]>();
  const auth = new Set<string>();
  for (const line of ehlo ? ehlo.lines.slice(1) : []) {
    const [kw, ...rest] = line.trim().split(/\s+/);
    if (!kw) continue;
    // Some old servers write "AUTH=LOGIN PLAIN".
    const eq = kw.indexOf("=");
    const key = (eq > 0 ? kw.slice(0, eq) : kw).toUpperCase();
    const params = eq > 0 ? [kw.slice(eq + 1), ...rest] : rest;
    map.set(key, params);
    if (key === "AUTH") for (const p of params) if (p) auth.add(p.toUpperCase());
  }
  let maxSize: number | null = null;
  if (map.has("SIZE")) {
    const n = Number(map.get("SIZE")![0] ?? "0");
    maxSize = Number.isSafeInteger(n) && n >= 0 ? n : 0;
  }
  return {
    esmtp: ehlo !== null,
    has: (k) => map.has(k.toUpperCase()),
    params: (k) => map.get(k.toUpperCase()) ?? [],
    maxSize,
    auth,
  };
}
