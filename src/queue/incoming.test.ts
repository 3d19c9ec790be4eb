/** One message being received: inline or spooled, commit, and abort at any moment. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IncomingMessage } from "./incoming.js";
import { Spool } from "./spool.js";
import type { NewQueueMessage } from "../store/types.js";

async function setup(): Promise<{ spool: Spool; dir: string; rows: NewQueueMessage[]; make: (id: string, inlineMax: number) => IncomingMessage; done: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-incoming-"));
  const spool = new Spool(dir);
  await spool.init();
  const rows: NewQueueMessage[] = [];
  const make = (id: string, inlineMax: number) => new IncomingMessage(id, { sender: "a@b.test", recipients: [{ address: "c@d.test", dsn: {} }], mail: {} }, spool, inlineMax, async (m) => void rows.push(m), () => 1);
  return { spool, dir, rows, make, done: () => rmSync(dir, { recursive: true, force: true }) };
}

describe("IncomingMessage", () => {
  test("small messages are kept for the row, large ones go to a spool file", async () => {
    const s = await setup();
    try {
      const small = s.make("SMALL", 10);
      await small.write([Buffer.from("hello"), Buffer.from(" you")]);
      await small.commit({});
      assert.equal(s.rows[0]!.body!.toString(), "hello you");
      assert.equal(s.rows[0]!.size, 9);

      const big = s.make("BIG", 10);
      await big.write([Buffer.from("hello")]);
      await big.write([Buffer.from(" world, "), Buffer.from("this is long")]);
      assert.ok(big.spooled);
      await big.commit({});
      assert.equal(s.rows[1]!.body, null);
      assert.equal(s.rows[1]!.size, 25);
      assert.equal(readFileSync(s.spool.path("BIG"), "utf8"), "hello world, this is long");
    } finally {
      s.done();
    }
  });

  test("abort removes the spool file; abort after commit does nothing", async () => {
    const s = await setup();
    try {
      const m = s.make("GONE", 0);
      await m.write([Buffer.from("data")]);
      await m.abort();
      assert.deepEqual(readdirSync(s.dir), []);
      const kept = s.make("KEPT", 0);
      await kept.write([Buffer.from("data")]);
      await kept.commit({});
      await kept.abort();
      assert.deepEqual(readdirSync(s.dir), ["KEPT.eml"]);
    } finally {
      s.done();
    }
  });

  test("abort while the spool file is being created leaves no file and no open descriptor", async () => {
    const s = await setup();
    try {
      for (let i = 0; i < 50; i++) {
        const m = s.make(`RACE${i}`, 0);
        const w = m.write([Buffer.from("x".repeat(100))]);
        if (i % 2) await new Promise((r) => setImmediate(r));
        await m.abort();
        await w.catch(() => undefined);
      }
      assert.deepEqual(readdirSync(s.dir), []);
      // A descriptor left open would only be closed (with a warning) by garbage collection.
      assert.deepEqual(openFilesUnder(s.dir), []);
    } finally {
      s.done();
    }
  });
});

/** Files this process has open under `dir` (Linux /proc; empty elsewhere). */
function openFilesUnder(dir: string): string[] {
  let fds: string[];
  try {
    fds = readdirSync("/proc/self/fd");
  } catch {
    return [];
  }
  return fds.flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(dir) ? [target] : [];
    } catch {
      return [];
    }
  });
}
