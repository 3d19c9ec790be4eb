/**
 * DSNs coming back (RFC 3464): a delivery-status report with the null sender, arriving on the
 * MX for a local address, is delivered like any message and its per-recipient results are
 * recorded against our queue id, found by Original-Envelope-Id (our ENVID), or else by the
 * returned header's X-Petrel-Queue-Id or Message-ID <ID@our-hostname>. `petrel queue show ID`
 * lists them, also once the message left the queue. What is not ours is only delivered.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { startSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { memoryLogger, type LogEntry } from "../helpers/memory-log.js";
import { mailbox, message, queueMessage, SHORT_TIMEOUTS, waitForOutcome } from "../helpers/outbound-fixture.js";
import { send } from "../helpers/dsn.js";
import { waitFor } from "../helpers/wait.js";
import { ok } from "../helpers/cli.js";

function report(opts: { envid?: string; returned?: string; recipients: { rcpt: string; action: string; status: string; diag?: string; mta?: string }[]; reportType?: string }): string {
  const perRcpt = opts.recipients
    .map((r) => `Final-Recipient: rfc822; ${r.rcpt}\r\nAction: ${r.action}\r\nStatus: ${r.status}\r\n${r.mta ? `Remote-MTA: dns; ${r.mta}\r\n` : ""}${r.diag ? `Diagnostic-Code: smtp; ${r.diag}\r\n` : ""}`)
    .join("\r\n");
  return (
    `From: MAILER-DAEMON@mx.remote.test\r\nTo: sender@petrel.test\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: multipart/report; report-type=${opts.reportType ?? "delivery-status"}; boundary="BB"\r\n\r\n` +
    `--BB\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n` +
    `--BB\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.remote.test\r\n${opts.envid ? `Original-Envelope-Id: ${opts.envid}\r\n` : ""}Arrival-Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\n${perRcpt}` +
    `\r\n--BB\r\nContent-Type: text/rfc822-headers\r\n\r\n${opts.returned ?? "From: <sender@petrel.test>\r\nSubject: hi\r\n"}\r\n--BB--\r\n`
  );
}

describe("incoming DSNs about our messages", () => {
  let dns: TestDnsServer;
  let sink: SmtpSink;
  let server: TestServer;
  let log: LogEntry[];

  before(async () => {
    sink = await startSink({ ehlo: ["sink.test", "PIPELINING", "DSN", "SIZE 1000000"] });
    dns = await startDnsServer({ "remote.test": { MX: [{ exchange: "mx.remote.test", priority: 10 }] }, "mx.remote.test": { A: ["127.0.0.1"] } });
    const l = memoryLogger();
    log = l.entries;
    server = await startServer({ deliver: true, log: l, overrides: { dns: { servers: [dns.server] }, outbound: { port: sink.port, timeouts: SHORT_TIMEOUTS, connectTimeout: "2s" }, delivery: { retryDelays: ["1h"] } } });
  });

  after(async () => {
    await server?.stop();
    await sink?.close();
    await dns?.close();
  });

  const events = (id: string, n = 1) =>
    waitFor(`${n} event(s) for ${id}`, async () => {
      const e = await server.petrel.store.deliveryEvents.list(id);
      return e.length >= n ? e : null;
    });

  test("a bounce naming our ENVID is recorded per recipient and shown by `petrel queue show`, after the entry is gone", async () => {
    const id = await queueMessage(server, "sender@petrel.test", ["bob@remote.test", "carol@remote.test"], message("intake", "sender@petrel.test", "bob@remote.test"));
    await waitForOutcome(log, "bob@remote.test", "delivered");
    assert.ok(sink.lines.some((l) => l.includes(`ENVID=${id}`)));
    await waitFor("left the queue", async () => (await server.petrel.store.queue.get(id)) === null);
    const before = (await mailbox(server, "catchall@petrel.test")).length;
    await send(server, "<>", ["<sender@petrel.test>"], report({ envid: id, recipients: [{ rcpt: "bob@remote.test", action: "failed", status: "5.1.1", diag: "550 5.1.1 <bob@remote.test>: no such user", mta: "mx.remote.test" }, { rcpt: "carol@remote.test", action: "delayed", status: "4.2.2", diag: "452 4.2.2 mailbox full" }] }));
    const got = await events(id, 2);
    assert.deepEqual(
      got.map((e) => [e.queueId, e.recipient, e.action, e.status, e.diagnostic, e.remoteMta]),
      [
        [id, "bob@remote.test", "failed", "5.1.1", "smtp; 550 5.1.1 <bob@remote.test>: no such user", "mx.remote.test"],
        [id, "carol@remote.test", "delayed", "4.2.2", "smtp; 452 4.2.2 mailbox full", "mx.remote.test"],
      ],
    );
    // Delivered to the sender's mailbox as well.
    await waitFor("the report delivered", async () => (await mailbox(server, "catchall@petrel.test")).length > before);
    const shown = await ok(server.dataDir, ["queue", "show", id]);
    assert.match(shown, new RegExp(`^id: +${id} \\(no longer in the queue\\)$`, "m"));
    assert.match(shown, /^dsn: +\S+Z <bob@remote\.test> failed 5\.1\.1 remote-mta=mx\.remote\.test diagnostic=smtp; 550 5\.1\.1/m);
    assert.match(shown, /^dsn: +\S+Z <carol@remote\.test> delayed 4\.2\.2/m);
    const json = JSON.parse(await ok(server.dataDir, ["queue", "show", id, "--json"])) as { id: string; inQueue: boolean; events: { action: string }[] };
    assert.deepEqual([json.id, json.inQueue, json.events.map((e) => e.action)], [id, false, ["failed", "delayed"]]);
  });

  test("without an ENVID, the returned header's X-Petrel-Queue-Id or Message-ID <ID@our hostname> names the message", async () => {
    const a = "01KB0000000000AA";
    const b = "01KB0000000000BB";
    await send(server, "<>", ["<sender@petrel.test>"], report({ envid: "someone-elses-id", returned: `From: <sender@petrel.test>\r\nX-Petrel-Queue-Id: ${a}\r\n`, recipients: [{ rcpt: "x@remote.test", action: "failed", status: "5.0.0" }] }));
    await send(server, "<>", ["<sender@petrel.test>"], report({ returned: `From: <sender@petrel.test>\r\nMessage-ID: <${b}@mx.petrel.test>\r\n`, recipients: [{ rcpt: "y@remote.test", action: "delivered", status: "2.0.0" }] }));
    assert.equal((await events(a))[0]!.recipient, "x@remote.test");
    const [e] = await events(b);
    assert.deepEqual([e!.action, e!.status, e!.remoteMta], ["delivered", "2.0.0", "mx.remote.test"]);
  });

  test("what is not ours is delivered and not recorded: a sender, a foreign Message-ID, another report type", async () => {
    const c = "01KB0000000000CC";
    const before = (await mailbox(server, "catchall@petrel.test")).length;
    await send(server, "<someone@remote.test>", ["<sender@petrel.test>"], report({ envid: c, recipients: [{ rcpt: "x@remote.test", action: "failed", status: "5.0.0" }] }));
    await send(server, "<>", ["<sender@petrel.test>"], report({ returned: `Message-ID: <${c}@elsewhere.test>\r\n`, recipients: [{ rcpt: "x@remote.test", action: "failed", status: "5.0.0" }] }));
    await send(server, "<>", ["<sender@petrel.test>"], report({ envid: c, reportType: "disposition-notification", recipients: [{ rcpt: "x@remote.test", action: "failed", status: "5.0.0" }] }));
    await waitFor("three messages delivered", async () => (await mailbox(server, "catchall@petrel.test")).length >= before + 3);
    assert.deepEqual(await server.petrel.store.deliveryEvents.list(c), []);
  });
});
