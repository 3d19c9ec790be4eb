import { join } from "node:path";
import { openDatabase } from "./database.js";
import { SqliteQueueStore } from "./queue-store.js";
import { SqliteDirectory } from "./directory.js";
import type { Store } from "../types.js";

/** The embedded backend: one SQLite file under the data directory. */
export function openSqliteStore(dataDir: string): Store {
  const db = openDatabase(join(dataDir, "petrel.db"));
  return {
    queue: new SqliteQueueStore(db),
    directory: new SqliteDirectory(db),
    async close() {
      db.close();
    },
  };
}
