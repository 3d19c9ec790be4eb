/**
 * Hostile shapes: deep nesting, huge part and header counts, large messages. Each must parse
 * within the limits of MIME_LIMITS and in time linear in its size (the time bounds are loose:
 * they catch a quadratic blow-up, which takes minutes, not a slow machine).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMessage, walkParts, MIME_LIMITS, type ParsedMessage } from "./index.js";
import { treeProblems } from "./invariants.js";

const MiB = 1024 * 1024;
const fill = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length));

function timed(raw: Buffer, maxMs: number): ParsedMessage {
  const t = performance.now();
  const m = parseMessage(raw);
  const ms = performance.now() - t;
  assert.ok(ms < maxMs, `took ${ms.toFixed(0)} ms`);
  assert.deepEqual(treeProblems(raw, m), []);
  return m;
}

const depthOf = (p: { children: { children: unknown[] }[] }): number => (p.children.length === 0 ? 0 : 1 + Math.max(...p.children.map((c) => depthOf(c as never))));

/** Multiparts nested `n` deep, the boundary of level i being boundary(i). */
function nested(n: number, boundary: (i: number) => string): Buffer {
  let head = "";
  let tail = "";
  for (let i = 0; i < n; i++) {
    head += `Content-Type: multipart/mixed; boundary="${boundary(i)}"\r\n\r\n--${boundary(i)}\r\n`;
    tail = `\r\n--${boundary(i)}--${tail}`;
  }
  return Buffer.from(`${head}Content-Type: text/plain\r\n\r\ndeepest${tail}\r\n`);
}

test("multiparts nested 100 deep: structure up to the limit, opaque below", () => {
  const raw = nested(100, (i) => `level-${i}-end`);
  const m = timed(raw, 2000);
  assert.equal(depthOf(m.root), MIME_LIMITS.maxDepth);
  const deepest = [...walkParts(m.root)].at(-1)!;
  assert.equal(deepest.type, "multipart", "the first multipart past the limit is kept, unparsed");
  assert.deepEqual(deepest.children, []);
  assert.match(raw.subarray(deepest.bodyStart, deepest.bodyEnd).toString(), /deepest/);
});

test("multiparts nested 100 deep whose boundaries are prefixes of one another", () => {
  // "level1" starts "--level10" too: below the depth limit such lines end outer parts early
  // (RFC 2046 5.1.1 only asks for a prefix). The tree is odd but its offsets must still hold.
  timed(nested(100, (i) => `level${i}`), 2000);
});

test("message/rfc822 nested 100 deep", () => {
  const raw = Buffer.from(`${"Content-Type: message/rfc822\r\nSubject: wrapper\r\n\r\n".repeat(100)}innermost\r\n`);
  const m = timed(raw, 2000);
  const parts = [...walkParts(m.root)];
  assert.equal(parts.length, MIME_LIMITS.maxDepth + 1);
  assert.equal(parts.at(-1)!.type, "application", "past the limit a message part is opaque");
});

test(`at most ${MIME_LIMITS.maxParts} parts; the rest stays in the parent's body`, () => {
  const raw = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${"--b\r\n\r\npart\r\n".repeat(20_000)}--b--\r\n`);
  const m = timed(raw, 5000);
  assert.equal(m.root.children.length, MIME_LIMITS.maxParts - 1);
  assert.equal(m.root.bodyEnd, raw.length);
});

test("a million header fields", () => {
  const raw = Buffer.from(`${fill("X-A: b\r\n", 8 * MiB)}Subject: last\r\n\r\nbody`);
  const m = timed(raw, 5000);
  assert.equal(m.envelope.subject, "last");
  assert.ok(Buffer.byteLength(m.searchHeaders) <= MIME_LIMITS.maxSearchHeaders);
});

test("one header field folded over 8 MiB", () => {
  const m = timed(Buffer.from(`Subject: x\r\n${fill(" y\r\n", 8 * MiB)}\r\nbody`), 5000);
  assert.ok(m.envelope.subject!.length <= MIME_LIMITS.maxFieldValue);
});

test("a million lines starting with '--' under 50 open boundaries", () => {
  let head = "";
  for (let i = 0; i < 50; i++) head += `Content-Type: multipart/mixed; boundary="${"x".repeat(60)}${i}"\r\n\r\n--${"x".repeat(60)}${i}\r\n`;
  timed(Buffer.from(`${head}\r\n${fill(`--${"x".repeat(60)}\r\n`, 8 * MiB)}`), 5000);
  timed(Buffer.from(`${head}\r\n${fill("--\r\n", 8 * MiB)}`), 5000);
});

test("parts whose headers never end, and empty parts", () => {
  timed(Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${fill("--b\r\nX: y\r\nZ: w\r\n", 8 * MiB)}`), 5000);
  timed(Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${fill("--b\r\n", 8 * MiB)}`), 5000);
});

test("a 50 MiB message with a large attachment", () => {
  const raw = Buffer.from(
    `Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${fill("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n", 50 * MiB)}--b--\r\n`,
  );
  const m = timed(raw, 5000);
  assert.equal(m.root.children.length, 2);
  assert.equal(m.searchBody, "hello\n");
});
