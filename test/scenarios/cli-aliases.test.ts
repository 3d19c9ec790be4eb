/** `petrel alias ...` as a real process: aliases to local and remote targets, catch-alls, IDN. */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { tempDir } from "../helpers/server.js";
import { json, ok, refused } from "../helpers/cli.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

interface AliasJson {
  source: string;
  targets: string[];
}

describe("petrel alias", () => {
  let dir: string;
  before(async () => {
    dir = tempDir("petrel-cli-aliases-");
    await ok(dir, ["domain", "add", "example.com"]);
    await ok(dir, ["domain", "add", "bücher.example"]);
    await ok(dir, ["user", "add", "alice@example.com", "--password-stdin"], "pw\n");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("alias add with local and remote targets; list in text and JSON", async () => {
    const out = await ok(dir, ["alias", "add", "Info@Example.com", "alice@example.com", "Someone@Elsewhere.ORG"]);
    assert.match(out, /alias Info@example\.com -> alice@example\.com, Someone@elsewhere\.org/);
    const list = await json<AliasJson[]>(dir, ["alias", "list"]);
    assert.ok(Array.isArray(list));
    assert.deepEqual(list, [{ source: "Info@example.com", targets: ["alice@example.com", "Someone@elsewhere.org"] }]);
    assert.match(await ok(dir, ["alias", "list"]), /^Info@example\.com\s+-> alice@example\.com, Someone@elsewhere\.org$/m);
  });

  test("alias add to an existing alias adds targets, once each; the source matches case-insensitively", async () => {
    await ok(dir, ["alias", "add", "info@example.com", "carol@elsewhere.org", "alice@example.com"]);
    const list = await json<AliasJson[]>(dir, ["alias", "list", "example.com"]);
    assert.deepEqual(list.map((a) => a.targets), [["alice@example.com", "Someone@elsewhere.org", "carol@elsewhere.org"]]);
  });

  test("a catch-all (@domain), visible to the store's lookup", async () => {
    assert.match(await ok(dir, ["alias", "add", "@example.com", "alice@example.com"]), /alias @example\.com -> alice@example\.com/);
    const list = await json<AliasJson[]>(dir, ["alias", "list"]);
    assert.deepEqual(list.find((a) => a.source === "@example.com"), { source: "@example.com", targets: ["alice@example.com"] });
    const store = openSqliteStore(dir);
    try {
      assert.deepEqual(await store.directory.getAlias("@EXAMPLE.COM"), ["alice@example.com"]);
      assert.deepEqual(await store.directory.getAlias("INFO@example.com"), ["alice@example.com", "Someone@elsewhere.org", "carol@elsewhere.org"]);
    } finally {
      await store.close();
    }
  });

  test("IDN: a catch-all given in A-labels is the same as in U-labels; UTF-8 local parts work", async () => {
    await ok(dir, ["alias", "add", "@xn--bcher-kva.example", "alice@example.com"]);
    await ok(dir, ["alias", "add", "@bücher.example", "bob@xn--bcher-kva.example"]);
    await ok(dir, ["alias", "add", "verkäufer@bücher.example", "jürgen@müller.example"]);
    const list = await json<AliasJson[]>(dir, ["alias", "list", "xn--bcher-kva.example"]);
    assert.deepEqual(list, [
      { source: "@bücher.example", targets: ["alice@example.com", "bob@bücher.example"] },
      { source: "verkäufer@bücher.example", targets: ["jürgen@müller.example"] },
    ]);
    assert.deepEqual(await json(dir, ["alias", "list", "bücher.example"]), list);
  });

  test("alias remove SOURCE TARGET removes one target; alias remove SOURCE the whole alias", async () => {
    assert.match(await ok(dir, ["alias", "remove", "info@example.com", "carol@Elsewhere.org"]), /target carol@elsewhere\.org removed/);
    let info = (await json<AliasJson[]>(dir, ["alias", "list", "example.com"])).find((a) => a.source === "Info@example.com");
    assert.deepEqual(info?.targets, ["alice@example.com", "Someone@elsewhere.org"]);
    assert.match(await refused(dir, ["alias", "remove", "info@example.com", "nobody@elsewhere.org"]), /has no target nobody@elsewhere\.org/);
    assert.match(await ok(dir, ["alias", "remove", "INFO@example.com"]), /alias info@example\.com removed/i);
    info = (await json<AliasJson[]>(dir, ["alias", "list"])).find((a) => a.source.toLowerCase() === "info@example.com");
    assert.equal(info, undefined);
    assert.match(await refused(dir, ["alias", "remove", "info@example.com"]), /no alias info@example\.com/);
    await ok(dir, ["alias", "remove", "@xn--bcher-kva.example"]);
    assert.deepEqual((await json<AliasJson[]>(dir, ["alias", "list", "bücher.example"])).map((a) => a.source), ["verkäufer@bücher.example"]);
  });

  test("errors: non-local source domain, invalid addresses, a loop to itself, unknown list domain", async () => {
    assert.match(await refused(dir, ["alias", "add", "x@nowhere.example", "alice@example.com"]), /nowhere\.example is not a local domain/);
    assert.match(await refused(dir, ["alias", "add", "@nowhere.example", "alice@example.com"]), /nowhere\.example is not a local domain/);
    assert.match(await refused(dir, ["alias", "add", "x@example.com", "not an address"]), /not an address is not a valid address/);
    assert.match(await refused(dir, ["alias", "add", "@exa mple.com", "alice@example.com"]), /not a valid domain name/);
    assert.match(await refused(dir, ["alias", "add", "x@example.com", "X@EXAMPLE.COM"]), /cannot point to itself/);
    assert.match(await refused(dir, ["alias", "add", "x@example.com"]), /missing required argument/);
    assert.match(await refused(dir, ["alias", "list", "nowhere.example"]), /nowhere\.example is not a local domain/);
  });

  test("alias list of a domain without aliases prints an empty array", async () => {
    await ok(dir, ["domain", "add", "empty.example"]);
    assert.deepEqual(await json(dir, ["alias", "list", "empty.example"]), []);
    assert.equal(await ok(dir, ["alias", "list", "empty.example"]), "");
  });
});
