export * from "./types.js";
export { DnsResolver, reverseName, type DnsResolverOptions } from "./resolver.js";
export { mailauthResolver, type MailauthResolver } from "./mailauth.js";
