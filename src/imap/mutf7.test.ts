/** Modified UTF-7 (RFC 3501 5.1.3): the RFC's example, round trips, and what must be refused. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeMutf7, encodeMutf7 } from "./mutf7.js";

test("RFC 3501 5.1.3 example", () => {
  assert.equal(encodeMutf7("~peter/mail/台北/日本語"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  assert.equal(decodeMutf7("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), "~peter/mail/台北/日本語");
});

test("known encodings", () => {
  const table: [string, string][] = [
    ["INBOX", "INBOX"],
    ["&", "&-"],
    ["Tom & Jerry", "Tom &- Jerry"],
    ["Entwürfe", "Entw&APw-rfe"],
    ["Gelöschte Elemente", "Gel&APY-schte Elemente"],
    ["Отправленные", "&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-"],
    ["😀", "&2D3eAA-"],
    ["a\u00e9\u00e9b", "a&AOkA6Q-b"],
    ["tab\there", "tab&AAk-here"],
    ["", ""],
  ];
  for (const [name, wire] of table) {
    assert.equal(encodeMutf7(name), wire, name);
    assert.equal(decodeMutf7(wire), name, wire);
  }
});

test("invalid or non-canonical forms are refused", () => {
  const bad = [
    "&U,BTFw", // unterminated shift
    "a&",
    "&AGE-", // "a" must be written directly
    "&ACY-", // "&" must be "&-"
    "&U,BTFw-&ZeVnLIqe-", // two shifts in a row must be one
    "&Jjo!-", // outside the alphabet
    "&U/BTFw-", // "/" is "," in modified BASE64
    "&U,BTFw=-", // no padding
    "&AOl-", // left-over bits not zero
    "&AOkA-", // a left-over whole character
    "&2D0-", // lone high surrogate
    "&3gA-", // lone low surrogate
    "caf\u00e9", // 8-bit in the name
    "tab\there",
  ];
  for (const s of bad) assert.equal(decodeMutf7(s), null, s);
});

test("any string round-trips, and its encoding is printable ASCII", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (s) => {
      // Lone surrogates have no canonical encoding that decodes back; skip them.
      fc.pre(!/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s));
      const e = encodeMutf7(s);
      assert.match(e, /^[\x20-\x7e]*$/);
      assert.equal(decodeMutf7(e), s);
    }),
    { numRuns: 500 },
  );
});

test("decoding then encoding gives the input back whenever decoding succeeds", () => {
  fc.assert(
    fc.property(fc.stringMatching(/^[A-Za-z&,+\-0-9]{0,12}$/), (s) => {
      const d = decodeMutf7(s);
      if (d !== null) assert.equal(encodeMutf7(d), s);
    }),
    { numRuns: 2000 },
  );
});
