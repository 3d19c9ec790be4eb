/** IncomingMessage.prepend: fields computed at end of data (DKIM-Signature) go before the message. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IncomingMessage } from "./incoming.js";
import { Spool } from "./spool.js";
import type { NewQueueMessage } from "../store/types.js";

async function withSpool(fn: (spool: Spool, dir: string, rows: NewQueueMessage[], make: (id: string, inlineMax: number, inStore?: boolean) => IncomingMessage) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-prepend-"));
  const spool = new Spool(dir);
  await spool.init();
  const rows: NewQueueMessage[] = [];
  const make = (id: string, inlineMax: number, inStore = false) =>
    new IncomingMessage(id, { sender: "a@b.test", recipients: [{ address: "c@d.test", dsn: {} }], mail: {} }, spool, inlineMax, async (m) => void rows.push(m), () => 1, inStore);
  try {
    await fn(spool, dir, rows, make);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("an inline message gets the head in its row; size counts it", () =>
  withSpool(async (_spool, _dir, rows, make) => {
    const m = make("IN", 1000);
    await m.write([Buffer.from("Subject: x\r\n\r\nbody\r\n")]);
    await m.prepend(Buffer.from("DKIM-Signature: a\r\n"));
    await m.commit({});
    assert.equal(rows[0]!.body!.toString(), "DKIM-Signature: a\r\nSubject: x\r\n\r\nbody\r\n");
    assert.equal(rows[0]!.size, rows[0]!.body!.length);
  }));

test("a spooled message is rewritten with the head; no temporary file is left", () =>
  withSpool(async (spool, dir, rows, make) => {
    const m = make("SP", 10);
    const body = "x".repeat(3 << 20); // more than one copy buffer
    await m.write([Buffer.from("Subject: x\r\n\r\n"), Buffer.from(body)]);
    assert.ok(m.spooled);
    await m.prepend(Buffer.from("DKIM-Signature: b\r\n"));
    await m.commit({});
    const stored = readFileSync(spool.path("SP"), "latin1");
    assert.equal(stored, `DKIM-Signature: b\r\nSubject: x\r\n\r\n${body}`);
    assert.equal(rows[0]!.size, stored.length);
    assert.equal(rows[0]!.body, null);
    assert.deepEqual(readdirSync(dir), ["SP.eml"]);
  }));

test("a spooled message for a shared store goes into the row with its head", () =>
  withSpool(async (_spool, dir, rows, make) => {
    const m = make("PG", 10, true);
    await m.write([Buffer.from("Subject: x\r\n\r\n0123456789abcdef\r\n")]);
    await m.prepend(Buffer.from("DKIM-Signature: c\r\n"));
    await m.commit({});
    assert.equal(rows[0]!.body!.toString(), "DKIM-Signature: c\r\nSubject: x\r\n\r\n0123456789abcdef\r\n");
    assert.deepEqual(readdirSync(dir), []);
  }));

test("abort after prepend removes the spool file", () =>
  withSpool(async (_spool, dir, _rows, make) => {
    const m = make("AB", 0);
    await m.write([Buffer.from("data")]);
    await m.prepend(Buffer.from("H: v\r\n"));
    await m.abort();
    assert.deepEqual(readdirSync(dir), []);
  }));
