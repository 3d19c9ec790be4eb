import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Srs, isSrsAddress } from "./srs.js";

const DAY = 86_400_000;
const SECRET = "a-test-secret-of-enough-length";

describe("SRS", () => {
  let now = Date.UTC(2026, 10, 30);
  const srs = new Srs({ secrets: [SECRET], maxAgeDays: 21, now: () => now });

  test("SRS0 round trip", () => {
    const fwd = srs.forward("Orig.User@Example.COM", "petrel.test");
    assert.match(fwd, /^SRS0=[A-Z2-7]{8}=[A-Z2-7]{2}=Example\.COM=Orig\.User@petrel\.test$/);
    assert.deepEqual(srs.reverse(fwd), { kind: "valid", address: "Orig.User@Example.COM" });
    // Case folded on the way: still valid.
    assert.deepEqual(srs.reverse(fwd.toLowerCase()), { kind: "valid", address: "orig.user@example.com" });
  });

  test("null sender and our own domain are not rewritten", () => {
    assert.equal(srs.forward("", "petrel.test"), "");
    assert.equal(srs.forward("anna@petrel.test", "petrel.test"), "anna@petrel.test");
  });

  test("a local part with '=' survives", () => {
    const fwd = srs.forward("a=b=c@x.test", "petrel.test");
    assert.deepEqual(srs.reverse(fwd), { kind: "valid", address: "a=b=c@x.test" });
  });

  test("forged hash, other secret and malformed addresses are invalid", () => {
    const fwd = srs.forward("u@x.test", "petrel.test");
    const forged = fwd.replace(/^SRS0=[A-Z2-7]{8}/, "SRS0=AAAAAAAA");
    assert.equal(srs.reverse(forged).kind, "invalid");
    assert.equal(srs.reverse(fwd.replace("=u@", "=v@")).kind, "invalid");
    const other = new Srs({ secrets: ["another-secret-of-enough-len"], maxAgeDays: 21, now: () => now });
    assert.equal(other.reverse(fwd).kind, "invalid");
    assert.equal(srs.reverse("SRS0=garbage@petrel.test").kind, "invalid");
    assert.equal(srs.reverse("plain@petrel.test").kind, "none");
    assert.ok(isSrsAddress("srs0=x") && isSrsAddress("SRS1+x") && !isSrsAddress("srsx"));
  });

  test("old secrets still verify (rotation)", () => {
    const fwd = srs.forward("u@x.test", "petrel.test");
    const rotated = new Srs({ secrets: ["the-new-secret-of-enough-len", SECRET], maxAgeDays: 21, now: () => now });
    assert.equal(rotated.reverse(fwd).kind, "valid");
  });

  test("expires after maxAgeDays (and across the 1024-day wrap)", () => {
    const t0 = now;
    const fwd = srs.forward("u@x.test", "petrel.test");
    now = t0 + 21 * DAY;
    assert.equal(srs.reverse(fwd).kind, "valid");
    now = t0 + 22 * DAY;
    assert.deepEqual(srs.reverse(fwd), { kind: "invalid", reason: "SRS address expired (22 days old)" });
    now = Math.ceil(t0 / (1024 * DAY)) * 1024 * DAY - DAY; // the day before a wrap
    const late = srs.forward("u@x.test", "petrel.test");
    now += 3 * DAY;
    assert.equal(srs.reverse(late).kind, "valid");
    now = t0;
  });

  test("SRS1: re-forwarding an SRS0 address points bounces at the first forwarder", () => {
    const first = new Srs({ secrets: ["first-forwarder-secret-xx"], maxAgeDays: 21, now: () => now });
    const srs0 = first.forward("orig@origin.test", "first.test");
    const srs1 = srs.forward(srs0, "second.test");
    assert.match(srs1, /^SRS1=[A-Z2-7]{8}=first\.test==[A-Z2-7]{8}=/);
    const back = srs.reverse(srs1);
    assert.equal(back.kind, "valid");
    assert.equal(back.kind === "valid" && back.address, srs0);
    assert.deepEqual(first.reverse(srs0), { kind: "valid", address: "orig@origin.test" });
    // A third forwarder keeps the first one's domain.
    const third = new Srs({ secrets: ["third-forwarder-secret-xx"], maxAgeDays: 21, now: () => now });
    const again = third.forward(srs1, "third.test");
    assert.match(again, /^SRS1=[A-Z2-7]{8}=first\.test==/);
    assert.deepEqual(third.reverse(again), { kind: "valid", address: srs0 });
    assert.equal(srs.reverse(srs1.replace(/^SRS1=[A-Z2-7]{8}/, "SRS1=BBBBBBBB")).kind, "invalid");
  });
});
