/** `petrel domain ...` as a real process: IDN forms, and removal of a domain that is in use. */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { tempDir } from "../helpers/server.js";
import { json, ok, petrel, refused } from "../helpers/cli.js";

const names = async (dir: string) => (await json<{ name: string }[]>(dir, ["domain", "list"])).map((d) => d.name);

describe("petrel domain", () => {
  let dir: string;
  before(() => {
    dir = tempDir("petrel-cli-domains-");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("bücher.example and xn--bcher-kva.example are one domain, listed in its Unicode form", async () => {
    await ok(dir, ["domain", "add", "bücher.example"]);
    await ok(dir, ["domain", "add", "XN--BCHER-KVA.example"]);
    const list = await names(dir);
    assert.deepEqual(list.filter((n) => n !== "localhost"), ["bücher.example"]);
    assert.match(await ok(dir, ["domain", "list"]), /^bücher\.example$/m);
  });

  test("domain remove is refused while accounts or aliases exist, and --force removes them too", async () => {
    await ok(dir, ["domain", "add", "busy.example"]);
    await ok(dir, ["user", "add", "a@busy.example", "--password-stdin"], "pw\n");
    await ok(dir, ["alias", "add", "@busy.example", "a@busy.example"]);
    const err = await refused(dir, ["domain", "remove", "busy.example"]);
    assert.match(err, /busy\.example still has 2 account\(s\) or alias\(es\)/);
    assert.match(err, /--force/);
    assert.ok((await names(dir)).includes("busy.example"), "still there");
    assert.equal((await json<unknown[]>(dir, ["user", "list", "busy.example"])).length, 1);

    assert.match(await ok(dir, ["domain", "remove", "busy.example", "--force"]), /domain busy\.example removed with 1 account\(s\) and 1 alias\(es\)/);
    assert.ok(!(await names(dir)).includes("busy.example"));
    assert.ok(!(await json<{ address: string }[]>(dir, ["user", "list"])).some((u) => u.address.endsWith("@busy.example")));
    assert.ok(!(await json<{ source: string }[]>(dir, ["alias", "list"])).some((a) => a.source.endsWith("@busy.example")));
  });

  test("a domain whose accounts were removed goes without --force; IDN by either form", async () => {
    await ok(dir, ["user", "add", "x@bücher.example", "--password-stdin"], "pw\n");
    assert.match(await refused(dir, ["domain", "remove", "xn--bcher-kva.example"]), /still has 1 account/);
    await ok(dir, ["user", "remove", "x@xn--bcher-kva.example"]);
    await ok(dir, ["domain", "remove", "xn--bcher-kva.example"]);
    assert.ok(!(await names(dir)).includes("bücher.example"));
  });

  test("removing an unknown domain, or adding an invalid one, is an error", async () => {
    assert.match(await refused(dir, ["domain", "remove", "nowhere.example"]), /no domain nowhere\.example/);
    assert.match(await refused(dir, ["domain", "add", "bad_domain..example"]), /not a valid domain name/);
  });

  test("domain remove has --help that mentions --force", async () => {
    const r = await petrel(dir, ["domain", "remove", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--force/);
  });
});
