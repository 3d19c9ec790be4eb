/**
 * `petrel reindex`: stored MIME structures are parsed again from the blobs and replaced — all
 * blobs, or one account's — with progress on stderr and totals on stdout; a server started
 * afterwards serves the new structure over IMAP. Run on SQLite (data directory) and PostgreSQL
 * (a config file naming the schema).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { POSTGRES_URL, postgresStorage, startServer, type TestServer } from "../helpers/server.js";
import { petrel } from "../helpers/cli.js";
import { deliver } from "../helpers/pop3.js";
import { parseMessage, type ParsedMessage } from "../../src/mime/index.js";

const MULTIPART = 'From: a@client.test\r\nTo: TO\r\nSubject: structure\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello kiwi\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="x.bin"\r\n\r\nxyz\r\n--b--\r\n';

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`petrel reindex (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL is not set: reindex on PostgreSQL was not tested" : false }, () => {
    let server: TestServer;
    let args: string[] = [];
    const storage = backend === "postgres" ? postgresStorage() : {};

    before(async () => {
      server = await startServer({ deliver: true, catchAll: false, overrides: storage });
      for (const u of ["ann", "ben"]) await server.petrel.store.directory.addAccount({ address: `${u}@petrel.test`, passwordHash: "!" });
      await deliver(server, "ann@petrel.test", MULTIPART.replace("TO", "ann@petrel.test"), 1);
      await deliver(server, "ann@petrel.test", "Subject: two\r\n\r\nplain body\r\n", 2);
      await deliver(server, "ben@petrel.test", "Subject: bens\r\n\r\nben's body\r\n", 1);
      if (backend === "postgres") {
        const file = join(server.dataDir, "cli.yaml");
        writeFileSync(file, stringify(storage));
        args = ["--config", file];
      }
    });
    after(async () => server.stop());

    /** Every blob's stored parse, by blob id. */
    async function stored(): Promise<Map<string, ParsedMessage>> {
      const ms = server.petrel.store.mailstore;
      const out = new Map<string, ParsedMessage>();
      for (const id of await ms.blobIds(null, 1000)) out.set(id, (await ms.parsed(id)) as ParsedMessage);
      return out;
    }

    test("all blobs, or one account's, get the structure the parser gives today", async () => {
      const ms = server.petrel.store.mailstore;
      const ids = await ms.blobIds(null, 1000);
      assert.equal(ids.length, 3);
      assert.equal(await ms.countBlobs(), 3);
      const ann = (await server.petrel.store.directory.getAccount("ann@petrel.test"))!;
      assert.equal(await ms.countBlobs(ann.id), 2);
      // An old parser's output: wrong and incomplete.
      await ms.setParsed(ids.map((id) => ({ id, parsed: { stale: true } })));

      const one = await petrel(server.dataDir, ["reindex", "ben@petrel.test", ...args]);
      assert.equal(one.code, 0, one.stderr);
      assert.match(one.stdout, /^1 message\(s\) reindexed for ben@petrel\.test in [\d.]+s$/m);
      assert.match(one.stderr, /reindex: 1\/1 message\(s\) \(100%\)/);
      let now = await stored();
      assert.equal([...now.values()].filter((p) => "stale" in p).length, 2, "only ben's blob was reindexed");

      const all = await petrel(server.dataDir, ["reindex", ...args]);
      assert.equal(all.code, 0, all.stderr);
      assert.match(all.stdout, /^3 message\(s\) reindexed in /m);
      now = await stored();
      for (const [id, parsed] of now) {
        const raw = (await ms.blob(id))!;
        assert.deepEqual(parsed, JSON.parse(JSON.stringify(parseMessage(raw))), `blob ${id} has today's parse`);
      }
      const multipart = [...now.values()].find((p) => p.subject === "structure")!;
      assert.equal(multipart.root.children.length, 2);
      assert.equal(multipart.attachments, 1);
    });

    test("an unknown account is an error", async () => {
      const r = await petrel(server.dataDir, ["reindex", "nobody@petrel.test", ...args]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /no account nobody@petrel\.test/);
    });
  });
}
