export * from "./types.js";
export { asciiDomain, unicodeDomain } from "./domain-name.js";
export { addressKey, localKey, splitAddress } from "./address-key.js";
export { openSqliteStore } from "./sqlite/index.js";
export { openPostgresStore, type PostgresStoreOptions } from "./postgres/index.js";
export { CachedDirectory } from "./cached-directory.js";
