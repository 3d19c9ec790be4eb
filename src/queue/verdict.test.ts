/** The quarantine verdict goes into the queue row's envelope and is read back by delivery. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IncomingMessage } from "./incoming.js";
import { Spool } from "./spool.js";
import { envelopeVerdict } from "./verdict.js";
import type { NewQueueMessage } from "../store/types.js";

test("commit(session, verdict) stores the verdict; envelopeVerdict reads it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "petrel-verdict-"));
  try {
    const spool = new Spool(dir);
    await spool.init();
    const rows: NewQueueMessage[] = [];
    const make = (id: string) => new IncomingMessage(id, { sender: "a@b.test", recipients: [{ address: "c@d.test", dsn: {} }], mail: {} }, spool, 1000, async (m) => void rows.push(m), () => 1);
    const q = make("Q1");
    await q.write([Buffer.from("Subject: x\r\n\r\nx\r\n")]);
    await q.commit({ sessionId: "s" }, { action: "quarantine", reason: "DMARC: x.test publishes p=quarantine" });
    const plain = make("Q2");
    await plain.write([Buffer.from("Subject: y\r\n\r\ny\r\n")]);
    await plain.commit({ sessionId: "s" });
    assert.deepEqual(envelopeVerdict(rows[0]!.envelope), { action: "quarantine", reason: "DMARC: x.test publishes p=quarantine" });
    assert.equal(envelopeVerdict(rows[1]!.envelope), null);
    assert.deepEqual(Object.keys(rows[1]!.envelope as object), ["mail", "session"], "no verdict key when there is none");
    assert.equal(envelopeVerdict(null), null);
    assert.equal(envelopeVerdict({ verdict: { action: "reject" } }), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
