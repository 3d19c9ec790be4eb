/**
 * The conformance suite on PostgreSQL, when PETREL_TEST_POSTGRES_URL names a database. Every
 * case gets its own schema (petrel_test_<random>), dropped afterwards.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openPostgresStore, type PostgresStoreOptions } from "../../src/store/postgres/index.js";
import { MIGRATIONS } from "../../src/store/postgres/migrations.js";
import type { Store } from "../../src/store/types.js";
import { runStoreConformance, type ConformanceBackend } from "./suite.js";

const url = process.env.PETREL_TEST_POSTGRES_URL;

if (!url) {
  test("PostgreSQL store conformance", { skip: "PETREL_TEST_POSTGRES_URL is not set: the PostgreSQL store was not tested" }, () => {});
} else {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  after(() => admin.end());

  const backend = async (opts: Omit<PostgresStoreOptions, "schema">, blobDir?: string): Promise<ConformanceBackend> => {
    const schema = `petrel_test_${randomBytes(6).toString("hex")}`;
    const all = { ...opts, schema, ...(blobDir ? { blobDir } : {}) };
    const stores: Store[] = [await openPostgresStore(url, all)];
    return {
      store: stores[0]!,
      async peer() {
        const s = await openPostgresStore(url, all);
        stores.push(s);
        return s;
      },
      async setHeld(id, held) {
        await admin.query(`UPDATE ${schema}.queue_messages SET held = $1 WHERE id = $2`, [held, id]);
      },
      async blobRows(id) {
        return Number((await admin.query(`SELECT count(*) AS n FROM ${schema}.blobs WHERE id = $1`, [id])).rows[0].n);
      },
      async cleanup() {
        for (const s of stores) await s.close();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        if (blobDir) await rm(blobDir, { recursive: true, force: true });
      },
    };
  };

  runStoreConformance("postgres", () => backend({}));
  runStoreConformance("postgres, large blobs in files", async () => backend({ blobInlineMax: 1024 }, await mkdtemp(join(tmpdir(), "petrel-pg-blobs-"))));

  test("postgres: several nodes starting at once migrate one schema once", async () => {
    const schema = `petrel_test_${randomBytes(6).toString("hex")}`;
    try {
      const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(url, { schema })));
      await stores[0]!.directory.addDomain("example.com");
      assert.equal(await stores[3]!.directory.isLocalDomain("example.com"), true);
      await Promise.all(stores.map((s) => s.close()));
      const versions = await admin.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      assert.deepEqual(versions.rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    }
  });

  test("postgres: a schema name that is not a plain identifier is refused", async () => {
    await assert.rejects(openPostgresStore(url, { schema: "x; DROP TABLE y" }), /invalid PostgreSQL schema name/);
  });
}
