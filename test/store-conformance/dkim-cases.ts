/** DKIM keys: add, list, rotation states, domain checks. */
import assert from "node:assert/strict";
import { rejectsWith, T0, type Case } from "./fixtures.js";
import type { NewDkimKey } from "../../src/store/types.js";

const key = (domain: string, selector: string, algorithm: "rsa" | "ed25519" = "rsa", createdAt = T0): NewDkimKey => ({
  domain,
  selector,
  algorithm,
  privateKey: `-----BEGIN PRIVATE KEY-----\n${selector}\n-----END PRIVATE KEY-----\n`,
  publicKey: `-----BEGIN PUBLIC KEY-----\n${selector}\n-----END PUBLIC KEY-----\n`,
  createdAt,
});

export function dkimCases(it: Case): void {
  it("dkim: add and list keys; the domain must be local; a selector once per domain", async (s) => {
    await rejectsWith(s.dkimKeys.add(key("example.com", "s1")), "NO_DOMAIN");
    await s.directory.addDomain("Example.com");
    await s.directory.addDomain("bücher.example");
    const k = await s.dkimKeys.add(key("EXAMPLE.com", "s1"));
    assert.deepEqual(k, { ...key("example.com", "s1"), state: "active", retireAt: null });
    await rejectsWith(s.dkimKeys.add(key("example.com", "s1", "ed25519")), "EXISTS");
    await s.dkimKeys.add(key("example.com", "s1e", "ed25519", T0 + 1));
    await s.dkimKeys.add(key("bücher.example", "s1"));
    assert.deepEqual((await s.dkimKeys.list("example.com")).map((x) => x.selector), ["s1e", "s1"], "newest first");
    assert.deepEqual((await s.dkimKeys.list()).map((x) => `${x.domain}/${x.selector}`), ["example.com/s1e", "example.com/s1", "xn--bcher-kva.example/s1"]);
    assert.deepEqual((await s.dkimKeys.active("XN--BCHER-KVA.example")).map((x) => x.selector), ["s1"]);
    assert.deepEqual(await s.dkimKeys.list("other.example"), []);
  });

  it("dkim: rotate retires the active key of the same algorithm only; expire moves it to retired", async (s) => {
    await s.directory.addDomain("example.com");
    await s.dkimKeys.add(key("example.com", "r1"));
    await s.dkimKeys.add(key("example.com", "e1", "ed25519"));
    const retiring = await s.dkimKeys.rotate(key("example.com", "r2", "rsa", T0 + 10), T0 + 1000);
    assert.deepEqual(retiring.map((x) => [x.selector, x.state, x.retireAt]), [["r1", "retiring", T0 + 1000]]);
    assert.deepEqual((await s.dkimKeys.active("example.com")).map((x) => x.selector).sort(), ["e1", "r2"]);
    await rejectsWith(s.dkimKeys.rotate(key("example.com", "r2"), T0), "EXISTS");
    assert.deepEqual((await s.dkimKeys.active("example.com")).map((x) => x.selector).sort(), ["e1", "r2"], "a refused rotation changes nothing");
    assert.equal(await s.dkimKeys.expire(T0 + 999), 0);
    assert.equal(await s.dkimKeys.expire(T0 + 1000), 1);
    const states = Object.fromEntries((await s.dkimKeys.list("example.com")).map((x) => [x.selector, x.state]));
    assert.deepEqual(states, { r1: "retired", r2: "active", e1: "active" });
    assert.equal(await s.dkimKeys.remove("example.com", "r1"), true);
    assert.equal(await s.dkimKeys.remove("example.com", "r1"), false);
  });

  it("dkim: keys go with their domain", async (s) => {
    await s.directory.addDomain("example.com");
    await s.dkimKeys.add(key("example.com", "s1"));
    assert.equal(await s.directory.removeDomain("example.com"), true);
    assert.deepEqual(await s.dkimKeys.list(), []);
  });
}
