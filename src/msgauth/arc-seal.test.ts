import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { authenticate } from "mailauth";
import { arcSeal } from "./arc-seal.js";
import { dkimRecordValue, generateDkimKeyPair } from "./dkim-keys.js";

const key = generateDkimKeyPair("rsa");
const record = dkimRecordValue("rsa", key.publicKey);
/** mailauth's resolver over a fixed zone: s1._domainkey.petrel.test. */
const resolver = async (name: string): Promise<unknown[]> => {
  if (name === "s1._domainkey.petrel.test") return [[record]];
  throw Object.assign(new Error(`no ${name}`), { code: "ENOTFOUND" });
};
const sealKey = { domain: "petrel.test", selector: "s1", privateKey: key.privateKey };
const raw = Buffer.from("Authentication-Results: mx.petrel.test;\r\n\tspf=pass smtp.mailfrom=a@x.test;\r\n\tdkim=none;\r\n\tarc=none;\r\n\tdmarc=none\r\nFrom: <a@x.test>\r\nTo: <b@y.test>\r\nSubject: hi\r\n\r\nbody\r\n");
const verify = (m: Buffer) => authenticate(m, { resolver: resolver as never, ip: "127.0.0.1", helo: "x", sender: "a@x.test", mta: "v.test" });

describe("ARC sealing (RFC 8617 5.1)", () => {
  test("first set: i=1, cv=none, the AAR copies our Authentication-Results; it verifies", async () => {
    const r = await arcSeal(raw, { key: sealKey, authservId: "mx.petrel.test", resolver });
    assert.ok(r.sealed);
    assert.equal(r.instance, 1);
    assert.equal(r.cv, "none");
    const h = r.headers.toString();
    assert.match(h, /^ARC-Seal: i=1; a=rsa-sha256; t=\d+; cv=none; d=petrel\.test; s=s1;/);
    assert.match(h, /ARC-Authentication-Results: i=1; mx\.petrel\.test;\r\n\tspf=pass smtp\.mailfrom=a@x\.test;/);
    const res = await verify(Buffer.concat([r.headers, raw]));
    assert.equal(res.arc && res.arc.status.result, "pass");
  });

  test("without our Authentication-Results the AAR says none; a second set gets cv=pass", async () => {
    const bare = raw.subarray(raw.indexOf("From:"));
    const one = await arcSeal(bare, { key: sealKey, authservId: "mx.petrel.test", resolver });
    assert.ok(one.sealed);
    assert.match(one.headers.toString(), /ARC-Authentication-Results: i=1; mx\.petrel\.test; none/);
    const once = Buffer.concat([one.headers, bare]);
    const two = await arcSeal(once, { key: sealKey, authservId: "other.petrel.test", resolver });
    assert.ok(two.sealed);
    assert.equal(two.instance, 2);
    assert.equal(two.cv, "pass");
    const res = await verify(Buffer.concat([two.headers, once]));
    assert.equal(res.arc && res.arc.status.result, "pass");
  });

  test("a broken chain is sealed with cv=fail, and a failed chain is not sealed again", async () => {
    const one = await arcSeal(raw, { key: sealKey, authservId: "mx.petrel.test", resolver });
    assert.ok(one.sealed);
    const tampered = Buffer.concat([one.headers, Buffer.from(raw.toString().replace("body", "changed"))]);
    const two = await arcSeal(tampered, { key: sealKey, authservId: "other.test", resolver });
    assert.ok(two.sealed);
    assert.equal(two.cv, "fail");
    const three = await arcSeal(Buffer.concat([two.headers, tampered]), { key: sealKey, authservId: "third.test", resolver });
    assert.deepEqual(three, { sealed: false, reason: "the ARC chain has failed already (cv=fail)" });
  });
});
