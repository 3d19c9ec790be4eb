/**
 * The resolver function mailauth takes (`resolver(name, rrtype)`), over our Resolver: mailauth
 * then uses our servers, timeouts and cache. mailauth tells "no record" from "failure" by
 * node:dns error codes (ENOTFOUND, ENODATA), so our DnsError codes are mapped back to them.
 */
import { DnsError, type Resolver } from "./types.js";

export type MailauthResolver = (name: string, rrtype: string) => Promise<unknown[]>;

const NODE_CODES: Record<string, string> = {
  NXDOMAIN: "ENOTFOUND",
  NODATA: "ENODATA",
  TIMEOUT: "ETIMEOUT",
  SERVFAIL: "ESERVFAIL",
  REFUSED: "EREFUSED",
  FORMERR: "EFORMERR",
  // A name our resolver cannot even ask about (c-ares refuses e.g. "a:b/c.example") has no
  // records as far as we can know: a definite "no such name", never a temporary error.
  BADNAME: "ENOTFOUND",
};

export function mailauthResolver(resolver: Resolver): MailauthResolver {
  return async (name, rrtype) => {
    try {
      switch (rrtype.toUpperCase()) {
        case "TXT":
          return await resolver.txt(name);
        case "MX":
          return await resolver.mx(name);
        case "A":
          return await resolver.a(name);
        case "AAAA":
          return await resolver.aaaa(name);
        case "PTR":
          return await resolver.ptr(name);
        default:
          throw Object.assign(new Error(`DNS ${rrtype} lookups are not supported`), { code: "ENOTIMP" });
      }
    } catch (e) {
      if (e instanceof DnsError) throw Object.assign(new Error(e.message, { cause: e }), { code: NODE_CODES[e.code] ?? "ESERVFAIL" });
      throw e;
    }
  };
}
