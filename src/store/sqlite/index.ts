import { join } from "node:path";
import { openDatabase } from "./database.js";
import { SqliteQueueStore } from "./queue-store.js";
import { SqliteDirectory } from "./directory.js";
import { WriterThread } from "./writer-thread.js";
import type { Store } from "../types.js";

export interface SqliteStoreOptions {
  /** Commit queue inserts on a separate thread (the server does; the CLI need not). */
  writerThread?: boolean;
}

/** The embedded backend: one SQLite file under the data directory. */
export function openSqliteStore(dataDir: string, opts: SqliteStoreOptions = {}): Store {
  const file = join(dataDir, "petrel.db");
  const db = openDatabase(file);
  const writer = opts.writerThread ? new WriterThread(file) : undefined;
  return {
    queue: new SqliteQueueStore(db, writer),
    directory: new SqliteDirectory(db),
    async close() {
      await writer?.close();
      db.close();
    },
  };
}
