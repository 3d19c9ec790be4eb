/**
 * The store the config names: SQLite under the data directory (embedded default), or
 * PostgreSQL shared by several nodes.
 */
import { join } from "node:path";
import { ConfigError } from "../core/errors.js";
import type { Config } from "../config/schema.js";
import { openSqliteStore } from "../store/sqlite/index.js";
import { openPostgresStore } from "../store/postgres/index.js";
import type { Store } from "../store/types.js";

export interface OpenedStore {
  store: Store;
  /** Message bodies must stay in the database (no node-local spool files). */
  bodiesInStore: boolean;
}

export async function openStore(config: Config, opts: { server: boolean }): Promise<OpenedStore> {
  if (config.storage.backend === "postgres") {
    const url = config.storage.postgresUrl;
    if (!url) throw new ConfigError("storage.postgresUrl is required when storage.backend is postgres");
    return { store: await openPostgresStore(url, { schema: config.storage.postgresSchema ?? undefined }), bodiesInStore: true };
  }
  // The server runs writes on a writer thread; a CLI command writes from its own thread.
  return { store: openSqliteStore(config.dataDir, { writerThread: opts.server, blobInlineMax: config.smtp.inlineMaxSize }), bodiesInStore: false };
}

export const spoolDir = (config: Config) => join(config.dataDir, "spool");
