export { relayVerdict, hasRoutingTrick, type RelayContext } from "./relay.js";
export { inboundDecision, mergePolicy, strictest, isTrustedSealer, type AuthAction, type AuthFacts, type InboundAuthPolicy, type InboundDecision } from "./inbound-auth.js";
export { InboundGuard, type ClientFacts, type ClientView, type InboundOptions, type InboundDeps } from "./antiabuse.js";
export { Greylist, type GreylistOptions, type GreylistVerdict } from "./greylist.js";
export { Dnsbl, type DnsblOptions, type DnsblZone, type DnsblResult } from "./dnsbl.js";
export { RateLimiter } from "./rate-limit.js";
export { fcrdns, heloFindings, type FcrdnsResult, type HeloFinding } from "./client-checks.js";
export { spfPassChecker, type SpfPass } from "./spf-whitelist.js";
