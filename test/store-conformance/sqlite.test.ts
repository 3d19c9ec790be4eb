/** The conformance suite on SQLite, with writes in-thread (CLI) and on the writer thread (server). */
import Database from "better-sqlite3";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { Store } from "../../src/store/types.js";
import { runStoreConformance } from "./suite.js";

for (const writerThread of [false, true]) {
  runStoreConformance(writerThread ? "sqlite, writer thread" : "sqlite", async () => {
    const dir = await mkdtemp(join(tmpdir(), "petrel-conformance-"));
    const stores: Store[] = [openSqliteStore(dir, { writerThread })];
    // The hooks' own connection, for what the contract cannot do.
    const db = new Database(join(dir, "petrel.db"));
    db.pragma("busy_timeout = 10000");
    return {
      store: stores[0]!,
      async peer() {
        const s = openSqliteStore(dir, { writerThread });
        stores.push(s);
        return s;
      },
      async setHeld(id, held) {
        db.prepare("UPDATE queue_messages SET held = ? WHERE id = ?").run(held ? 1 : 0, id);
      },
      async blobRows(id) {
        return db.prepare("SELECT count(*) FROM blobs WHERE id = ?").pluck().get(id) as number;
      },
      async cleanup() {
        for (const s of stores) await s.close();
        db.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  });
}
