/** `petrel dkim keygen|show|rotate` as a real process, with its records checked by dkimpy's key parser. */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { createPublicKey } from "node:crypto";
import { tempDir } from "../helpers/server.js";
import { json, ok, refused } from "../helpers/cli.js";

interface ShownKey {
  domain: string;
  selector: string;
  algorithm: string;
  state: string;
  retireAt: string | null;
  record: { name: string; type: string; value: string };
  publish: boolean;
}

const month = () => {
  const d = new Date();
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
};

describe("petrel dkim", () => {
  let dir: string;
  before(async () => {
    dir = tempDir("petrel-cli-dkim-");
    await ok(dir, ["domain", "add", "example.test"]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("keygen makes an RSA 2048 key and prints its record split into 255-octet strings", async () => {
    const out = await ok(dir, ["dkim", "keygen", "example.test"]);
    const sel = `petrel${month()}`;
    const line = out.split("\n").find((l) => l.startsWith(`${sel}._domainkey.example.test. IN TXT "`))!;
    assert.ok(line, out);
    const strings = line.match(/"([^"]*)"/g)!.map((q) => q.slice(1, -1));
    assert.ok(strings.length >= 2 && strings.every((s) => s.length <= 255));
    const value = strings.join("");
    assert.match(value, /^v=DKIM1; k=rsa; p=/);
    const der = Buffer.from(value.split("p=")[1]!, "base64");
    const key = createPublicKey({ key: der, format: "der", type: "spki" });
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
    assert.ok(!out.includes("PRIVATE KEY"), "the private key is never printed");
  });

  test("keygen --algorithm ed25519 with a selector; a second active key of one algorithm is refused", async () => {
    const out = await ok(dir, ["dkim", "keygen", "example.test", "--algorithm", "ed25519", "--selector", "ed1"]);
    assert.match(out, /^ed1\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}="$/m);
    assert.match(await refused(dir, ["dkim", "keygen", "example.test"]), /already has an active rsa key .*petrel dkim rotate example\.test/);
    assert.match(await refused(dir, ["dkim", "keygen", "nowhere.test"]), /nowhere\.test is not a local domain/);
    assert.match(await refused(dir, ["dkim", "keygen", "example.test", "--algorithm", "dsa"]), /unknown algorithm dsa/);
    assert.match(await refused(dir, ["dkim", "keygen", "example.test", "--algorithm", "ed25519", "--selector", "bad_sel"]), /not a valid selector/);
  });

  test("show lists keys with states and records, in text and JSON", async () => {
    const keys = await json<ShownKey[]>(dir, ["dkim", "show", "example.test"]);
    assert.deepEqual(keys.map((k) => [k.selector, k.algorithm, k.state, k.publish]).sort(), [
      ["ed1", "ed25519", "active", true],
      [`petrel${month()}`, "rsa", "active", true],
    ]);
    assert.ok(keys.every((k) => k.record.name === `${k.selector}._domainkey.example.test` && k.record.type === "TXT"));
    assert.ok(!JSON.stringify(keys).includes("PRIVATE"), "no private key in show");
    const text = await ok(dir, ["dkim", "show"]);
    assert.match(text, /example\.test ed1 ed25519 active .*signs new mail/);
  });

  test("rotate: a new active key per algorithm; the old ones retire after the period; show says when to remove them", async () => {
    const out = await ok(dir, ["dkim", "rotate", "example.test"]);
    assert.match(out, new RegExp(`key petrel${month()}-2 created`));
    assert.match(out, new RegExp(`key petrel${month()}ed created`));
    assert.match(out, /key ed1 is retiring: keep its record published until /);
    let keys = await json<ShownKey[]>(dir, ["dkim", "show", "example.test"]);
    const state = () => Object.fromEntries(keys.map((k) => [k.selector, k.state]));
    assert.deepEqual(state(), { ed1: "retiring", [`petrel${month()}`]: "retiring", [`petrel${month()}-2`]: "active", [`petrel${month()}ed`]: "active" });
    const retiring = keys.find((k) => k.selector === "ed1")!;
    const days = (Date.parse(retiring.retireAt!) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `retires in 7 days (${days})`);

    // Rotating again with a zero period: the keys it replaces retire at once.
    await ok(dir, ["dkim", "rotate", "example.test", "--algorithm", "ed25519", "--selector", "ed3", "--retire-after", "0s"]);
    keys = await json<ShownKey[]>(dir, ["dkim", "show", "example.test"]);
    assert.equal(state()[`petrel${month()}ed`], "retired");
    assert.equal(keys.find((k) => k.selector === `petrel${month()}ed`)!.publish, false);
    assert.equal(state().ed3, "active");
    assert.match(await ok(dir, ["dkim", "show", "example.test"]), new RegExp(`petrel${month()}ed ed25519 retired .*its DNS record can be removed`));
    assert.match(await refused(dir, ["dkim", "rotate", "example.test", "--selector", "x"]), /--selector needs --algorithm/);
    await ok(dir, ["domain", "add", "empty.test"]);
    assert.match(await refused(dir, ["dkim", "rotate", "empty.test"]), /no active DKIM key/);
  });
});
