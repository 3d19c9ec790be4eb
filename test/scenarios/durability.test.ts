/**
 * The key acceptance test of the durability rules (DESIGN.md): a 250 means the message is on
 * disk. Twenty clients send continuously to a `petrel serve` child process, which is killed
 * with SIGKILL at a random moment; after a restart on the same data directory, every message
 * that got "250 ... queued as ID" must reach the mailbox byte for byte, no Message-ID may be
 * delivered twice (the kill also hits deliveries in progress), and no spool file may be left.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startChild, tempDir, type ChildServer } from "../helpers/server.js";
import { SmtpClient, queueIdOf } from "../helpers/smtp-client.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

const CLIENTS = 20;
const CYCLES = 3;
const INLINE_MAX = 16 * 1024; // smtp.inlineMaxSize default: both storage paths are used

interface Acked {
  id: string;
  messageId: string;
  /** The message exactly as meant, before dot-stuffing. */
  content: Buffer;
}

/** A message of 1-200 KiB: unique Message-ID, random base64 lines, some starting with a dot. */
function makeMessage(): { messageId: string; content: Buffer } {
  const messageId = `<${randomUUID()}@durability.test>`;
  const size = 1024 + Math.floor(Math.random() * 199 * 1024);
  const b64 = randomBytes(Math.ceil((size * 3) / 4)).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push((i % (76 * 40) === 0 ? "." : "") + b64.slice(i, i + 76));
  const text = `Message-ID: ${messageId}\r\nFrom: <load@client.test>\r\nTo: <rcpt@petrel.test>\r\nSubject: durability\r\n\r\n${lines.join("\r\n")}\r\n`;
  return { messageId, content: Buffer.from(text, "latin1") };
}

/** RFC 5321 4.5.2: a leading dot is doubled; the data ends with CRLF.CRLF. */
function wire(content: Buffer): Buffer {
  return Buffer.from(content.toString("latin1").replace(/^\./gm, "..") + ".\r\n", "latin1");
}

/** Send messages until the connection dies; record each acknowledged one. */
async function client(port: number, acked: Acked[]): Promise<void> {
  let c: SmtpClient;
  try {
    c = await SmtpClient.open(port, { timeout: 20_000 });
    await c.ehlo("load.client.test");
  } catch {
    return;
  }
  try {
    for (;;) {
      const { messageId, content } = makeMessage();
      c.write("MAIL FROM:<load@client.test>\r\nRCPT TO:<rcpt@petrel.test>\r\nDATA\r\n");
      const [mail, rcpt, data] = await c.replies(3);
      assert.equal(mail!.code, 250, mail!.raw);
      assert.equal(rcpt!.code, 250, rcpt!.raw);
      assert.equal(data!.code, 354, data!.raw);
      c.write(wire(content));
      const r = await c.reply();
      assert.equal(r.code, 250, r.raw);
      acked.push({ id: queueIdOf(r), messageId, content });
    }
  } catch (e) {
    // The server was killed: a reply that never came. Anything else is a failure.
    if (!/connection closed|ECONNRESET|EPIPE/.test(String(e))) throw e;
  } finally {
    c.destroy();
  }
}

/**
 * After a restart, wait until the server has delivered everything, then check the mailbox
 * against what was acknowledged: every message there once, byte for byte (our delivery
 * headers + Received: + exactly the bytes meant), nothing left in the queue or the spool.
 */
async function verify(dataDir: string, acked: Acked[]): Promise<{ inline: number; spooled: number; total: number }> {
  const store = openSqliteStore(dataDir);
  try {
    const deadline = Date.now() + 30_000;
    while ((await store.queue.count()) > 0) {
      assert.ok(Date.now() < deadline, `queue not delivered in time (${await store.queue.count()} left)`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const account = (await store.directory.getAccount("catchall@petrel.test"))!;
    const box = (await store.mailstore.getMailbox(account.id, "INBOX"))!;
    const byMessageId = new Map<string, Buffer>();
    for (const m of await store.mailstore.listMessages(box.id)) {
      const blob = (await store.mailstore.blob(m.blobId))!;
      const body = Buffer.concat([m.prefix, blob]);
      assert.equal(m.size, body.length, "size column = octets served");
      const id = /\r\nMessage-ID: (<[^>\r\n]+>)\r\n/.exec(body.subarray(0, 2048).toString("latin1"))?.[1];
      assert.ok(id, `no Message-ID in uid ${m.uid}`);
      assert.ok(!byMessageId.has(id), `Message-ID ${id} delivered twice`);
      byMessageId.set(id, body);
    }
    let inline = 0;
    let spooled = 0;
    for (const a of acked) {
      const body = byMessageId.get(a.messageId);
      assert.ok(body, `acknowledged message ${a.id} (${a.messageId}) was lost`);
      const head = body.subarray(0, body.length - a.content.length);
      assert.ok(body.subarray(head.length).equals(a.content), `message ${a.id} differs from what was sent`);
      assert.match(head.toString("latin1"), new RegExp(`^Return-Path: <load@client\\.test>\\r\\nDelivered-To: catchall@petrel\\.test\\r\\nReceived: from load\\.client\\.test \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n\\tby mx\\.petrel\\.test \\(Petrel\\) with ESMTP id ${a.id}\\r\\n(\\t[^\\r\\n]*\\r\\n)*$`));
      if (a.content.length > INLINE_MAX) spooled++;
      else inline++;
    }
    // Delivered messages leave nothing behind in the spool.
    const files = readdirSync(join(dataDir, "spool")).filter((n) => n.endsWith(".eml"));
    assert.deepEqual(files, [], "spool files left after everything was delivered");
    return { inline, spooled, total: byMessageId.size };
  } finally {
    await store.close();
  }
}

function killHard(child: ChildServer): Promise<number | null> {
  child.proc.kill("SIGKILL");
  return child.exited;
}

test("kill -9 under load: every acknowledged message is delivered once, byte for byte", { timeout: 60_000 }, async () => {
  const dataDir = tempDir("petrel-durability-");
  let child = await startChild({ dataDir, domains: ["petrel.test"] });
  const acked: Acked[] = [];
  try {
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const port = child.ports.smtp!;
      const before = acked.length;
      const clients = Array.from({ length: CLIENTS }, () => client(port, acked));
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 1500));
      await killHard(child);
      await Promise.all(clients);
      const thisCycle = acked.length - before;
      assert.ok(thisCycle > 0, `cycle ${cycle}: no message was acknowledged before the kill`);

      // Files of messages that were being received when the process died.
      const leftover = readdirSync(join(dataDir, "spool")).filter((n) => n.endsWith(".eml")).length;

      child = await startChild({ dataDir });
      const sweep = child.logs.find((l) => l.event === "spool-sweep");
      const counts = await verify(dataDir, acked);
      if (process.env.PETREL_TEST_VERBOSE) console.log(`cycle ${cycle}: ${thisCycle} acknowledged (${acked.length} in all: ${counts.inline} inline, ${counts.spooled} spooled), ${counts.total} rows, ${leftover} spool files after the kill, sweep removed ${String(sweep?.removed ?? 0)}`);
    }
    // Both storage paths were exercised.
    const spooled = acked.filter((a) => a.content.length > INLINE_MAX).length;
    assert.ok(spooled > 0 && spooled < acked.length, `both inline and spooled messages (${spooled} of ${acked.length} spooled)`);

  } finally {
    child.proc.kill("SIGKILL");
    await child.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});
