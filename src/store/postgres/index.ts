import { openPool } from "./database.js";
import { PgQueueStore } from "./queue-store.js";
import { PgDirectory } from "./directory.js";
import { PgMailstore } from "./mailstore.js";
import { PgSendCounters } from "./send-counters.js";
import { BlobFiles } from "../blob-files.js";
import { PgAuthFailures } from "./auth-failures.js";
import { PgDkimKeys } from "./dkim-keys.js";
import { PgKeyValue } from "./key-value.js";
import { PgDmarc } from "./dmarc.js";
import { PgDeliveryEvents } from "./delivery-events.js";
import type { Store } from "../types.js";

export interface PostgresStoreOptions {
  /** Tables live in this schema (created if missing); default: the connection's search_path. */
  schema?: string;
  /**
   * Message blobs up to this size live in the database, larger ones as files in blobDir (which
   * every node must share). Default: every blob in the database.
   */
  blobInlineMax?: number;
  blobDir?: string;
}

/** The shared backend: several Petrel nodes may use one database at once. */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Store> {
  if (opts.blobInlineMax !== undefined && opts.blobDir === undefined) throw new Error("blobInlineMax needs blobDir: larger blobs are stored as files there");
  const pool = await openPool(url, opts.schema);
  const files = opts.blobDir === undefined ? null : new BlobFiles(opts.blobDir);
  return {
    queue: new PgQueueStore(pool),
    directory: new PgDirectory(pool),
    mailstore: new PgMailstore(pool, opts.blobInlineMax ?? Infinity, files),
    sendCounters: new PgSendCounters(pool),
    authFailures: new PgAuthFailures(pool),
    dkimKeys: new PgDkimKeys(pool),
    keyValue: new PgKeyValue(pool),
    dmarc: new PgDmarc(pool),
    deliveryEvents: new PgDeliveryEvents(pool),
    async close() {
      await pool.end();
    },
  };
}
