/**
 * SPF for the greylisting whitelist (`greylist.spfWhitelist`): a sender from a whitelisted
 * domain skips greylisting only when SPF passes for the client (RFC 7208), so that anyone can't
 * skip it by naming a big provider as sender. Evaluated with mailauth over our Resolver; any
 * result but pass (fail, softfail, temperror...) just means "greylist as usual".
 */
import { spf } from "mailauth/lib/spf/index.js";
import { mailauthResolver } from "../dns/mailauth.js";
import type { Resolver } from "../dns/types.js";
import { plainIp } from "./net.js";

export type SpfPass = (ip: string, helo: string, sender: string) => Promise<boolean>;

export function spfPassChecker(resolver: Resolver, hostname: string): SpfPass {
  const resolve = mailauthResolver(resolver);
  return async (ip, helo, sender) => {
    try {
      const r = await spf({ sender, ip: plainIp(ip), helo, mta: hostname, resolver: resolve as never });
      return r.status.result === "pass";
    } catch {
      return false;
    }
  };
}
