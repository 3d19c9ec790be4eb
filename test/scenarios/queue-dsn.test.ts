/**
 * DSNs end to end: a message accepted over SMTP fails at delivery (a mailbox over its quota,
 * with quotaExceeded: permanent), and the sender, a local account, finds the RFC 3464 report
 * in its INBOX. NOTIFY=NEVER and the null sender get none; NOTIFY=SUCCESS gets a success report.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { POSTGRES_URL, postgresStorage, startServer, type TestServer } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";
import { bigBody, inboxMessages, parseDsn, send, waitForInbox, waitGone } from "../helpers/dsn.js";

/** Queue entries that are DSNs about message `id`. */
async function dsnsQueuedFor(server: TestServer, id: string): Promise<string[]> {
  return (await server.petrel.store.queue.list()).filter((e) => (e.envelope as { mail?: { dsnFor?: string } }).mail?.dsnFor === id).map((e) => e.id);
}

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`DSNs (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL is not set" : false }, () => {
    let server: TestServer;

    before(async () => {
      const storage = backend === "postgres" ? postgresStorage() : {};
      server = await startServer({ deliver: true, catchAll: false, overrides: { ...storage, delivery: { quotaExceeded: "permanent" } } });
      const dir = server.petrel.store.directory;
      for (const a of ["alice", "bob", "carol"]) await dir.addAccount({ address: `${a}@petrel.test`, passwordHash: "!" });
      await dir.addAccount({ address: "small@petrel.test", passwordHash: "!", quota: 500 });
      await dir.addAccount({ address: "tiny@petrel.test", passwordHash: "!", quota: 500 });
    });
    after(async () => server.stop());

    test("a failure at delivery: one report for every recipient that failed, with every field", async () => {
      const id = await send(server, "<alice@petrel.test> RET=HDRS ENVID=alice-42", ["<small@petrel.test> ORCPT=rfc822;Small@petrel.test", "<tiny@petrel.test>", "<bob@petrel.test>"], bigBody("Too big"));
      const [dsnRaw] = await waitForInbox(server, "alice@petrel.test", 1);
      await waitGone(server, id);
      assert.equal((await inboxMessages(server, "bob@petrel.test")).length, 1, "bob got his copy");
      const dsn = parseDsn(dsnRaw!);
      assert.match(dsnRaw!.toString(), /^Return-Path: <>\r\n/, "sent from the null reverse-path");
      assert.equal(dsn.header.get("from"), "Mail Delivery System <MAILER-DAEMON@mx.petrel.test>");
      assert.equal(dsn.header.get("to"), "<alice@petrel.test>");
      assert.equal(dsn.header.get("auto-submitted"), "auto-replied");
      assert.equal(dsn.contentType, "multipart/report; report-type=delivery-status");
      assert.equal(dsn.perMessage.get("reporting-mta"), "dns; mx.petrel.test");
      assert.equal(dsn.perMessage.get("original-envelope-id"), "alice-42");
      assert.ok(dsn.perMessage.get("arrival-date"));
      assert.equal(dsn.perRecipient.length, 2, "one report covers both failed recipients; bob was delivered");
      const [small, tiny] = dsn.perRecipient as [Map<string, string>, Map<string, string>];
      assert.equal(small.get("original-recipient"), "rfc822; Small@petrel.test");
      assert.equal(small.get("final-recipient"), "rfc822; small@petrel.test");
      assert.equal(small.get("action"), "failed");
      assert.equal(small.get("status"), "5.2.2");
      assert.equal(small.get("diagnostic-code"), "smtp; 552 5.2.2 <small@petrel.test>: mailbox full");
      assert.ok(small.get("last-attempt-date"));
      assert.equal(tiny.get("final-recipient"), "rfc822; tiny@petrel.test");
      assert.equal(tiny.get("original-recipient"), undefined);
      // RET=HDRS: the header alone comes back.
      assert.equal(dsn.returnedType, "text/rfc822-headers");
      assert.match(dsn.returned, /Subject: Too big/);
      assert.doesNotMatch(dsn.returned, /xxxxxxxxxx/);
    });

    test("without RET a small original comes back whole (message/rfc822)", async () => {
      const before = (await inboxMessages(server, "alice@petrel.test")).length;
      // Still over small's 500-byte quota, but under the size returned whole.
      const id = await send(server, "<alice@petrel.test>", ["<small@petrel.test>"], bigBody("Whole", 10));
      const list = await waitForInbox(server, "alice@petrel.test", before + 1);
      await waitGone(server, id);
      const dsn = parseDsn(list[before]!);
      assert.equal(dsn.returnedType, "message/rfc822");
      assert.match(dsn.returned, /Subject: Whole[\s\S]*xxxxxxxxxx/);
    });

    test("NOTIFY=NEVER: no report", async () => {
      const before = (await inboxMessages(server, "alice@petrel.test")).length;
      const id = await send(server, "<alice@petrel.test>", ["<small@petrel.test> NOTIFY=NEVER"], bigBody("Never"));
      // The report would have been committed with the outcome: once the message is gone, no report is coming.
      await waitGone(server, id);
      assert.deepEqual(await dsnsQueuedFor(server, id), [], "no DSN queued");
      assert.equal((await inboxMessages(server, "alice@petrel.test")).length, before);
    });

    test("the null sender: no report (never bounce a bounce)", async () => {
      const before = (await inboxMessages(server, "alice@petrel.test")).length;
      const id = await send(server, "<>", ["<small@petrel.test>"], bigBody("Bounce of a bounce"));
      await waitGone(server, id);
      assert.deepEqual(await dsnsQueuedFor(server, id), [], "no DSN queued");
      assert.equal((await inboxMessages(server, "alice@petrel.test")).length, before);
    });

    test("NOTIFY=SUCCESS: a success report for a local delivery; NOTIFY=FAILURE alone: none", async () => {
      const before = (await inboxMessages(server, "alice@petrel.test")).length;
      const id = await send(server, "<alice@petrel.test>", ["<carol@petrel.test> NOTIFY=SUCCESS,FAILURE", "<bob@petrel.test> NOTIFY=FAILURE"], "Subject: Hello\r\n\r\nhi\r\n");
      const list = await waitForInbox(server, "alice@petrel.test", before + 1);
      await waitGone(server, id);
      const dsn = parseDsn(list[before]!);
      assert.equal(dsn.header.get("subject"), "Successful Mail Delivery Report");
      assert.equal(dsn.perRecipient.length, 1);
      assert.equal(dsn.perRecipient[0]!.get("final-recipient"), "rfc822; carol@petrel.test");
      assert.equal(dsn.perRecipient[0]!.get("action"), "delivered");
      assert.equal(dsn.perRecipient[0]!.get("status"), "2.0.0");
      assert.equal(dsn.returnedType, "text/rfc822-headers");
      // The report's own row leaves the queue just after its delivery.
      await waitFor("an empty queue", async () => (await server.petrel.store.queue.count()) === 0);
      assert.equal((await inboxMessages(server, "alice@petrel.test")).length, before + 1, "no report for bob (NOTIFY=FAILURE)");
    });
  });
}
