import { test } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter } from "./rate-limit.js";

test("a limit per key per minute, with the previous minute weighted by its overlap", () => {
  let now = 60_000 * 1000; // the start of a minute
  const r = new RateLimiter(3, () => now);
  assert.deepEqual([r.hit("a"), r.hit("a"), r.hit("a"), r.hit("a")], [true, true, true, false]);
  assert.equal(r.hit("b"), true, "keys are separate");
  // Half a minute into the next minute: 4 * 0.5 = 2 still count, so one more fits.
  now += 90_000;
  assert.equal(r.hit("a"), true);
  assert.equal(r.hit("a"), false);
  // Two minutes later the key is forgotten.
  now += 120_000;
  assert.equal(r.hit("c"), true);
  assert.equal(r.size, 1);
  assert.equal(r.hit("a"), true);
});
