import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { PlainMechanism } from "./plain.js";
import { LoginMechanism } from "./login.js";
import { deriveScramKeys, fakeScramCredentials, formatScramKeys, parseScramKeys, scramKeys, ScramSha256Mechanism } from "./scram.js";
import { saslprep } from "./saslprep.js";
import type { SaslBackend, ScramCredentials } from "./types.js";

const b = (s: string) => Buffer.from(s, "utf8");

/** A backend with one user; records what the mechanisms asked. */
function backend(opts: { user?: string; password?: string; scram?: ScramCredentials } = {}) {
  const calls: string[] = [];
  const outcomes: boolean[] = [];
  const be: SaslBackend = {
    async password(user, password) {
      calls.push(`${user}:${password}`);
      return user === (opts.user ?? "alice@x.test") && password === (opts.password ?? "pw") ? "alice@x.test" : null;
    },
    async scram(user) {
      calls.push(`scram:${user}`);
      const known = user === (opts.user ?? "alice@x.test") && opts.scram;
      return { credentials: known ? opts.scram! : fakeScramCredentials(user, Buffer.alloc(32, 7), 4096), finish: async (ok) => (outcomes.push(ok), ok && known ? "alice@x.test" : null) };
    },
  };
  return { be, calls, outcomes };
}

test("PLAIN: initial response, empty challenge without one, authzid rules (RFC 4616)", async () => {
  const { be, calls } = backend();
  assert.deepEqual(await new PlainMechanism(be).step(b("\0alice@x.test\0pw")), { user: "alice@x.test" });
  assert.deepEqual(await new PlainMechanism(be).step(b("alice@x.test\0alice@x.test\0pw")), { user: "alice@x.test" });
  assert.deepEqual(await new PlainMechanism(be).step(b("bob@x.test\0alice@x.test\0pw")), { failed: true }, "authzid of another user");
  assert.deepEqual(await new PlainMechanism(be).step(b("\0alice@x.test\0wrong")), { failed: true });
  const m = new PlainMechanism(be);
  assert.deepEqual(await m.step(null), { challenge: Buffer.alloc(0) });
  assert.deepEqual(await m.step(b("\0alice@x.test\0pw")), { user: "alice@x.test" });
  for (const bad of ["alice@x.test\0pw", "\0\0pw", "a\0b\0c\0d", ""]) assert.deepEqual(await new PlainMechanism(be).step(b(bad)), { failed: true }, JSON.stringify(bad));
  assert.deepEqual(await new PlainMechanism(be).step(Buffer.from([0, 0x61, 0, 0xff, 0xfe])), { failed: true }, "invalid UTF-8");
  assert.ok(!calls.some((c) => c.includes("\0")));
});

test("LOGIN: Username: and Password: challenges, or the user name as initial response", async () => {
  const { be } = backend();
  const m = new LoginMechanism(be);
  assert.equal((await m.step(null) as { challenge: Buffer }).challenge.toString(), "Username:");
  assert.equal((await m.step(b("alice@x.test")) as { challenge: Buffer }).challenge.toString(), "Password:");
  assert.deepEqual(await m.step(b("pw")), { user: "alice@x.test" });
  const i = new LoginMechanism(be);
  assert.equal((await i.step(b("alice@x.test")) as { challenge: Buffer }).challenge.toString(), "Password:");
  assert.deepEqual(await i.step(b("nope")), { failed: true });
  assert.deepEqual(await new LoginMechanism(be).step(b("")), { failed: true });
});

