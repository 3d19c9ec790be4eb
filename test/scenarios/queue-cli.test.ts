/**
 * `petrel queue list|show|hold|release|retry|delete|bounce` on the data directory of a running
 * server: the CLI is another process on the same SQLite file, and the server's scheduler picks
 * its changes up at its next look at the queue. Messages wait because their mailbox is over its
 * quota (quotaExceeded: temporary) and the next attempt is an hour away.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startServer, type TestServer } from "../helpers/server.js";
import { json, ok, petrel, refused } from "../helpers/cli.js";
import { waitFor } from "../helpers/wait.js";
import { bigBody, inboxMessages, parseDsn, send, waitForInbox, waitGone } from "../helpers/dsn.js";

interface Listed {
  id: string;
  held: boolean;
  recipients: { address: string; state: string; attempts: number; lastReply: string | null }[];
}

interface Shown extends Listed {
  spooled: boolean;
  recipients: (Listed["recipients"][number] & { nextAttempt: string | null; nextAttemptAt: number })[];
}

describe("petrel queue administration on a running server", () => {
  let server: TestServer;
  let m1: string;
  let m2: string;
  const attempts = async (id: string) => (await server.petrel.store.queue.get(id))?.recipients[0]?.attempts ?? -1;
  const deferred = (id: string, n: number) => waitFor(`${id} deferred after ${n} attempt(s)`, async () => (await server.petrel.store.queue.get(id))?.recipients[0]?.state === "deferred" && (await attempts(id)) === n, 15_000);

  before(async () => {
    server = await startServer({
      deliver: true,
      catchAll: false,
      overrides: { smtp: { inlineMaxSize: 1024 }, delivery: { quotaExceeded: "temporary", retryDelays: ["1h"] }, outbound: { delayWarning: 0 } },
    });
    const dir = server.petrel.store.directory;
    await dir.addAccount({ address: "alice@petrel.test", passwordHash: "!" });
    await dir.addAccount({ address: "small@petrel.test", passwordHash: "!", quota: 500 });
    m1 = await send(server, "<alice@petrel.test>", ["<small@petrel.test>"], bigBody("First"));
    m2 = await send(server, "<alice@petrel.test>", ["<small@petrel.test>"], bigBody("Second"));
    await deferred(m1, 1);
    await deferred(m2, 1);
  });
  after(async () => server.stop());

  test("list filters and show: state, attempts, last reply, next attempt", async () => {
    assert.deepEqual((await json<Listed[]>(server.dataDir, ["queue", "list", "--deferred"])).map((e) => e.id), [m1, m2]);
    assert.deepEqual(await json(server.dataDir, ["queue", "list", "--failed"]), []);
    assert.deepEqual(await json(server.dataDir, ["queue", "list", "--held"]), []);
    assert.match(await ok(server.dataDir, ["queue", "list", "--held"]), /no held messages/);
    assert.match(await refused(server.dataDir, ["queue", "list", "--held", "--failed"]), /choose one of --deferred, --failed, --held/);

    const shown = await json<Shown>(server.dataDir, ["queue", "show", m1]);
    assert.equal(shown.spooled, true);
    const [r] = shown.recipients;
    assert.equal(r!.state, "deferred");
    assert.equal(r!.attempts, 1);
    assert.match(r!.lastReply!, /^452 4\.2\.2 /);
    assert.ok(new Date(r!.nextAttempt!).getTime() > Date.now() + 50 * 60_000, "next attempt in about an hour");
    const text = await ok(server.dataDir, ["queue", "show", m1]);
    assert.match(text, /rcpt: +<small@petrel\.test> deferred attempts=1 next=\S+ last=452 4\.2\.2/);
  });

  test("hold and release", async () => {
    assert.match(await ok(server.dataDir, ["queue", "hold", m1]), /is held/);
    assert.deepEqual((await json<Listed[]>(server.dataDir, ["queue", "list", "--held"])).map((e) => e.id), [m1]);
    assert.match(await ok(server.dataDir, ["queue", "show", m1]), /held: +yes/);
    assert.match(await ok(server.dataDir, ["queue", "release", m1]), /is released/);
    assert.deepEqual(await json(server.dataDir, ["queue", "list", "--held"]), []);
  });

  test("retry: the running server tries the message again within its poll interval", async () => {
    assert.match(await ok(server.dataDir, ["queue", "retry", m1]), /1 recipient\(s\) of \S+ will be tried now/);
    await deferred(m1, 2);
    assert.equal(await attempts(m2), 1, "only the message named");
    await ok(server.dataDir, ["queue", "hold", m2]);
    assert.match(await ok(server.dataDir, ["queue", "retry", m2]), /held: release it first/);
    assert.match(await ok(server.dataDir, ["queue", "retry", "--all"]), /2 recipient\(s\) will be tried now/);
    await deferred(m1, 3);
    assert.equal(await attempts(m2), 1, "a held message waits");
    await ok(server.dataDir, ["queue", "release", m2]);
    await deferred(m2, 2);
    assert.match(await refused(server.dataDir, ["queue", "retry"]), /give a message id, or --all/);
  });

  test("bounce: the recipients fail with 5.0.0 and the sender gets a DSN", async () => {
    const out = await ok(server.dataDir, ["queue", "bounce", m1]);
    assert.match(out, new RegExp(`1 recipient\\(s\\) of ${m1} bounced; DSN \\S+ queued for <alice@petrel\\.test>`));
    await waitGone(server, m1);
    assert.equal(existsSync(join(server.dataDir, "spool", `${m1}.eml`)), false, "its spool file is gone");
    const [raw] = await waitForInbox(server, "alice@petrel.test", 1);
    const dsn = parseDsn(raw!);
    const [r] = dsn.perRecipient as [Map<string, string>];
    assert.equal(r.get("final-recipient"), "rfc822; small@petrel.test");
    assert.equal(r.get("action"), "failed");
    assert.equal(r.get("status"), "5.0.0");
    assert.equal(r.get("diagnostic-code"), "smtp; 550 5.0.0 Deleted by the administrator");
    assert.equal(dsn.returnedType, "message/rfc822");
    assert.match(dsn.returned, /Subject: First/);
  });

  test("delete: the message and its spool file go, and nobody is told", async () => {
    assert.equal(existsSync(join(server.dataDir, "spool", `${m2}.eml`)), true);
    assert.match(await ok(server.dataDir, ["queue", "delete", m2]), /deleted/);
    assert.equal(await server.petrel.store.queue.get(m2), null);
    assert.equal(existsSync(join(server.dataDir, "spool", `${m2}.eml`)), false);
    await waitFor("an empty queue", async () => (await server.petrel.store.queue.count()) === 0);
    assert.equal((await inboxMessages(server, "alice@petrel.test")).length, 1, "only the bounce's DSN");
  });

  test("unknown ids: a clear error and a non-zero exit for every command", async () => {
    for (const cmd of ["show", "hold", "release", "retry", "delete", "bounce"]) {
      const r = await petrel(server.dataDir, ["queue", cmd, "NOSUCHQUEUEID000"]);
      assert.notEqual(r.code, 0, cmd);
      assert.match(r.stderr, /no message NOSUCHQUEUEID000 in the queue/, cmd);
    }
  });
});
