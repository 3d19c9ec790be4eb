import { test } from "node:test";
import assert from "node:assert/strict";
import { scryptSync } from "node:crypto";
import { DEFAULT_PARAMS, dummyVerify, hashPassword, needsRehash, verifyPassword } from "./password.js";

// Cheap parameters where the cost is not what a test is about.
const FAST = { ln: 10, r: 8, p: 1 };

test("hashPassword produces a PHC scrypt string with a 16-byte salt and a 32-byte key", async () => {
  const h = await hashPassword("correct horse battery staple");
  const m = /^\$scrypt\$ln=15,r=8,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(h);
  assert.ok(m, h);
  assert.equal(Buffer.from(m[1]!, "base64").length, 16);
  assert.equal(Buffer.from(m[2]!, "base64").length, 32);
  assert.ok(!m[1]!.includes("=") && !m[2]!.includes("="), "base64 without padding");
  assert.ok(!h.includes("correct"));
});

test("the key is scrypt(NFC(password), salt) with the stated parameters", async () => {
  const h = await hashPassword("pässword", FAST);
  const [, , , salt, key] = h.split("$");
  const expected = scryptSync("pässword".normalize("NFC"), Buffer.from(salt!, "base64"), 32, { N: 1024, r: 8, p: 1 });
  assert.equal(Buffer.from(key!, "base64").toString("hex"), expected.toString("hex"));
});

test("verifyPassword accepts the password and refuses others", async () => {
  const h = await hashPassword("s3cret!", FAST);
  assert.equal(await verifyPassword("s3cret!", h), true);
  assert.equal(await verifyPassword("s3cret", h), false);
  assert.equal(await verifyPassword("S3cret!", h), false);
  assert.equal(await verifyPassword("", h), false);
});

test("every hash has its own salt", async () => {
  const a = await hashPassword("same", FAST);
  const b = await hashPassword("same", FAST);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword("same", a), true);
  assert.equal(await verifyPassword("same", b), true);
});

test("passwords are compared after NFC normalisation", async () => {
  const composed = "caf\u00e9"; // é as one code point
  const decomposed = "cafe\u0301"; // e + combining acute
  const h = await hashPassword(decomposed, FAST);
  assert.equal(await verifyPassword(composed, h), true);
  assert.equal(await verifyPassword(decomposed, h), true);
  assert.equal(await verifyPassword("cafe", h), false);
});

test("the default parameters verify (maxmem is large enough for N=2^15, r=8)", async () => {
  const h = await hashPassword("ünïcødé 🔑");
  assert.equal(await verifyPassword("ünïcødé 🔑", h), true);
  assert.equal(await verifyPassword("unicode", h), false);
});

test("parameters are read from the stored string, so they can be raised later", async () => {
  const strong = await hashPassword("pw", { ln: 16, r: 8, p: 1 });
  assert.match(strong, /^\$scrypt\$ln=16,r=8,p=1\$/);
  assert.equal(await verifyPassword("pw", strong), true);
  const weak = await hashPassword("pw", { ln: 4, r: 1, p: 1 });
  assert.equal(await verifyPassword("pw", weak), true);
  assert.equal(needsRehash(weak), true);
  assert.equal(needsRehash(strong), false);
  assert.equal(needsRehash(await hashPassword("pw", DEFAULT_PARAMS)), false);
});

test("a malformed or hostile hash gives false, never an exception", async () => {
  const good = await hashPassword("pw", FAST);
  const [, , params, salt, key] = good.split("$");
  const bad = [
    "",
    "pw",
    "$scrypt$",
    `$scrypt$${params}$${salt}`,
    `$scrypt$${params}$${salt}$${key}$extra`,
    `$argon2id$v=19,m=65536,t=3,p=4$${salt}$${key}`,
    `$scrypt$ln=15,r=8$${salt}$${key}`,
    `$scrypt$ln=0,r=8,p=1$${salt}$${key}`,
    `$scrypt$ln=40,r=8,p=1$${salt}$${key}`, // would need terabytes
    `$scrypt$ln=20,r=32,p=1$${salt}$${key}`, // over the memory bound
    `$scrypt$ln=15,r=0,p=1$${salt}$${key}`,
    `$scrypt$ln=15,r=8,p=999$${salt}$${key}`,
    `$scrypt$ln=15,r=8,p=1$${salt}=$${key}`,
    `$scrypt$ln=15,r=8,p=1$${salt}$${key}==`,
    `$scrypt$ln=15,r=8,p=1$${salt}$!!!${key!.slice(3)}`,
    `$scrypt$ln=15,r=8,p=1$$${key}`,
    `$scrypt$ln=15,r=8,p=1$${salt}$AAAA`, // key too short
    `$scrypt$ln=10,r=8,p=1$${salt}$${key!.slice(0, -1)}B`, // non-canonical base64 tail
    `$scrypt$ln=10,r=8,p=1$${salt}$${key} `,
    null as unknown as string,
    42 as unknown as string,
  ];
  for (const b of bad) assert.equal(await verifyPassword("pw", b), false, String(b));
});

test("dummyVerify costs a real verification and never succeeds or throws", async () => {
  await dummyVerify("anything");
  await dummyVerify("");
  // Timing is not asserted (tests never assert on time): the implementation verifies against
  // a well-formed hash with the default parameters, which is what a real login does.
});
