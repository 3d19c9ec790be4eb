/** The bounded command-line reader: CRLF only, over-long lines are an event, not a buffer. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { InputBuffer, TOO_LONG } from "./input-buffer.js";

const b = (s: string) => Buffer.from(s, "latin1");

/** Every line available now, as strings (TOO_LONG as the string "TOO_LONG"). */
function drain(buf: InputBuffer, limit: number): string[] {
  const out: string[] = [];
  for (;;) {
    const l = buf.takeLine(limit);
    if (l === null) return out;
    out.push(l === TOO_LONG ? "TOO_LONG" : l.toString("latin1"));
  }
}

describe("InputBuffer", () => {
  test("lines split across chunks", () => {
    const buf = new InputBuffer();
    buf.push(b("EH"));
    assert.deepEqual(drain(buf, 512), []);
    buf.push(b("LO client.test\r"));
    assert.deepEqual(drain(buf, 512), []);
    buf.push(b("\nNOOP\r\nQU"));
    assert.deepEqual(drain(buf, 512), ["EHLO client.test", "NOOP"]);
    buf.push(b("IT\r\n"));
    assert.deepEqual(drain(buf, 512), ["QUIT"]);
    assert.equal(buf.length, 0);
  });

  test("CRLF split between chunks", () => {
    const buf = new InputBuffer();
    buf.push(b("A\r"));
    assert.equal(buf.takeLine(512), null);
    buf.push(b("\n"));
    assert.deepEqual(drain(buf, 512), ["A"]);
  });

  test("a bare LF or bare CR is not a line ending (RFC 5321 2.3.8)", () => {
    const buf = new InputBuffer();
    buf.push(b("A\nB\rC\r\n"));
    assert.deepEqual(drain(buf, 512), ["A\nB\rC"]);
  });

  test("empty lines", () => {
    const buf = new InputBuffer();
    buf.push(b("\r\n\r\nX\r\n"));
    assert.deepEqual(drain(buf, 512), ["", "", "X"]);
  });

  test("the limit counts the CRLF", () => {
    const buf = new InputBuffer();
    buf.push(b("12345678\r\n123456789\r\nok\r\n"));
    assert.deepEqual(drain(buf, 10), ["12345678", "TOO_LONG", "ok"]);
  });

  test("an over-long line in one chunk is discarded through its CRLF, reported once", () => {
    const buf = new InputBuffer();
    buf.push(b("x".repeat(100) + "\r\nNOOP\r\n"));
    assert.deepEqual(drain(buf, 10), ["TOO_LONG", "NOOP"]);
  });

  test("an over-long line arriving in pieces is reported once, when its CRLF comes", () => {
    const buf = new InputBuffer();
    for (let i = 0; i < 50; i++) {
      buf.push(b("x".repeat(7)));
      assert.deepEqual(drain(buf, 10), []);
      assert.ok(buf.length <= 10, `buffer stays bounded (${buf.length})`);
    }
    buf.push(b("\r"));
    assert.deepEqual(drain(buf, 10), []);
    assert.ok(buf.length <= 1);
    buf.push(b("\nNOOP\r\n"));
    assert.deepEqual(drain(buf, 10), ["TOO_LONG", "NOOP"]);
  });

  test("while discarding, a CR followed by something else does not end the line", () => {
    const buf = new InputBuffer();
    buf.push(b("x".repeat(20) + "\r"));
    assert.deepEqual(drain(buf, 10), []);
    buf.push(b("y\r"));
    assert.deepEqual(drain(buf, 10), []);
    buf.push(b("\nA\r\n"));
    assert.deepEqual(drain(buf, 10), ["TOO_LONG", "A"]);
  });

  test("shift, unshift and clear (message content)", () => {
    const buf = new InputBuffer();
    buf.push(b("abc"));
    buf.push(b("def"));
    buf.push(Buffer.alloc(0));
    assert.equal(buf.length, 6);
    assert.equal(buf.shift(2)!.toString(), "ab");
    assert.equal(buf.length, 4);
    assert.equal(buf.shift()!.toString(), "c");
    buf.unshift(b("XY"));
    assert.equal(buf.length, 5);
    assert.equal(buf.shift(10)!.toString(), "XY");
    assert.equal(buf.clear(), 3);
    assert.equal(buf.shift(), null);
    assert.equal(buf.takeLine(512), null);
  });

  test("clear() also ends a discard in progress", () => {
    const buf = new InputBuffer();
    buf.push(b("x".repeat(50)));
    assert.deepEqual(drain(buf, 10), []);
    buf.clear();
    buf.push(b("NOOP\r\n"));
    assert.deepEqual(drain(buf, 10), ["NOOP"]);
  });

  test("a megabyte without CRLF never makes the buffer grow", () => {
    const buf = new InputBuffer();
    const chunk = b("A".repeat(1024));
    for (let i = 0; i < 1024; i++) {
      buf.push(chunk);
      assert.deepEqual(drain(buf, 512), []);
      assert.ok(buf.length <= 512);
    }
    buf.push(b("\r\nQUIT\r\n"));
    assert.deepEqual(drain(buf, 512), ["TOO_LONG", "QUIT"]);
  });
});

describe("InputBuffer properties", () => {
  const chunk = fc.array(fc.oneof(fc.constantFrom(13, 10, 65, 32), fc.integer({ min: 0, max: 255 })), { maxLength: 60 }).map((a) => Buffer.from(a));

  test("random bytes in random chunks: same lines as splitting on CRLF, memory bounded", () => {
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 30 }), fc.integer({ min: 3, max: 40 }), (chunks, limit) => {
        const buf = new InputBuffer();
        const got: string[] = [];
        for (const c of chunks) {
          buf.push(c);
          got.push(...drain(buf, limit));
          assert.ok(buf.length <= limit, `buffer holds ${buf.length} > ${limit}`);
        }
        // The model: complete lines end at CRLF; a line longer than the limit is one TOO_LONG.
        const all = Buffer.concat(chunks).toString("latin1").split("\r\n");
        all.pop(); // the incomplete tail
        const want = all.map((l) => (l.length + 2 > limit ? "TOO_LONG" : l));
        assert.deepEqual(got, want);
      }),
      { numRuns: 1000 },
    );
  });
});
