/**
 * Relay control (RFC 5321 3.6, RFC 2505): an unauthenticated client may only send to our own
 * domains. Address forms that some MTAs once routed onwards are refused outright, because a
 * later hop might still honour them: percent hack (user%elsewhere@us), bang paths
 * (elsewhere!user@us), a quoted "@" in the local part, and IP-literal domains.
 * Source routes have already been dropped by the parser (RFC 5321 4.1.2: "SHOULD ignore").
 */
import type { Address } from "../core/address.js";
import type { Reply } from "../core/reply.js";
import { R } from "../smtp/replies.js";

export interface RelayContext {
  authenticated: boolean;
  isLocalDomain(domain: string): Promise<boolean>;
}

export function hasRoutingTrick(a: Address): boolean {
  return /[%!@]/.test(a.local) || a.domain.startsWith("[");
}

export async function relayVerdict(a: Address, ctx: RelayContext): Promise<Reply | undefined> {
  if (ctx.authenticated) return undefined;
  // "<Postmaster>" with no domain (RFC 5321 4.1.1.3) is always ours.
  if (a.domain === "" && a.local.toLowerCase() === "postmaster") return undefined;
  if (hasRoutingTrick(a)) return R.relayDenied();
  if (!(await ctx.isLocalDomain(a.domain))) return R.relayDenied();
  return undefined;
}
