/**
 * Property tests (fast-check) for the untrusted-input side: whatever bytes arrive, in whatever
 * chunks, the reader keeps its buffers within the limits and the parsers fail only with
 * ParseError.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CommandReader } from "./reader.js";
import { ParseError, Parser } from "./parser.js";
import { parseSearch } from "./search.js";
import { parseFetch, parseStore } from "./fetch.js";

const limits = { maxLine: 200, maxLiteral: 100, maxAppendLiteral: 300 };
const pieces = fc.constantFrom("a ", "APPEND ", "LOGIN ", "{5}\r\n", "{3+}\r\n", "~{2+}\r\n", "{99999}\r\n", "{150+}\r\n", "\r\n", "\r", "\n", "x", "(", ")", '"', "\0", "\xff", "y".repeat(90));

test("reader: bounded commands and buffers for any input split in any way", () => {
  fc.assert(
    fc.property(fc.array(fc.array(pieces, { maxLength: 20 }), { maxLength: 20 }), (chunks) => {
      const r = new CommandReader(limits);
      for (const c of chunks) {
        r.push(Buffer.from(c.join(""), "latin1"));
        for (let e = r.next(); e; e = r.next()) {
          if (e.kind === "command") assert.ok(e.data.length <= 2 * limits.maxAppendLiteral + 9 * limits.maxLine + 100, `command of ${e.data.length} octets`);
        }
        assert.ok(r.length <= limits.maxLine + 20 * 20 * 90 + 10);
      }
    }),
    { numRuns: 500 },
  );
});

const tokens = fc.constantFrom("1", "2:*", "*:4", "$", ",", ":", " ", "(", ")", "[", "]", "<0.5>", "{2}\r\nab", '"q"', '"\\"', "NIL", "BODY", ".PEEK", "HEADER.FIELDS", "TEXT", "MIME", "OR", "NOT", "ALL", "UID", "FLAGS", "+FLAGS.SILENT", "\\Seen", "UNCHANGEDSINCE", "CHANGEDSINCE", "VANISHED", "MODSEQ", "SINCE", "1-Jan-2020", "RETURN", "CHARSET", "\0", "\xe9");

test("parsers: only ParseError escapes", () => {
  fc.assert(
    fc.property(fc.array(tokens, { maxLength: 40 }), (parts) => {
      const buf = Buffer.from(parts.join(""), "latin1");
      for (const fn of [parseSearch, parseFetch, parseStore]) {
        try {
          fn(new Parser(buf));
        } catch (e) {
          if (!(e instanceof ParseError)) throw e;
        }
      }
    }),
    { numRuns: 2000 },
  );
});
