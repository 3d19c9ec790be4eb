/**
 * `petrel sendmail` (and `sendmail` as a symlink): the message goes into the queue the server
 * uses. -t with Bcc: removed, -f/-F, the added Date:/Message-ID:/From:/Received:, dot handling
 * with and without -i/-oi, sysexits statuses, queueing with no server running, and a running
 * server's scheduler delivering what sendmail queued.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { symlinkSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { CLI, startServer, tempDir, testConfig, type TestServer } from "../helpers/server.js";
import { petrel, type CliResult } from "../helpers/cli.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { waitFor } from "../helpers/wait.js";

/** The config of a test server, as a file the CLI can read. */
function configFile(dataDir: string): string {
  const file = join(dataDir, "petrel.yaml");
  writeFileSync(file, stringify(testConfig(dataDir)));
  return file;
}

/** Run a command file (the CLI or a symlink to it) with arguments and stdin. */
function run(file: string, args: string[], input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [file, ...args], { timeout: 30_000, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin!.on("error", () => {});
    child.stdin!.end(input);
  });
}

const queueIdOf = (r: CliResult) => {
  const id = /queued as (\S+)/.exec(r.stderr)?.[1];
  assert.ok(id, `no queue id: ${r.code} ${r.stderr}`);
  return id;
};

