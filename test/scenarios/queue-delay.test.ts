/**
 * Delay and expiry DSNs through a real server, with tiny times: a mailbox over its quota
 * (quotaExceeded: temporary) defers the message; after outbound.delayWarning the sender gets one
 * delay report, and after outbound.maxQueueTime a failure report. A forwarding alias to a remote
 * domain that cannot be reached ends the same way for the forwarded copy. A UTF-8 sender gets an
 * RFC 6533 report.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";
import { bigBody, inboxMessages, parseDsn, send, waitForInbox, waitGone } from "../helpers/dsn.js";

describe("delay and expiry DSNs", () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({
      deliver: true,
      catchAll: false,
      overrides: {
        delivery: { quotaExceeded: "temporary", retryDelays: ["150ms"] },
        outbound: { maxQueueTime: "2s", delayWarning: "500ms" },
        // Nothing answers DNS here: a remote domain can only fail.
        dns: { servers: ["127.0.0.1:9"] },
      },
    });
    const dir = server.petrel.store.directory;
    await dir.addAccount({ address: "alice@petrel.test", passwordHash: "!" });
    await dir.addAccount({ address: "jörg@petrel.test", passwordHash: "!" });
    await dir.addAccount({ address: "small@petrel.test", passwordHash: "!", quota: 500 });
    await dir.addAlias("fwd@petrel.test", ["someone@remote.example"]);
  });
  after(async () => server.stop());

  test("one delay report after delayWarning, then a failure report when the queue gives up", async () => {
    const id = await send(server, "<alice@petrel.test> ENVID=slow-1", ["<small@petrel.test> NOTIFY=DELAY,FAILURE ORCPT=rfc822;small@petrel.test"], bigBody("Slow"));
    const [delayRaw] = await waitForInbox(server, "alice@petrel.test", 1);
    const delay = parseDsn(delayRaw!);
    assert.equal(delay.header.get("subject"), "Delayed Mail (still being retried)");
    assert.equal(delay.perMessage.get("original-envelope-id"), "slow-1");
    const [r] = delay.perRecipient as [Map<string, string>];
    assert.equal(r.get("action"), "delayed");
    assert.equal(r.get("status"), "4.2.2");
    assert.equal(r.get("diagnostic-code"), "smtp; 452 4.2.2 <small@petrel.test>: mailbox full");
    assert.equal(r.get("original-recipient"), "rfc822; small@petrel.test");
    const entry = await server.petrel.store.queue.get(id);
    const until = new Date(r.get("will-retry-until")!).getTime();
    if (entry) assert.equal(until, Math.floor((entry.createdAt + 2000) / 1000) * 1000, "Will-Retry-Until: arrival + maxQueueTime (to the second)");
    assert.equal(delay.returnedType, "text/rfc822-headers");

    const list = await waitForInbox(server, "alice@petrel.test", 2);
    await waitGone(server, id);
    const failure = parseDsn(list[1]!);
    assert.equal(failure.header.get("subject"), "Undelivered Mail Returned to Sender");
    const [f] = failure.perRecipient as [Map<string, string>];
    assert.equal(f.get("action"), "failed");
    assert.equal(f.get("status"), "5.4.7", "delivery time expired");
    assert.equal(f.get("diagnostic-code"), "smtp; 452 4.2.2 <small@petrel.test>: mailbox full");
    assert.equal((await inboxMessages(server, "alice@petrel.test")).length, 2, "one delay report only, however many attempts");
  });

  test("NOTIFY=FAILURE only: no delay report, the failure report still comes", async () => {
    const before = (await inboxMessages(server, "alice@petrel.test")).length;
    const id = await send(server, "<alice@petrel.test>", ["<small@petrel.test> NOTIFY=FAILURE"], bigBody("Failure only"));
    await waitGone(server, id);
    // The report was queued with the outcome; wait for its own delivery, and for the queue to empty.
    const list = await waitForInbox(server, "alice@petrel.test", before + 1);
    await waitFor("an empty queue", async () => (await server.petrel.store.queue.count()) === 0);
    assert.equal((await inboxMessages(server, "alice@petrel.test")).length, before + 1);
    assert.equal(parseDsn(list[before]!).perRecipient[0]!.get("action"), "failed");
  });

  test("a forwarding alias to a remote domain that fails: the forwarded copy bounces to the sender", async () => {
    const before = (await inboxMessages(server, "alice@petrel.test")).length;
    await send(server, "<alice@petrel.test>", ["<fwd@petrel.test>"], "Subject: Forward me\r\n\r\nhello\r\n");
    // A delay report may come first, depending on how the remote attempt fails; then the failure.
    const failure = await waitFor("a failure report", async () => (await inboxMessages(server, "alice@petrel.test")).slice(before).map(parseDsn).find((d) => d.perRecipient[0]!.get("action") === "failed" && d.perRecipient[0]!.get("final-recipient") === "rfc822; someone@remote.example"), 20_000);
    const [f] = failure.perRecipient as [Map<string, string>];
    assert.equal(f.get("final-recipient"), "rfc822; someone@remote.example");
    assert.equal(f.get("action"), "failed");
    assert.match(f.get("status")!, /^5\.\d+\.\d+$/);
    assert.match(failure.returned, /Subject: Forward me/);
  });

  test("a UTF-8 sender gets an RFC 6533 report (message/global-delivery-status)", async () => {
    const id = await send(server, "<jörg@petrel.test> SMTPUTF8", ["<small@petrel.test> NOTIFY=FAILURE"], "From: Jörg <jörg@petrel.test>\r\nSubject: Grüße\r\n\r\n" + "ü".repeat(400) + "\r\n");
    const [raw] = await waitForInbox(server, "jörg@petrel.test", 1);
    await waitGone(server, id);
    const dsn = parseDsn(raw!);
    assert.equal(dsn.header.get("to"), "<jörg@petrel.test>");
    assert.match(raw!.toString("utf8"), /Content-Type: message\/global-delivery-status/);
    assert.equal(dsn.returnedType, "message/global");
    assert.equal(dsn.perRecipient[0]!.get("final-recipient"), "rfc822; small@petrel.test");
    await waitFor("an empty queue", async () => (await server.petrel.store.queue.count()) === 0);
  });
});
