export * from "./types.js";
export { asciiDomain, unicodeDomain } from "./domain-name.js";
export { openSqliteStore } from "./sqlite/index.js";
