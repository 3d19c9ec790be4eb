/**
 * DATA and BDAT decoding: tables of wire bytes, the SMTP smuggling variants, and properties
 * checked against a small reference model (any chunking, any bytes).
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { DataDecoder, type DecoderOptions } from "./data-decoder.js";

const DATA: DecoderOptions = { dotStuffed: true, normalize: false, maxLineLength: 1000, maxSize: 1 << 30 };
const BDAT: DecoderOptions = { ...DATA, dotStuffed: false };

interface Decoded {
  out: Buffer;
  /** Offset in the whole input just past CRLF.CRLF, or -1. */
  end: number;
  bare: boolean;
  long: boolean;
  tooBig: boolean;
  size: number;
}

const bytes = (s: string | Buffer) => (typeof s === "string" ? Buffer.from(s, "latin1") : s);

/** Feed `wire` cut at `cuts` (offsets), stopping at the end of data as the session does. */
function decode(wire: string | Buffer, opts: Partial<DecoderOptions> = {}, cuts: number[] = []): Decoded {
  const o = { ...DATA, ...opts };
  const w = bytes(wire);
  const d = new DataDecoder(o);
  const points = [...new Set(cuts.filter((c) => c > 0 && c < w.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, w.length]) {
    chunks.push(w.subarray(prev, p));
    prev = p;
  }
  const out: Buffer[] = [];
  let offset = 0;
  let end = -1;
  for (const c of chunks) {
    const r = d.push(c);
    out.push(...r.parts);
    if (r.end >= 0) {
      assert.ok(r.end <= c.length);
      end = offset + r.end;
      break;
    }
    offset += c.length;
  }
  if (end < 0 && !o.dotStuffed) out.push(...d.finish());
  return { out: Buffer.concat(out), end, bare: d.bareLineEnding, long: d.lineTooLong, tooBig: d.tooBig, size: d.size };
}

const str = (b: Buffer) => b.toString("latin1");

describe("DATA decoding (dot-stuffed, RFC 5321 4.1.1.4 / 4.5.2)", () => {
  const table: [name: string, wire: string, content: string | null, rest?: string][] = [
    ["one line", "Hello\r\n.\r\n", "Hello\r\n"],
    ["empty message", ".\r\n", ""],
    ["empty line then end", "\r\n.\r\n", "\r\n"],
    ["stuffed leading dot", "..foo\r\n.\r\n", ".foo\r\n"],
    ["a line with a single dot", "a\r\n..\r\n.\r\n", "a\r\n.\r\n"],
    ["three dots become two", "a\r\n...\r\n.\r\n", "a\r\n..\r\n"],
    ["stuffed dot on the first line", "..\r\n.\r\n", ".\r\n"],
    ["dots inside a line are content", "a.b\r\n. x\r\n.\r\n", "a.b\r\n x\r\n"],
    ["an unstuffed leading dot is removed", ".foo\r\n.\r\n", "foo\r\n"],
    ["space before the dot is not the end", "a\r\n .\r\n.\r\n", "a\r\n .\r\n"],
    ["dot then space is not the end", "a\r\n. \r\n.\r\n", "a\r\n \r\n"],
    ["pipelined command after the end", "x\r\n.\r\nQUIT\r\n", "x\r\n", "QUIT\r\n"],
    ["no terminator yet", "Hello\r\n", null],
    ["terminator without the final LF", "Hello\r\n.\r", null],
    ["8-bit and NUL octets are content", "caf\xe9\x00\xff\r\n.\r\n", "caf\xe9\x00\xff\r\n"],
  ];
  for (const [name, wire, content, rest] of table) {
    test(name, () => {
      const r = decode(wire);
      if (content === null) {
        assert.equal(r.end, -1);
        return;
      }
      assert.equal(str(r.out), content);
      assert.equal(r.end, wire.length - (rest?.length ?? 0));
      assert.equal(r.size, content.length);
      assert.equal(r.bare, false);
      assert.equal(r.long, false);
    });
  }

  test("the terminator split across chunks at every position", () => {
    const wire = "Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\nNEXT";
    const whole = decode(wire);
    assert.equal(str(whole.out), "Subject: x\r\n\r\n.dot\r\nbody\r\n");
    assert.equal(whole.end, wire.length - 4);
    for (let i = 1; i < wire.length; i++) {
      for (let j = i; j < wire.length; j++) {
        assert.deepEqual(decode(wire, {}, [i, j]), whole, `cut at ${i} and ${j}`);
      }
    }
  });

  test("one byte at a time", () => {
    const wire = "a\r\n..b\r\n.\r\n";
    const cuts = Array.from({ length: wire.length }, (_, i) => i);
    assert.deepEqual(decode(wire, {}, cuts), decode(wire));
  });

  // SMTP smuggling (CVE-2023-51764 and friends): only CRLF "." CRLF ends the data.
  const smuggling = ["\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\r\n.\r", "\n.\r", "\r.\n", "\r\n.\r\r\n", "\n..\r\n", "\r\n\x00.\r\n", "\r\n.\x00\r\n"];
  for (const v of smuggling) {
    for (const normalize of [false, true]) {
      test(`${JSON.stringify(v)} never ends the data (${normalize ? "normalize" : "reject"})`, () => {
        const wire = `a${v}MAIL FROM:<evil@x>\r\n`;
        const r = decode(wire, { normalize });
        assert.equal(r.end, -1, "must not end the data");
        for (let i = 1; i < wire.length; i++) assert.equal(decode(wire, { normalize }, [i]).end, -1);
        // The content goes on until the real terminator; the smuggled command is message text.
        const full = decode(wire + "\r\n.\r\n", { normalize });
        assert.equal(full.end, wire.length + 5);
        assert.ok(str(full.out).includes("MAIL FROM:<evil@x>"));
        assert.equal(full.bare, !v.includes("\x00"), "a bare CR or LF is flagged");
      });
    }
  }

  test("bare LF and bare CR are flagged, CRLF is not", () => {
    assert.equal(decode("a\nb\r\n.\r\n").bare, true);
    assert.equal(decode("a\rb\r\n.\r\n").bare, true);
    assert.equal(decode("a\r\rb\r\n.\r\n").bare, true);
    assert.equal(decode(".\rb\r\n.\r\n").bare, true);
    assert.equal(decode("a\r\nb\r\n.\r\n").bare, false);
    // In reject mode the content is passed on unchanged (the session refuses the message).
    assert.equal(str(decode("a\nb\r\n.\r\n").out), "a\nb\r\n");
  });

  test("normalize mode turns bare CR and bare LF into CRLF", () => {
    const n = (w: string) => str(decode(w, { normalize: true }).out);
    assert.equal(n("a\nb\r\n.\r\n"), "a\r\nb\r\n");
    assert.equal(n("a\rb\r\n.\r\n"), "a\r\nb\r\n");
    assert.equal(n("a\r\r\nb\r\n.\r\n"), "a\r\n\r\nb\r\n");
    assert.equal(n("a\n\nb\r\n.\r\n"), "a\r\n\r\nb\r\n");
    assert.equal(n(".\rX\r\n.\r\n"), "\r\nX\r\n");
    assert.equal(n("a\r\n..\rb\r\n.\r\n"), "a\r\n.\r\nb\r\n");
    // A bare LF is not a line ending, so ".\r\n" after it is content, not the end.
    assert.equal(n("x\n.\r\n.\r\n"), "x\r\n.\r\n");
    assert.equal(decode("a\nb\r\n.\r\n", { normalize: true }).bare, true, "still reported");
    assert.equal(decode("a\r\n.\r\n", { normalize: true }).size, 3);
  });

  test("line length: 998 octets + CRLF is the limit (RFC 5321 4.5.3.1.6)", () => {
    const line = (n: number) => "x".repeat(n);
    assert.equal(decode(`${line(998)}\r\n.\r\n`).long, false);
    assert.equal(decode(`${line(999)}\r\n.\r\n`).long, true);
    assert.equal(decode(`a\r\n${line(999)}\r\nb\r\n.\r\n`).long, true);
    assert.equal(decode(`${line(998)}\r\n${line(998)}\r\n.\r\n`).long, false, "the count restarts at each CRLF");
    assert.equal(decode(`${line(600)}\n${line(600)}\r\n.\r\n`).long, false, "a bare LF restarts the count too");
    assert.equal(decode(`${line(999)}\r\n.\r\n`, {}, [500]).long, true);
    assert.equal(decode(`${line(20)}\r\n.\r\n`, { maxLineLength: 22 }).long, false);
    assert.equal(decode(`${line(21)}\r\n.\r\n`, { maxLineLength: 22 }).long, true);
  });

  test("the dot added for transparency does not count toward the line length", () => {
    // RFC 5321 4.5.3.1.6: "not counting the leading dot duplicated for transparency".
    const original = "." + "x".repeat(997); // 998 octets: the longest allowed line
    const r = decode(`.${original}\r\n.\r\n`);
    assert.equal(str(r.out), original + "\r\n");
    assert.equal(r.long, false);
    assert.equal(decode(`..${"x".repeat(998)}\r\n.\r\n`).long, true);
  });

  test("size limit: content is dropped past maxSize, the terminator is still found", () => {
    const ok = decode("0123456\r\n.\r\n", { maxSize: 9 });
    assert.equal(ok.tooBig, false);
    assert.equal(str(ok.out), "0123456\r\n");
    const big = decode("0123456789\r\nmore\r\n.\r\nQUIT\r\n", { maxSize: 9 });
    assert.equal(big.tooBig, true);
    assert.ok(big.out.length <= 9);
    assert.equal(big.end, 21, "the rest of the message is read and discarded");
    assert.equal(big.size, 18, "every content octet is counted");
  });
});

describe("BDAT decoding (RFC 3030: octets as sent)", () => {
  test("no dot-unstuffing and no terminator", () => {
    const r = decode("..a\r\n.\r\nb\r\n", BDAT);
    assert.equal(str(r.out), "..a\r\n.\r\nb\r\n");
    assert.equal(r.end, -1);
    assert.equal(r.bare, false);
  });

  test("empty", () => {
    const r = decode("", BDAT);
    assert.equal(r.out.length, 0);
    assert.equal(r.bare, false);
  });

  test("a CRLF split across chunks is not bare", () => {
    assert.equal(decode("a\r\nb\r\n", BDAT, [2]).bare, false);
  });

  test("a trailing bare CR is resolved by finish()", () => {
    assert.equal(decode("a\r", BDAT).bare, true);
    assert.equal(str(decode("a\r", { ...BDAT, normalize: true }).out), "a\r\n");
    assert.equal(decode("a\r\n", BDAT).bare, false);
  });

  test("bare LF flagged; normalize turns it into CRLF", () => {
    assert.equal(decode("a\nb\r\n", BDAT).bare, true);
    assert.equal(str(decode("a\nb\rc\r\n", { ...BDAT, normalize: true }).out), "a\r\nb\r\nc\r\n");
  });

  test("line length and size limits", () => {
    assert.equal(decode("x".repeat(998) + "\r\n", BDAT).long, false);
    assert.equal(decode("x".repeat(999) + "\r\n", BDAT).long, true);
    assert.equal(decode("..." + "x".repeat(996) + "\r\n", BDAT).long, true, "dots count in BDAT");
    const big = decode("0123456789", { ...BDAT, maxSize: 4 });
    assert.equal(big.tooBig, true);
    assert.equal(big.size, 10);
    assert.ok(big.out.length <= 4);
  });
});

// ---- properties -------------------------------------------------------------------------

/** Bytes biased toward the ones that matter to the state machine. */
const wireBytes = (maxLength = 300) => fc.array(fc.oneof(fc.constantFrom(13, 10, 46, 97, 32), fc.integer({ min: 0, max: 255 })), { maxLength }).map((a) => Buffer.from(a));
const cutPoints = fc.array(fc.nat({ max: 400 }), { maxLength: 12 });

/** The obvious, non-streaming decoder of RFC 5321: the oracle for the state machine. */
function reference(wire: Buffer, o: DecoderOptions): Omit<Decoded, "size"> & { size?: number } {
  const w = str(wire);
  let content = w;
  let end = -1;
  if (o.dotStuffed) {
    // The data starts just after the CRLF of the DATA command line.
    const at = ("\r\n" + w).indexOf("\r\n.\r\n");
    if (at >= 0) {
      end = at + 3;
      content = w.slice(0, at);
    } else {
      return { out: Buffer.alloc(0), end: -1, bare: false, long: false, tooBig: false };
    }
    content = content.replace(/(^|\r\n)\./g, "$1");
  }
  const bare = /\r(?!\n)|(?<!\r)\n/.test(content);
  const long = content.split("\n").some((l) => l.replace(/\r/g, "").length > o.maxLineLength - 2);
  let out = o.normalize ? content.replace(/\r\n|\r|\n/g, "\r\n") : content;
  const size = out.length;
  const tooBig = size > o.maxSize;
  if (tooBig) out = out.slice(0, o.maxSize);
  return { out: Buffer.from(out, "latin1"), end, bare, long, tooBig, size };
}

describe("DataDecoder properties", () => {
  const modes: [string, Partial<DecoderOptions>][] = [
    ["DATA reject", { maxLineLength: 12 }],
    ["DATA normalize", { normalize: true, maxLineLength: 12 }],
    ["BDAT reject", { dotStuffed: false, maxLineLength: 12 }],
    ["BDAT normalize", { dotStuffed: false, normalize: true, maxLineLength: 12 }],
  ];

  for (const [name, opts] of modes) {
    test(`${name}: any chunking gives the same result as one chunk`, () => {
      fc.assert(
        fc.property(wireBytes(), cutPoints, (wire, cuts) => {
          assert.deepEqual(decode(wire, opts, cuts), decode(wire, opts));
        }),
        { numRuns: 400 },
      );
    });

    test(`${name}: agrees with the reference decoder`, () => {
      fc.assert(
        fc.property(wireBytes(), cutPoints, (w, cuts) => {
          // Appending CRLF.CRLF guarantees an end for DATA; BDAT ends where the input ends.
          const wire = opts.dotStuffed === false ? w : Buffer.concat([w, Buffer.from("\r\n.\r\n")]);
          const o = { ...DATA, ...opts };
          const got = decode(wire, opts, cuts);
          const want = reference(wire, o);
          assert.equal(got.end, want.end, "end of data");
          assert.equal(got.bare, want.bare, "bare line ending");
          assert.equal(got.long, want.long, "line too long");
          assert.equal(str(got.out), str(want.out), "content");
          assert.equal(got.size, want.size);
        }),
        { numRuns: 400 },
      );
    });
  }

  test("the end of data is exactly the first CRLF.CRLF, whatever the bytes", () => {
    fc.assert(
      fc.property(wireBytes(), fc.boolean(), cutPoints, (wire, normalize, cuts) => {
        const at = ("\r\n" + str(wire)).indexOf("\r\n.\r\n");
        assert.equal(decode(wire, { normalize }, cuts).end, at < 0 ? -1 : at + 3);
      }),
      { numRuns: 500 },
    );
  });

  test("dot-stuff(message) + .CRLF decodes back to the message", () => {
    const line = fc.array(fc.oneof(fc.constantFrom(46, 97, 32, 9), fc.integer({ min: 0, max: 255 }).filter((b) => b !== 13 && b !== 10)), { maxLength: 40 }).map((a) => str(Buffer.from(a)));
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), cutPoints, fc.boolean(), (lines, cuts, normalize) => {
        const msg = lines.map((l) => l + "\r\n").join("");
        // RFC 5321 4.5.2: a leading dot is doubled.
        const wire = lines.map((l) => (l.startsWith(".") ? "." : "") + l + "\r\n").join("") + ".\r\n";
        const r = decode(wire, { normalize }, cuts);
        assert.equal(str(r.out), msg);
        assert.equal(r.end, Buffer.byteLength(wire, "latin1"));
        assert.equal(r.bare, false);
        assert.equal(r.long, false);
      }),
      { numRuns: 500 },
    );
  });

  test("normalized content has only CRLF line endings and never exceeds maxSize", () => {
    fc.assert(
      fc.property(wireBytes(), cutPoints, fc.integer({ min: 0, max: 200 }), (w, cuts, maxSize) => {
        const wire = Buffer.concat([w, Buffer.from("\r\n.\r\n")]);
        const r = decode(wire, { normalize: true, maxSize }, cuts);
        assert.ok(r.out.length <= maxSize);
        if (!r.tooBig) assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(str(r.out)), JSON.stringify(str(r.out)));
      }),
      { numRuns: 400 },
    );
  });
});
