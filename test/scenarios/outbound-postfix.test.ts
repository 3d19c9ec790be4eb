/**
 * Outbound delivery to a real Postfix (Debian's package, a private instance in a temp dir;
 * test/helpers/postfix.ts): Petrel finds it by MX from the loopback DNS server and delivers
 * on its port. Checked: the message arrives in Postfix's Maildir byte for byte apart from the
 * trace headers Postfix adds (and its LF line ends); an unknown user (550 5.1.1 at RCPT) makes
 * Petrel's own DSN in the sender's mailbox; and a recipient Postfix accepts and then bounces
 * makes Postfix send its DSN back to Petrel (Postfix's relayhost is Petrel's MX), which records
 * it against the original queue id (ENVID = our queue id), shown by `petrel queue show`.
 * Skipped, with the reason, where Postfix cannot run.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { memoryLogger, type LogEntry } from "../helpers/memory-log.js";
import { freePort } from "../helpers/free-port.js";
import { postfixUnavailable, startPostfix, type PostfixInstance } from "../helpers/postfix.js";
import { mailbox, queueMessage, SHORT_TIMEOUTS, waitForOutcome } from "../helpers/outbound-fixture.js";
import { parseDsn } from "../helpers/dsn.js";
import { waitFor } from "../helpers/wait.js";
import { ok } from "../helpers/cli.js";

const skip = postfixUnavailable();

/** The header fields Postfix puts above a message it delivers to a Maildir. */
const ADDED = new Set(["return-path", "x-original-to", "delivered-to", "received"]);

