/** Removing forged Authentication-Results (RFC 8601 5) from a streamed message. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ForgedResultsFilter } from "./forged-results.js";
import { authservIdOf, claimsAuthservId } from "./auth-results.js";

async function filter(message: string, split = 0, max = 1 << 20): Promise<{ out: string; removed: number; tooLarge: boolean }> {
  const out: Buffer[] = [];
  const f = new ForgedResultsFilter("mx.petrel.test", (parts) => void out.push(...parts), max);
  const bytes = Buffer.from(message, "latin1");
  if (split > 0) for (let i = 0; i < bytes.length; i += split) await f.write([bytes.subarray(i, i + split)]);
  else await f.write([bytes]);
  await f.end();
  return { out: Buffer.concat(out).toString("latin1"), removed: f.removed, tooLarge: f.tooLarge };
}

test("authserv-id of a field value (RFC 8601 2.2)", () => {
  const rows: [string, string | null][] = [
    [" mx.petrel.test; spf=pass", "mx.petrel.test"],
    ["mx.petrel.test 1; none", "mx.petrel.test"],
    ["MX.Petrel.TEST;", "mx.petrel.test"],
    [" (a (nested) comment) mx.petrel.test;", "mx.petrel.test"],
    ['"mx.petrel.test"; dkim=pass', "mx.petrel.test"],
    ["\r\n\tmx.petrel.test;\r\n\tdkim=pass", "mx.petrel.test"],
    ["mx.petrel.test.evil; spf=pass", "mx.petrel.test.evil"],
    ["", null],
    [" (only a comment)", null],
  ];
  for (const [v, want] of rows) assert.equal(authservIdOf(v), want, JSON.stringify(v));
  assert.ok(claimsAuthservId("mx.petrel.test; x", "MX.PETREL.TEST."));
  assert.ok(!claimsAuthservId("mx.petrel.test.evil; x", "mx.petrel.test"));
});

const MSG =
  "Received: from a by b; Mon, 30 Nov 2026 10:00:00 +0000\r\n" +
  "Authentication-Results: mx.petrel.test; dkim=pass header.d=bank.example\r\n" +
  "From: x@example.com\r\n" +
  "authentication-results: (c) MX.PETREL.TEST;\r\n\tspf=pass\r\n" +
  "Authentication-Results: other.example; spf=fail\r\n" +
  "Subject: hi\r\n" +
  "\r\n" +
  "Authentication-Results: mx.petrel.test; in the body, left alone\r\n";

test("ours are removed, others' and the body untouched, whatever the chunking", async () => {
  const want =
    "Received: from a by b; Mon, 30 Nov 2026 10:00:00 +0000\r\n" +
    "From: x@example.com\r\n" +
    "Authentication-Results: other.example; spf=fail\r\n" +
    "Subject: hi\r\n" +
    "\r\n" +
    "Authentication-Results: mx.petrel.test; in the body, left alone\r\n";
  for (const split of [0, 1, 2, 3, 7, 64]) {
    const r = await filter(MSG, split);
    assert.equal(r.out, want, `split ${split}`);
    assert.equal(r.removed, 2);
  }
});

test("a header-only message (no blank line) is filtered at end of data", async () => {
  const r = await filter("Subject: x\r\nAuthentication-Results: mx.petrel.test; none\r\n");
  assert.equal(r.out, "Subject: x\r\n");
});

test("a message that begins with the blank line has no header to filter", async () => {
  const r = await filter("\r\nAuthentication-Results: mx.petrel.test; body\r\n", 1);
  assert.equal(r.out, "\r\nAuthentication-Results: mx.petrel.test; body\r\n");
  assert.equal(r.removed, 0);
});

test("a header block over the limit is passed on and reported", async () => {
  const big = `X-Long: ${"a".repeat(2000)}\r\n`.repeat(5) + "\r\nbody\r\n";
  const r = await filter(big, 512, 4096);
  assert.equal(r.tooLarge, true);
  assert.equal(r.out, big);
});
