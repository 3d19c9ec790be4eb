/**
 * Outbound limits before any connection: the per-destination rate (outbound.ratePerDestination
 * with per-domain overrides) defers what is over it until the next free slot, without counting
 * an attempt; delivery.maxHops fails a looping message with 5.4.6 and a DSN, and no connection is
 * made. Also: MAIL carries ENVID = our queue id when the client gave none and the server does DSN.
 * The remote is a scriptable SMTP sink (test/helpers/smtp-sink.ts) found by MX.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { startSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { memoryLogger, type LogEntry } from "../helpers/memory-log.js";
import { mailbox, message, queueMessage, SHORT_TIMEOUTS, waitForOutcome } from "../helpers/outbound-fixture.js";
import { parseDsn } from "../helpers/dsn.js";
import { waitFor } from "../helpers/wait.js";

describe("outbound rate and hop limits", () => {
  let dns: TestDnsServer;
  let sink: SmtpSink;
  let sender: TestServer;
  let log: LogEntry[];

  before(async () => {
    sink = await startSink({ ehlo: ["sink.test", "PIPELINING", "8BITMIME", "DSN", "SIZE 1000000"] });
    const zone: Record<string, { MX?: { exchange: string; priority: number }[]; A?: string[] }> = { "mx.sink.test": { A: ["127.0.0.1"] } };
    for (const d of ["slow.test", "free.test", "loop.test", "envid.test"]) zone[d] = { MX: [{ exchange: "mx.sink.test", priority: 10 }] };
    dns = await startDnsServer(zone);
    const l = memoryLogger();
    log = l.entries;
    sender = await startServer({
      deliver: true,
      log: l,
      overrides: {
        dns: { servers: [dns.server] },
        outbound: { port: sink.port, timeouts: SHORT_TIMEOUTS, connectTimeout: "2s", idleConnectionTime: "1s", ratePerDestination: { messages: 2, per: "4s" }, ratePerDomain: { "free.test": null } },
        delivery: { retryDelays: ["1h"], maxHops: 10 },
      },
    });
  });

  after(async () => {
    await sender?.stop();
    await sink?.close();
    await dns?.close();
  });

  const to = (domain: string) => sink.transactions.filter((t) => t.rcpts.some((r) => r.endsWith(`@${domain}`)));

  test("over the rate, a delivery waits for the next slot without counting an attempt", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await queueMessage(sender, "sender@petrel.test", [`u${i}@slow.test`], message(`rate ${i}`, "sender@petrel.test", `u${i}@slow.test`)));
    // Two go at once; the third is deferred (4.4.5), not attempted, and due within the window.
    const deferred = await waitFor("a rate-limited recipient", async () => {
      for (const id of ids) {
        const r = (await sender.petrel.store.queue.get(id))?.recipients[0];
        if (r?.state === "deferred") return { id, r };
      }
      return null;
    });
    assert.match(deferred.r.lastReply ?? "", /^451 4\.4\.5 Rate limit for slow\.test reached/);
    assert.equal(deferred.r.attempts, 0, "a rate deferral is not an attempt");
    assert.ok(deferred.r.nextAttemptAt <= Date.now() + 4_000, "due at the next free slot, not after the retry delay (1h)");
    await waitFor("two delivered at once", async () => to("slow.test").length === 2);
    assert.ok(log.some((e) => e.event === "outbound-rate" && e.destination === "slow.test"));
    // Once the window moved on, it goes.
    await waitFor("the third message delivered", async () => to("slow.test").length === 3, 15_000);
    await waitFor("the queue empty", async () => (await Promise.all(ids.map((id) => sender.petrel.store.queue.get(id)))).every((e) => e === null), 5_000);
  });

  test("a per-domain override (null) lifts the rate for that domain", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await queueMessage(sender, "sender@petrel.test", [`f${i}@free.test`], message(`free ${i}`, "sender@petrel.test", `f${i}@free.test`)));
    await waitFor("all four delivered", async () => to("free.test").length === 4);
    assert.ok(!log.some((e) => e.event === "outbound-rate" && e.destination === "free.test"));
  });

  test("more Received: headers than delivery.maxHops: 5.4.6 and a DSN, no connection", async () => {
    const connections = sink.connections;
    const hops = Array.from({ length: 11 }, (_, i) => `Received: from hop${i}.test by hop${i + 1}.test; Mon, 30 Nov 2026 10:00:00 +0000\r\n`).join("");
    const before = (await mailbox(sender, "catchall@petrel.test")).length;
    const id = await queueMessage(sender, "sender@petrel.test", ["user@loop.test"], Buffer.concat([Buffer.from(hops), message("loop", "sender@petrel.test", "user@loop.test")]));
    const failed = await waitForOutcome(log, "user@loop.test", "failed");
    assert.match(String(failed.reply), /^554 5\.4\.6 Too many hops \((1[12]) Received: headers\)/);
    const list = await waitFor("the DSN", async () => {
      const l = await mailbox(sender, "catchall@petrel.test");
      return l.length > before ? l : null;
    });
    assert.equal(parseDsn(list[list.length - 1]!).perRecipient[0]!.get("status"), "5.4.6");
    assert.equal(to("loop.test").length, 0);
    assert.equal(sink.connections, connections, "no connection was made");
    assert.equal(await sender.petrel.store.queue.get(id), null);
  });

  test("MAIL carries ENVID = our queue id when the client gave none; the client's own otherwise", async () => {
    const id = await queueMessage(sender, "sender@petrel.test", ["a@envid.test"], message("envid"));
    await waitForOutcome(log, "a@envid.test", "delivered");
    assert.ok(sink.lines.some((l) => l.startsWith("MAIL FROM:<sender@petrel.test>") && l.includes(` ENVID=${id}`)), sink.lines.filter((l) => l.startsWith("MAIL")).join("\n"));
    await queueMessage(sender, "sender@petrel.test", ["b@envid.test"], message("envid2"), { envid: "client-id-1" });
    await waitForOutcome(log, "b@envid.test", "delivered");
    assert.ok(sink.lines.some((l) => l.includes(" ENVID=client-id-1")));
  });
});