describe("outbound delivery to a real Postfix", { skip: skip ?? false }, () => {
  let dns: TestDnsServer;
  let petrel: TestServer;
  let postfix: PostfixInstance;
  let log: LogEntry[];

  before(async () => {
    const [smtpPort, postfixPort] = [await freePort(), await freePort()];
    dns = await startDnsServer({
      "remote.test": { MX: [{ exchange: "mx.remote.test", priority: 10 }] },
      "bounce.test": { MX: [{ exchange: "mx.remote.test", priority: 10 }] },
      "mx.remote.test": { A: ["127.0.0.1"] },
    });
    const l = memoryLogger();
    log = l.entries;
    petrel = await startServer({
      deliver: true,
      log: l,
      overrides: {
        listen: { smtp: `127.0.0.1:${smtpPort}` },
        dns: { servers: [dns.server] },
        outbound: { port: postfixPort, timeouts: SHORT_TIMEOUTS, connectTimeout: "2s", idleConnectionTime: "1s" },
        delivery: { retryDelays: ["1h"] },
      },
    });
    postfix = startPostfix({ port: postfixPort, relayPort: smtpPort, domain: "remote.test", bounceDomain: "bounce.test", users: ["user"] });
  });

  after(async () => {
    if (process.env.OUTBOUND_DEBUG && postfix) console.error(postfix.log());
    postfix?.stop();
    await petrel?.stop();
    await dns?.close();
  });

  test("a message arrives in Postfix's Maildir byte for byte, under the headers Postfix adds", async () => {
    const body = Buffer.from(
      "From: <sender@petrel.test>\r\nTo: <user@remote.test>\r\nSubject: to postfix\r\nMessage-ID: <topostfix.1@petrel.test>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\nHello Postfix.\r\n.leading dot stays\r\n..two dots\r\n",
    );
    const id = await queueMessage(petrel, "sender@petrel.test", ["user@remote.test"], body);
    const [file] = await waitFor("the message in Postfix's Maildir", async () => {
      const l = postfix.maildir("user");
      return l.length ? l : null;
    }, 20_000);
    await waitForOutcome(log, "user@remote.test", "delivered");
    // Maildir files end lines with LF; everything above our first field is Postfix's.
    const ours = body.toString("latin1").replace(/\r\n/g, "\n");
    const text = file!.toString("latin1");
    assert.ok(text.endsWith(ours), `delivered bytes differ:\n${text}`);
    const added = text.slice(0, text.length - ours.length);
    const names = [...added.matchAll(/^([^\s:]+):/gm)].map((m) => m[1]!.toLowerCase());
    assert.ok(names.length >= 2 && names.every((n) => ADDED.has(n)), `Postfix added: ${names.join(", ")}`);
    assert.match(added, /^Received: from mx\.petrel\.test \(\S+ \[127\.0\.0\.1\]\)/m);
    assert.equal(await petrel.petrel.store.queue.get(id), null, "left the queue");
  });

  test("an unknown user (550 at RCPT) gives the sender a DSN with Postfix's reply", async () => {
    const before = (await mailbox(petrel, "catchall@petrel.test")).length;
    await queueMessage(petrel, "sender@petrel.test", ["nosuch@remote.test"], Buffer.from("From: <sender@petrel.test>\r\nSubject: unknown\r\n\r\nHi.\r\n"));
    await waitForOutcome(log, "nosuch@remote.test", "failed");
    const list = await waitFor("the DSN", async () => {
      const l = await mailbox(petrel, "catchall@petrel.test");
      return l.length > before ? l : null;
    });
    const dsn = parseDsn(list[list.length - 1]!);
    const rcpt = dsn.perRecipient[0]!;
    assert.equal(rcpt.get("action"), "failed");
    assert.equal(rcpt.get("status"), "5.1.1");
    assert.match(rcpt.get("diagnostic-code") ?? "", /^smtp; 550 5\.1\.1 <nosuch@remote\.test>: Recipient address rejected/);
    assert.equal(rcpt.get("remote-mta"), "dns; mx.remote.test");
  });

  test("a bounce Postfix sends back is recorded against our queue id and shown by `petrel queue show`", async () => {
    const id = await queueMessage(petrel, "sender@petrel.test", ["nosuchuser@bounce.test"], Buffer.from("From: <sender@petrel.test>\r\nTo: <nosuchuser@bounce.test>\r\nSubject: accepted then bounced\r\n\r\nHi.\r\n"));
    // Postfix took it (250), so for Petrel it is delivered and gone from the queue ...
    await waitForOutcome(log, "nosuchuser@bounce.test", "delivered");
    // ... then Postfix's local(8) bounced it, and its DSN came to our MX for the sender.
    const events = await waitFor("the recorded DSN", async () => {
      const e = await petrel.petrel.store.deliveryEvents.list(id);
      return e.length ? e : null;
    }, 30_000);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.recipient, "nosuchuser@bounce.test");
    assert.equal(events[0]!.action, "failed");
    assert.match(events[0]!.status, /^5\./);
    assert.equal(events[0]!.remoteMta, "mx.remote.test");
    assert.ok(log.some((e) => e.event === "dsn-received" && e.queueId === id));
    // The DSN itself was delivered to the sender's mailbox like any message.
    const list = await mailbox(petrel, "catchall@petrel.test");
    assert.ok(list.some((m) => m.includes(`Original-Envelope-Id: ${id}`)), "Postfix's DSN names our ENVID");
    const shown = await ok(petrel.dataDir, ["queue", "show", id]);
    assert.match(shown, new RegExp(`^id: +${id} \\(no longer in the queue\\)`, "m"));
    assert.match(shown, /^dsn: +\S+ <nosuchuser@bounce\.test> failed 5\.\d+\.\d+ remote-mta=mx\.remote\.test/m);
    const json = JSON.parse(await ok(petrel.dataDir, ["queue", "show", id, "--json"])) as { inQueue: boolean; events: { recipient: string }[] };
    assert.equal(json.inQueue, false);
    assert.equal(json.events[0]!.recipient, "nosuchuser@bounce.test");
  });
});

if (skip) test(`outbound-postfix skipped: ${skip}`, { skip }, () => {});
