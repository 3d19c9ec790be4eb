/**
 * Graceful shutdown of a `petrel serve` child process, and start-up refusal of a bad config.
 * SIGTERM: listeners close, idle sessions get 421 4.3.2, a session in DATA may finish its
 * message within limits.shutdownGrace (250, then 421), and the process exits 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, startChild, tempDir } from "../helpers/server.js";
import { SmtpClient, queueIdOf } from "../helpers/smtp-client.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { queuedOrDelivered } from "../helpers/stored.js";

const stored = queuedOrDelivered;

async function queueSize(dataDir: string): Promise<number> {
  const store = openSqliteStore(dataDir);
  try {
    return await store.queue.count();
  } finally {
    await store.close();
  }
}

/** Open a session and start a message: the server is then in DATA for this client. */
async function inData(port: number, firstPart: string): Promise<SmtpClient> {
  const c = await SmtpClient.open(port);
  await c.ehlo();
  c.write("MAIL FROM:<a@client.test>\r\nRCPT TO:<b@petrel.test>\r\nDATA\r\n");
  const r = await c.replies(3);
  assert.deepEqual(r.map((x) => x.code), [250, 250, 354]);
  c.write(firstPart);
  // Let the server read the first part before the signal.
  await c.quiet(150);
  return c;
}

test("SIGTERM: idle session gets 421, the message in DATA completes, exit 0", { timeout: 30_000 }, async () => {
  const child = await startChild({ domains: ["petrel.test"], overrides: { limits: { shutdownGrace: "3s" } } });
  const port = child.ports.smtp!;
  try {
    const idle = await SmtpClient.open(port);
    await idle.ehlo();
    const busy = await inData(port, "Subject: shutdown\r\n\r\nfirst part\r\n");

    const signalled = Date.now();
    child.proc.kill("SIGTERM");
    const r = await idle.reply();
    assert.equal(r.code, 421);
    assert.equal(r.enhanced, "4.3.2");
    assert.match(r.lines[0]!, /shutting down/);
    await idle.waitClosed();

    // The listener is closed: no new sessions.
    await assert.rejects(SmtpClient.connect(port));

    // The session in DATA was left alone and may finish.
    assert.equal(busy.isClosed, false);
    assert.equal(busy.pending, "", "nothing sent to the session in DATA yet");
    busy.write("..second part\r\n.\r\n");
    const ok = await busy.reply();
    assert.equal(ok.code, 250, ok.raw);
    const id = queueIdOf(ok);
    const bye = await busy.reply();
    assert.equal(bye.code, 421);
    assert.equal(bye.enhanced, "4.3.2");
    await busy.waitClosed();

    assert.equal(await child.exited, 0, "exit code");
    assert.ok(Date.now() - signalled < 3000, "no need to wait for the grace period once every session is done");
    assert.ok(child.logs.some((l) => l.event === "stopped"), "logged stopped");

    const body = await stored(child.dataDir, id);
    assert.ok(body, `message ${id} is queued or delivered after the shutdown`);
    assert.ok(body.toString("latin1").endsWith("\r\nSubject: shutdown\r\n\r\nfirst part\r\n.second part\r\n"));
  } finally {
    child.proc.kill("SIGKILL");
    await child.exited;
    rmSync(child.dataDir, { recursive: true, force: true });
  }
});

test("SIGTERM: past the grace period, a session still in DATA gets 421 and nothing is queued", { timeout: 30_000 }, async () => {
  const child = await startChild({ domains: ["petrel.test"], overrides: { limits: { shutdownGrace: "1s" } } });
  try {
    const busy = await inData(child.ports.smtp!, "Subject: too slow\r\n\r\n" + "x".repeat(200 * 1024) + "\r\n");
    const signalled = Date.now();
    child.proc.kill("SIGTERM");
    const r = await busy.reply(10_000);
    const waited = Date.now() - signalled;
    assert.equal(r.code, 421);
    assert.equal(r.enhanced, "4.3.2");
    assert.ok(waited >= 900, `421 only after the grace period (${waited} ms)`);
    await busy.waitClosed();
    assert.equal(await child.exited, 0);
    assert.equal(await queueSize(child.dataDir), 0, "the unfinished message is not queued");
    assert.deepEqual(readdirSync(join(child.dataDir, "spool")), [], "its spool file is removed");
  } finally {
    child.proc.kill("SIGKILL");
    await child.exited;
    rmSync(child.dataDir, { recursive: true, force: true });
  }
});

function serve(configFile: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, "serve", "--config", configFile], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    const killer = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.on("exit", (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

test("a bad config: petrel serve exits 2 and names the key", { timeout: 30_000 }, async () => {
  const dir = tempDir("petrel-badconf-");
  try {
    const cases: [yaml: string, mustName: RegExp][] = [
      ["smtp:\n  maxRecipientz: 5\n", /unknown key smtp\.maxRecipientz/],
      ["smtp:\n  maxRecipients: 0\n", /smtp\.maxRecipients/],
      ["limits:\n  shutdownGrace: soon\n", /limits\.shutdownGrace/],
      ["listen:\n  smtp: nowhere\n", /listen\.smtp/],
      ["smtp: [unclosed\n", /not valid YAML/],
    ];
    for (const [yaml, mustName] of cases) {
      const file = join(dir, "bad.yaml");
      writeFileSync(file, `dataDir: ${JSON.stringify(join(dir, "data"))}\n${yaml}`);
      const r = await serve(file);
      assert.equal(r.code, 2, `exit code for ${JSON.stringify(yaml)}; stderr: ${r.stderr}`);
      assert.match(r.stderr, mustName);
      assert.match(r.stderr, /^petrel: configuration error: /);
      assert.doesNotMatch(r.stdout, /"event":"ready"/);
    }
    const missing = await serve(join(dir, "does-not-exist.yaml"));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