describe("petrel sendmail", () => {
  let server: TestServer;
  let config: string;
  const sendmail = (args: string[], input: string) => petrel(server.dataDir, ["sendmail", "--config", config, "-v", ...args], input);
  const stored = async (id: string) => ({ entry: (await server.petrel.store.queue.get(id))!, body: (await server.petrel.queue.body(id))!.toString("utf8") });

  before(async () => {
    server = await startServer();
    config = configFile(server.dataDir);
    // A second local domain without a catch-all: its unknown users are refused.
    await server.petrel.store.directory.addDomain("strict.test");
  });
  after(async () => server.stop());

  test("-t: recipients from To/Cc/Bcc, Bcc: removed, missing fields added, our Received: first", async () => {
    const r = await sendmail(["-t", "-i"], "To: Bob <bob@petrel.test>, carol@petrel.test\nCc: dave@petrel.test\nBcc: secret@petrel.test\nSubject: report\n\nAll good.\n");
    assert.equal(r.code, 0, r.stderr);
    const { entry, body } = await stored(queueIdOf(r));
    assert.deepEqual(entry.recipients.map((x) => x.address).sort(), ["bob@petrel.test", "carol@petrel.test", "dave@petrel.test", "secret@petrel.test"]);
    assert.ok(!/^Bcc:/im.test(body), "Bcc: is removed");
    assert.ok(!body.includes("secret@"), body);
    assert.match(body, /^Received: by mx\.petrel\.test \(Petrel sendmail, from userid \d+\)\r\n\tid \S+; /);
    assert.match(body, /\r\nDate: \w{3}, \d\d \w{3} \d{4} /);
    assert.match(body, /\r\nMessage-ID: <[^@>]+@mx\.petrel\.test>\r\n/);
    // The default sender: the Unix user at the first local domain (mx.petrel.test is not one).
    assert.match(entry.sender, /^[^@]+@petrel\.test$/);
    assert.match(body, new RegExp(`\\r\\nFrom: ${entry.sender.replace(/[.+]/g, "\\$&")}\\r\\n`));
    assert.ok(body.endsWith("\r\n\r\nAll good.\r\n"), "LF became CRLF");
  });

  test("-f and -F: envelope sender and the name of the added From:; recipients from the command line", async () => {
    const r = await sendmail(["-f", "robot@petrel.test", "-F", "Cron Daemon", "alice@petrel.test", "root"], "Subject: cron\n\noutput\n");
    assert.equal(r.code, 0, r.stderr);
    const { entry, body } = await stored(queueIdOf(r));
    assert.equal(entry.sender, "robot@petrel.test");
    // A bare user name gets the default domain.
    assert.deepEqual(entry.recipients.map((x) => x.address), ["alice@petrel.test", "root@petrel.test"]);
    assert.match(body, /\r\nFrom: "Cron Daemon" <robot@petrel\.test>\r\n/);
    // An existing From: is kept as it is; -fX (value attached) works too.
    const r2 = await sendmail(["-frobot@petrel.test", "alice@petrel.test"], "From: Someone <someone@petrel.test>\n\nx\n");
    const s2 = await stored(queueIdOf(r2));
    assert.equal(s2.entry.sender, "robot@petrel.test");
    assert.match(s2.body, /\r\nFrom: Someone <someone@petrel\.test>\r\n/);
    assert.equal((s2.body.match(/^From:/gm) ?? []).length, 1);
  });

  test("a line with a single dot ends the input, unless -i or -oi", async () => {
    const input = "Subject: dots\n\nbefore\n..two\n.\nafter\n";
    const plain = await stored(queueIdOf(await sendmail(["alice@petrel.test"], input)));
    assert.ok(plain.body.endsWith("\r\n\r\nbefore\r\n..two\r\n"), JSON.stringify(plain.body));
    for (const flag of ["-i", "-oi"]) {
      const kept = await stored(queueIdOf(await sendmail([flag, "alice@petrel.test"], input)));
      assert.ok(kept.body.endsWith("\r\n\r\nbefore\r\n..two\r\n.\r\nafter\r\n"), `${flag}: ${JSON.stringify(kept.body)}`);
    }
  });

  test("sysexits: no recipients 64, unknown option 64, unknown local user 67, bad config 78", async () => {
    const none = await sendmail([], "Subject: x\n\nx\n");
    assert.equal(none.code, 64);
    assert.match(none.stderr, /no recipients/);
    const noneT = await sendmail(["-t"], "Subject: x\n\nx\n");
    assert.equal(noneT.code, 64);
    assert.equal((await sendmail(["-Z", "a@petrel.test"], "x\n")).code, 64);
    const unknown = await sendmail(["nobody@strict.test"], "Subject: x\n\nx\n");
    assert.equal(unknown.code, 67);
    assert.match(unknown.stderr, /nobody@strict\.test: no such user/);
    const badConfig = join(server.dataDir, "bad.yaml");
    writeFileSync(badConfig, "nosuchkey: 1\n");
    assert.equal((await petrel(server.dataDir, ["sendmail", "--config", badConfig, "a@petrel.test"], "x\n")).code, 78);
    // Options that mean something to sendmail's own queue are accepted and ignored.
    assert.equal((await sendmail(["-oem", "-odi", "-bm", "a@petrel.test"], "Subject: x\n\nx\n")).code, 0);
  });

  test("DKIM-signed when the From: domain has an active key, as on the submission port", async () => {
    const key = await petrel(server.dataDir, ["dkim", "keygen", "strict.test", "--config", config]);
    assert.equal(key.code, 0, key.stderr);
    const signed = await stored(queueIdOf(await sendmail(["alice@petrel.test"], "From: robot@strict.test\nSubject: signed\n\nx\n")));
    // Prepended last, as the SMTP path does: the signature covers the message as queued.
    assert.match(signed.body, /^DKIM-Signature: [^\r]*d=strict\.test;/);
    assert.match(signed.body, /\r\nReceived: by mx\.petrel\.test \(Petrel sendmail/);
    const unsigned = await stored(queueIdOf(await sendmail(["alice@petrel.test"], "From: robot@petrel.test\nSubject: unsigned\n\nx\n")));
    assert.ok(!unsigned.body.includes("DKIM-Signature"));
  });

  test("run as a `sendmail` symlink", async () => {
    const dir = tempDir("petrel-sendmail-");
    try {
      const link = join(dir, "sendmail");
      symlinkSync(CLI, link);
      const r = await run(link, ["-t", "-v", "-C", config], "To: alice@petrel.test\nSubject: via symlink\n\nhi\n");
      assert.equal(r.code, 0, r.stderr);
      const { body } = await stored(queueIdOf(r));
      assert.match(body, /\r\nSubject: via symlink\r\n/);
      assert.match((await run(link, ["--help"], "")).stdout, /usage: sendmail/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("petrel sendmail and the server's scheduler", () => {
  test("queues with no server running; a running server delivers what sendmail queued", async () => {
    // No server: the message waits in the queue.
    const dataDir = tempDir();
    try {
      const config = configFile(dataDir);
      const pre = openSqliteStore(dataDir);
      await pre.directory.addDomain("petrel.test");
      await pre.close();
      const r = await petrel(dataDir, ["sendmail", "--config", config, "-v", "someone@petrel.test"], "Subject: offline\n\nqueued while down\n");
      assert.equal(r.code, 67, "unknown user with no catch-all: refused at once");
      const s = openSqliteStore(dataDir);
      await s.directory.addAccount({ address: "someone@petrel.test", passwordHash: "!" });
      await s.close();
      const ok = await petrel(dataDir, ["sendmail", "--config", config, "-v", "someone@petrel.test"], "Subject: offline\n\nqueued while down\n");
      assert.equal(ok.code, 0, ok.stderr);
      const id = queueIdOf(ok);
      const again = openSqliteStore(dataDir);
      assert.ok(await again.queue.get(id), "in the queue with no server running");
      await again.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }

    // A running server picks up a message queued by sendmail at its next poll.
    const server = await startServer({ deliver: true, catchAll: false });
    try {
      const account = await server.petrel.store.directory.addAccount({ address: "alice@petrel.test", passwordHash: "!" });
      const r = await petrel(server.dataDir, ["sendmail", "--config", configFile(server.dataDir), "-t"], "To: alice@petrel.test\nSubject: pick me up\n\nhello\n");
      assert.equal(r.code, 0, r.stderr);
      const inbox = await server.petrel.store.mailstore.getMailbox(account.id, "INBOX");
      await waitFor("delivery of the queued message", async () => (await server.petrel.store.mailstore.listMessages(inbox!.id)).length === 1, 20_000);
      const [m] = await server.petrel.store.mailstore.listMessages(inbox!.id);
      assert.match((await server.petrel.store.mailstore.blob(m!.blobId))!.toString(), /\r\nSubject: pick me up\r\n/);
    } finally {
      await server.stop();
    }
  });
});
