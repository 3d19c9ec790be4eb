/**
 * kill -9 during an outbound delivery: a Petrel child process (`petrel serve`) is sending to a
 * slow remote (an SMTP sink that takes the message but holds its reply to the final dot), the
 * process is killed hard, and restarted on the same data directory.
 *
 * What is asserted: the message is never lost: after the restart it is delivered again and the
 * queue is empty. The remote saw the whole message twice, and said 250 only the second time: a
 * 250 that Petrel never received cannot have been recorded, so the retry is required (RFC 5321
 * 6.1 accepts the duplicate this may cause). The case where the remote's 250 arrived but the
 * process died before recording it is the same on the wire (the remote gets it twice) and is not
 * timed separately here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { startChild, tempDir, type ChildServer } from "../helpers/server.js";
import { startDnsServer } from "../helpers/dns-server.js";
import { startSink } from "../helpers/smtp-sink.js";
import { petrel } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { SHORT_TIMEOUTS } from "../helpers/outbound-fixture.js";

test("kill -9 while a remote holds the DATA reply: the message is retried after the restart, never lost", { timeout: 90_000 }, async () => {
  const dns = await startDnsServer({ "remote.test": { MX: [{ exchange: "mx.remote.test", priority: 10 }] }, "mx.remote.test": { A: ["127.0.0.1"] } });
  let holding = true;
  // While `holding`, the final dot gets no reply at all: the delivery hangs there.
  const sink = await startSink({ ehlo: ["sink.test", "PIPELINING", "SIZE 1000000"], onLine: (line) => (line === "." && holding ? "" : undefined) });
  const dataDir = tempDir("petrel-outbound-crash-");
  const overrides = { dns: { servers: [dns.server] }, outbound: { port: sink.port, timeouts: SHORT_TIMEOUTS, connectTimeout: "2s", idleConnectionTime: "1s" }, delivery: { retryDelays: ["1s"] } };
  let child: ChildServer | null = null;
  try {
    child = await startChild({ dataDir, domains: ["petrel.test"], overrides });
    const body = "From: <sender@petrel.test>\nTo: <user@remote.test>\nSubject: crash test\nMessage-ID: <crash.1@petrel.test>\n\nHello through a crash.\n";
    const r = await petrel(dataDir, ["sendmail", "--config", child.configFile, "-f", "sender@petrel.test", "user@remote.test"], body);
    assert.equal(r.code, 0, r.stderr);
    // The remote has the whole message; its reply is held.
    await waitFor("the message at the remote", async () => sink.transactions.length === 1, 20_000);
    child.proc.kill("SIGKILL");
    await child.exited;
    child = null;
    // Nothing was recorded as delivered: the recipient is still in the queue.
    const store = openSqliteStore(dataDir);
    const [entry] = await store.queue.list({});
    await store.close();
    assert.ok(entry, "the message is still queued after the crash");
    const id = entry.id;
    assert.equal(entry.recipients[0]!.state === "delivered", false);

    holding = false;
    child = await startChild({ dataDir, overrides });
    await waitFor("delivered after the restart", async () => child!.logs.find((l) => l.event === "delivery" && l.rcpt === "user@remote.test" && l.status === "delivered"), 30_000);
    await waitFor("the queue empty", async () => child!.logs.find((l) => l.event === "done" && l.queueId === id), 10_000);
    // Twice on the wire (the first without a 250), the same message both times.
    assert.equal(sink.transactions.length, 2);
    assert.ok(sink.transactions[0]!.data.equals(sink.transactions[1]!.data), "the retry carries the same bytes");
    assert.deepEqual(sink.transactions[1]!.rcpts, ["user@remote.test"]);
  } finally {
    if (child) {
      child.proc.kill("SIGKILL");
      await child.exited;
    }
    await sink.close();
    await dns.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
