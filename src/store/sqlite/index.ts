import { join } from "node:path";
import { openDatabase } from "./database.js";
import { SqliteQueueStore } from "./queue-store.js";
import { SqliteDirectory } from "./directory.js";
import { SqliteMailstore } from "./mailstore.js";
import { SqliteSendCounters } from "./send-counters.js";
import { inlineWriter } from "./writer.js";
import { writerThread } from "./writer-thread.js";
import { SqliteAuthFailures } from "./auth-failures.js";
import { SqliteDkimKeys } from "./dkim-keys.js";
import { SqliteKeyValue } from "./key-value.js";
import { SqliteDmarc } from "./dmarc.js";
import { SqliteDeliveryEvents } from "./delivery-events.js";
import type { Store } from "../types.js";

export interface SqliteStoreOptions {
  /** Run writes on a separate thread (the server does; the CLI need not). */
  writerThread?: boolean;
  /** Message blobs up to this size live in the database; larger ones in files. */
  blobInlineMax?: number;
}

/** The embedded backend: one SQLite file under the data directory. */
export function openSqliteStore(dataDir: string, opts: SqliteStoreOptions = {}): Store {
  const file = join(dataDir, "petrel.db");
  const db = openDatabase(file);
  const writer = opts.writerThread ? writerThread(file) : inlineWriter(db);
  return {
    queue: new SqliteQueueStore(db, writer),
    directory: new SqliteDirectory(db),
    mailstore: new SqliteMailstore(db, writer, join(dataDir, "blobs"), opts.blobInlineMax ?? 16_384),
    sendCounters: new SqliteSendCounters(db, writer),
    authFailures: new SqliteAuthFailures(db, writer),
    dkimKeys: new SqliteDkimKeys(db, writer),
    keyValue: new SqliteKeyValue(db, writer),
    dmarc: new SqliteDmarc(db, writer),
    deliveryEvents: new SqliteDeliveryEvents(db, writer),
    async close() {
      await writer.close();
      db.close();
    },
  };
}