// RFC 7677 3: the SCRAM-SHA-256 example exchange.
const V = {
  salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

test("SCRAM-SHA-256: the RFC 7677 test vector, byte for byte", async () => {
  const keys = await deriveScramKeys("pencil", Buffer.from(V.salt, "base64"), 4096);
  const { be, outcomes } = backend({ user: "user", scram: keys });
  const m = new ScramSha256Mechanism(be, { nonce: () => V.serverNonce });
  assert.equal(((await m.step(b(V.clientFirst))) as { challenge: Buffer }).challenge.toString(), V.serverFirst);
  assert.equal(((await m.step(b(V.clientFinal))) as { challenge: Buffer }).challenge.toString(), V.serverFinal);
  assert.deepEqual(await m.step(Buffer.alloc(0)), { user: "alice@x.test" });
  assert.deepEqual(outcomes, [true]);
});

test("SCRAM-SHA-256: no initial response, then the same exchange", async () => {
  const keys = await deriveScramKeys("pencil", Buffer.from(V.salt, "base64"), 4096);
  const m = new ScramSha256Mechanism(backend({ user: "user", scram: keys }).be, { nonce: () => V.serverNonce });
  assert.deepEqual(await m.step(null), { challenge: Buffer.alloc(0) });
  assert.equal(((await m.step(b(V.clientFirst))) as { challenge: Buffer }).challenge.toString(), V.serverFirst);
  assert.ok("challenge" in (await m.step(b(V.clientFinal))));
});

test("SCRAM-SHA-256: a wrong proof, a changed nonce or channel binding fail and count as failures", async () => {
  const keys = await deriveScramKeys("pencil", Buffer.from(V.salt, "base64"), 4096);
  const cases = [
    V.clientFinal.replace("p=dHzb", "p=dHzc"),
    V.clientFinal.replace("r=rOprNGfwEbeRWgbNEkqO%", "r=rOprNGfwEbeRWgbNEkqX%"),
    V.clientFinal.replace("c=biws", "c=eSws"),
    "c=biws",
  ];
  for (const final of cases) {
    const { be, outcomes } = backend({ user: "user", scram: keys });
    const m = new ScramSha256Mechanism(be, { nonce: () => V.serverNonce });
    await m.step(b(V.clientFirst));
    assert.deepEqual(await m.step(b(final)), { failed: true }, final);
    assert.deepEqual(outcomes, [false], final);
  }
});

test("SCRAM-SHA-256: malformed client-first messages and channel binding requests fail at once", async () => {
  for (const first of ["p=tls-exporter,,n=user,r=abc", "n,,m=ext,n=user,r=abc", "n,,n=us=er,r=abc", "n,,r=abc,n=user", "n,n=user,r=abc", "x,,n=user,r=abc", "n,,n=user,r=a,b"]) {
    const { be, calls } = backend();
    assert.deepEqual(await new ScramSha256Mechanism(be).step(b(first)), { failed: true }, first);
    if (!first.startsWith("n,,n=user,r=a,")) assert.deepEqual(calls, [], first);
  }
  // "y": the client supports channel binding but thinks we do not (true: no -PLUS is offered).
  const { be } = backend();
  assert.ok("challenge" in (await new ScramSha256Mechanism(be).step(b("y,,n=user,r=abc"))));
});

test("SCRAM-SHA-256: saslnames are unescaped (=2C, =3D) before the lookup", async () => {
  const { be, calls } = backend();
  await new ScramSha256Mechanism(be).step(b("n,,n=a=2Cb=3Dc@x.test,r=abc"));
  assert.deepEqual(calls, ["scram:a,b=c@x.test"]);
});

test("SCRAM-SHA-256: an unknown user gets the same salt each time, and a fake exchange", async () => {
  const salts = [];
  for (let i = 0; i < 2; i++) {
    const { be, outcomes } = backend();
    const m = new ScramSha256Mechanism(be);
    const first = ((await m.step(b("n,,n=nobody@x.test,r=abc"))) as { challenge: Buffer }).challenge.toString();
    const attrs = Object.fromEntries(first.split(",").map((a) => [a[0], a.slice(2)]));
    assert.equal(attrs.i, "4096");
    assert.equal(Buffer.from(attrs.s!, "base64").length, 16);
    salts.push(attrs.s);
    // A client that computes a proof from some password still fails.
    const salted = pbkdf2Sync("guess", Buffer.from(attrs.s!, "base64"), 4096, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const withoutProof = `c=biws,r=${attrs.r}`;
    const sig = createHmac("sha256", createHash("sha256").update(clientKey).digest()).update(`n=nobody@x.test,r=abc,${first},${withoutProof}`).digest();
    const proof = Buffer.from(clientKey.map((x, j) => x ^ sig[j]!));
    assert.deepEqual(await m.step(b(`${withoutProof},p=${proof.toString("base64")}`)), { failed: true });
    assert.deepEqual(outcomes, [false]);
  }
  assert.equal(salts[0], salts[1]);
  assert.notEqual(fakeScramCredentials("nobody@x.test", Buffer.alloc(32, 1), 4096).salt.toString("hex"), fakeScramCredentials("nobody@x.test", Buffer.alloc(32, 2), 4096).salt.toString("hex"));
});

test("stored SCRAM keys: PostgreSQL's format, round trip, 4096+ iterations, malformed strings refused", async () => {
  const s = await scramKeys("pencil");
  assert.match(s, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
  const parsed = parseScramKeys(s)!;
  assert.equal(formatScramKeys(parsed), s);
  const again = await deriveScramKeys("pencil", parsed.salt, parsed.iterations);
  assert.deepEqual(again, parsed);
  assert.ok(!s.includes("pencil"));
  await assert.rejects(scramKeys("x", 1000), RangeError);
  assert.match(await scramKeys("x", 5000), /^SCRAM-SHA-256\$5000:/);
  for (const bad of ["", "SCRAM-SHA-256$4096:abc$def:ghi", s.replace("SCRAM-SHA-256", "SCRAM-SHA-1"), s + "x", s.replace("4096", "0")]) assert.equal(parseScramKeys(bad), null, bad);
  // The RFC 7677 vector's keys, as PostgreSQL would store them.
  const v = await deriveScramKeys("pencil", Buffer.from(V.salt, "base64"), 4096);
  assert.equal(formatScramKeys(v).split("$")[1], `4096:${V.salt}`);
});

test("saslprep: non-ASCII spaces, mapped-to-nothing characters, NFKC", () => {
  assert.equal(saslprep("I\u00ADX"), "IX");
  assert.equal(saslprep("a\u00A0b"), "a b");
  assert.equal(saslprep("\u2168"), "IX");
  assert.equal(saslprep("user"), "user");
  assert.equal(saslprep("cafe\u0301"), "caf\u00e9");
});
