/**
 * `petrel queue list|show` against the queue a running server filled: the CLI reads the same
 * SQLite file while the server runs, and `show --raw` gives back the stored bytes, from the
 * database row and from a spool file.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { CLI, startServer, type TestServer } from "../helpers/server.js";
import { SmtpClient, queueIdOf } from "../helpers/smtp-client.js";

function petrelRaw(dataDir: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args, "--data-dir", dataDir], { encoding: "buffer", maxBuffer: 1 << 24 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(stdout)));
  });
}

describe("petrel queue", () => {
  let server: TestServer;
  const ids: string[] = [];

  before(async () => {
    server = await startServer({ overrides: { smtp: { inlineMaxSize: 4096 } } });
    const c = await SmtpClient.open(server.port("smtp"));
    await c.expect("EHLO client.test", 250);
    for (const body of ["Subject: small\r\n\r\nsmall\r\n", "Subject: large\r\n\r\n" + ("y".repeat(70) + "\r\n").repeat(200)]) {
      await c.expect("MAIL FROM:<s@client.test> RET=HDRS", 250);
      await c.expect("RCPT TO:<a@petrel.test> NOTIFY=SUCCESS,FAILURE", 250);
      await c.expect("RCPT TO:<b@petrel.test>", 250);
      await c.expect("DATA", 354);
      ids.push(queueIdOf(await c.expect(body + ".", 250)));
    }
    await c.expect("QUIT", 221);
  });
  after(async () => server.stop());

  test("list --json: an array with ids, sender, size and per-recipient state", async () => {
    const list = JSON.parse((await petrelRaw(server.dataDir, ["queue", "list", "--json"])).toString()) as { id: string; sender: string; size: number; recipients: { address: string; state: string }[] }[];
    assert.deepEqual(list.map((e) => e.id), ids);
    assert.equal(list[0]!.sender, "s@client.test");
    assert.deepEqual(list[0]!.recipients.map((r) => [r.address, r.state]), [["a@petrel.test", "queued"], ["b@petrel.test", "queued"]]);
    const text = (await petrelRaw(server.dataDir, ["queue", "list"])).toString();
    assert.match(text, new RegExp(`^${ids[0]}  `, "m"));
    assert.match(text, /2 message\(s\)/);
  });

  test("show --json: envelope with DSN parameters; show --raw: the stored bytes (row and spool file)", async () => {
    const shown = JSON.parse((await petrelRaw(server.dataDir, ["queue", "show", ids[0]!, "--json"])).toString()) as { spooled: boolean; envelope: { mail: { ret: string } }; recipients: { dsn: { notify?: string[] } }[] };
    assert.equal(shown.envelope.mail.ret, "HDRS");
    assert.deepEqual(shown.recipients[0]!.dsn.notify, ["SUCCESS", "FAILURE"]);
    assert.equal(shown.spooled, false);
    for (const id of ids) {
      const raw = await petrelRaw(server.dataDir, ["queue", "show", id, "--raw"]);
      assert.ok(raw.equals((await server.petrel.queue.body(id))!), `queue show ${id} --raw`);
    }
    assert.equal((await server.petrel.store.queue.get(ids[1]!))!.spooled, true, "the large one is in a spool file");
  });

  test("show of an unknown id fails with a clear message", async () => {
    await assert.rejects(petrelRaw(server.dataDir, ["queue", "show", "NOSUCHQUEUEID000"]), /no message NOSUCHQUEUEID000 in the queue/);
  });
});
