/** Framing of commands: lines, literals (sync, LITERAL+, literal8), limits. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { CommandReader, type ReadEvent } from "./reader.js";

const limits = { maxLine: 100, maxLiteral: 50, maxAppendLiteral: 1000 };

function all(r: CommandReader, text: string | Buffer): ReadEvent[] {
  r.push(typeof text === "string" ? Buffer.from(text, "latin1") : text);
  const out: ReadEvent[] = [];
  for (let e = r.next(); e; e = r.next()) out.push(e);
  return out;
}

const cmd = (s: string): ReadEvent => ({ kind: "command", data: Buffer.from(s, "latin1") });

test("lines split across chunks and pipelined", () => {
  const r = new CommandReader(limits);
  assert.deepEqual(all(r, "a1 NO"), []);
  assert.deepEqual(all(r, "OP\r\na2 CAPABILITY\r\na3"), [cmd("a1 NOOP"), cmd("a2 CAPABILITY")]);
  assert.deepEqual(all(r, "\r"), []);
  assert.deepEqual(all(r, "\n"), [cmd("a3")]);
});

test("synchronising literal asks for continuation; LITERAL+ does not", () => {
  const r = new CommandReader(limits);
  assert.deepEqual(all(r, "a LOGIN {3}\r\n"), [{ kind: "continue" }]);
  assert.deepEqual(all(r, "bob {2+}\r\npw\r\n"), [cmd("a LOGIN {3}\r\nbob {2+}\r\npw")]);
  assert.deepEqual(all(r, "b LOGIN {1+}\r\n\r {0}\r\n"), [{ kind: "continue" }]);
  assert.deepEqual(all(r, "\r\n"), [cmd("b LOGIN {1+}\r\n\r {0}\r\n")]);
});

test("literal octets are not scanned for CRLF or literal markers", () => {
  const r = new CommandReader(limits);
  assert.deepEqual(all(r, "a X {8+}\r\n{5}\r\n\r\nab\r\n"), [cmd("a X {8+}\r\n{5}\r\n\r\nab")]);
});

test("over-limit synchronising literal is refused without reading it", () => {
  const r = new CommandReader(limits);
  assert.deepEqual(all(r, "t1 LOGIN {51}\r\n"), [{ kind: "toobig", tag: "t1" }]);
  assert.deepEqual(all(r, "t2 NOOP\r\n"), [cmd("t2 NOOP")]);
  // APPEND gets the message size limit.
  assert.deepEqual(all(r, "t3 APPEND INBOX {500}\r\n"), [{ kind: "continue" }]);
});

test("over-limit non-synchronising literal is skipped then reported", () => {
  const r = new CommandReader(limits);
  const big = "x".repeat(60);
  assert.deepEqual(all(r, `t1 LOGIN {60+}\r\n${big.slice(0, 30)}`), []);
  assert.deepEqual(all(r, `${big.slice(30)} {2+}\r\nab\r\nt2 NOOP\r\n`), [{ kind: "toobig", tag: "t1" }, cmd("t2 NOOP")]);
  // A huge announced size is skipped without allocation.
  const r2 = new CommandReader(limits);
  assert.deepEqual(all(r2, "t1 X {99999999999+}\r\nabc"), []);
  assert.equal(r2.length, 0);
});

test("literal8 framing", () => {
  const r = new CommandReader(limits);
  assert.deepEqual(all(r, "a APPEND INBOX ~{3+}\r\na\0b\r\n"), [cmd("a APPEND INBOX ~{3+}\r\na\0b")]);
});

test("a line over the limit is reported and ends reading", () => {
  const r = new CommandReader(limits);
  assert.deepEqual(all(r, "t9 " + "x".repeat(200)), [{ kind: "toolong", tag: "t9" }]);
  assert.deepEqual(all(r, "\r\nt2 NOOP\r\n"), []);
});

test("takeLine for IDLE and SASL", () => {
  const r = new CommandReader(limits);
  r.push(Buffer.from("DONE\r\nrest"));
  assert.equal(r.takeLine(100)?.toString(), "DONE");
  assert.equal(r.takeLine(100), null);
});
