/**
 * `petrel trace` against a running server whose JSON log lines go to a file: a message
 * received over SMTP and delivered into a mailbox (traced by queue id, by Message-ID and by
 * session id), and a submitted message that the smart host refused (failed, bounced), with
 * --json and --follow.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { CLI, startServer, tempDir, type TestServer } from "../helpers/server.js";
import { petrel } from "../helpers/cli.js";
import { startSink, type SmtpSink } from "../helpers/smtp-sink.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { hashPassword } from "../../src/auth/password.js";
import { waitFor } from "../helpers/wait.js";
import type { LogFields, Logger } from "../../src/core/logger.js";

const run = promisify(execFile);

/** JSON lines as pino writes them (time, level, bindings, fields, msg), appended to a file. */
function fileLogger(file: string, bound: LogFields = {}): Logger {
  const levels = { debug: 20, info: 30, warn: 40, error: 50 } as const;
  const line = (level: keyof typeof levels) => (fields: LogFields, msg: string) => {
    const f = { ...fields };
    if (f.err instanceof Error) f.err = { message: f.err.message };
    appendFileSync(file, JSON.stringify({ level: levels[level], time: new Date().toISOString(), ...bound, ...f, msg }) + "\n");
  };
  return { info: line("info"), warn: line("warn"), error: line("error"), debug: line("debug"), child: (f) => fileLogger(file, { ...bound, ...f }) };
}

interface TraceJson {
  kind: string;
  sessions: string[];
  messages: { queueId: string; messageId: string | null; state: string; received: Record<string, unknown> | null; recipients: { address: string; status: string; mailbox?: string; uid?: number; account?: string; reply: string | null }[]; bounces: string[] }[];
  events: { event?: string; session?: string; queueId?: string }[];
}

describe("petrel trace", () => {
  let server: TestServer;
  let sink: SmtpSink;
  let dir: string;
  let logFile: string;
  let deliveredId: string;
  let failedId: string;
  const trace = (args: string[]) => petrel(server.dataDir, ["trace", ...args, "--log", logFile]);

  before(async () => {
    dir = tempDir("petrel-trace-");
    logFile = join(dir, "petrel.log");
    sink = await startSink({ onLine: (l) => (/^RCPT/i.test(l) ? "550 5.1.1 <bob@remote.test>: no such user here" : undefined) });
    server = await startServer({ log: fileLogger(logFile), deliver: true, catchAll: false, overrides: { smtp: { allowInsecureAuth: true }, outbound: { relayHost: `127.0.0.1:${sink.port}`, relayTls: "none" } } });
    const hash = await hashPassword("trace secret");
    await server.petrel.store.directory.addAccount({ address: "alice@petrel.test", passwordHash: hash });
    await server.petrel.store.directory.addAccount({ address: "sender@petrel.test", passwordHash: hash });

    // 1. Over the MX listener to a local user: delivered into alice's INBOX.
    const { stdout } = await run("swaks", ["--server", `127.0.0.1:${server.port("smtp")}`, "--ehlo", "client.test", "--from", "someone@client.test", "--to", "alice@petrel.test", "--data", "Message-ID: <trace-1@client.test>\r\nSubject: traced\r\n\r\nhello\r\n"]);
    deliveredId = /queued as ([0-9A-Z]{16})/.exec(stdout)![1]!;

    // 2. Submitted (AUTH) to a remote address: the smart host refuses it, a DSN goes back.
    const c = await SmtpClient.open(server.port("submission"));
    await c.ehlo();
    await c.expect(`AUTH PLAIN ${Buffer.from("\0sender@petrel.test\0trace secret").toString("base64")}`, 235);
    await c.expect("MAIL FROM:<sender@petrel.test>", 250);
    await c.expect("RCPT TO:<bob@remote.test>", 250);
    await c.expect("DATA", 354);
    const r = await c.expect("Message-ID: <trace-2@petrel.test>\r\nSubject: will fail\r\n\r\nbody\r\n.", 250);
    failedId = /queued as ([0-9A-Z]{16})/.exec(r.lines.join(" "))![1]!;
    await c.expect("QUIT", 221);

    await waitFor("both messages done", async () => (await server.petrel.store.queue.get(deliveredId)) === null && (await server.petrel.store.queue.get(failedId)) === null);
    // The DSN to sender@petrel.test is delivered too before the log is complete.
    await waitFor("the bounce", async () => (await server.petrel.store.queue.count()) === 0);
  });
  after(async () => {
    await server.stop();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a delivered message by queue id: reception, attempts, mailbox and UID", async () => {
    const r = await trace([deliveredId]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^message ${deliveredId} <trace-1@client.test>`, "m"));
    assert.match(r.stdout, /received: \S+ via smtp from 127\.0\.0\.1 \(helo client\.test\), no TLS, session [0-9a-f]{12}/);
    assert.match(r.stdout, /sender: +<someone@client\.test>/);
    assert.match(r.stdout, /rcpt <alice@petrel\.test>: delivered into alice@petrel\.test INBOX UID 1, attempts 1, 250 /);
    assert.match(r.stdout, /state: +left the queue/);
    for (const e of ["connect", "mail", "rcpt", "accepted", "queued", "delivery", "done", "disconnect"]) assert.match(r.stdout, new RegExp(` ${e}: `), e);
  });

  test("the same message by Message-ID, with and without angle brackets, as JSON", async () => {
    for (const id of ["<trace-1@client.test>", "trace-1@client.test"]) {
      const r = await trace([id, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout) as TraceJson;
      assert.equal(j.kind, "message-id");
      assert.equal(j.messages.length, 1);
      const m = j.messages[0]!;
      assert.equal(m.queueId, deliveredId);
      assert.equal(m.messageId, "<trace-1@client.test>");
      assert.equal(m.state, "left-queue");
      assert.equal(m.received?.listener, "smtp");
      assert.deepEqual(
        m.recipients.map((x) => [x.address, x.status, x.account, x.mailbox, x.uid]),
        [["alice@petrel.test", "delivered", "alice@petrel.test", "INBOX", 1]],
      );
      assert.ok(j.events.some((e) => e.event === "connect" && e.session === j.sessions[0]));
    }
  });

  test("a message the smart host refused: failed, bounced, the authenticated sender", async () => {
    for (const id of [failedId, "<trace-2@petrel.test>"]) {
      const r = await trace([id, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const m = (JSON.parse(r.stdout) as TraceJson).messages[0]!;
      assert.equal(m.queueId, failedId);
      assert.equal(m.received?.listener, "submission");
      assert.equal(m.received?.authUser, "sender@petrel.test");
      assert.equal(m.recipients.length, 1);
      assert.equal(m.recipients[0]!.address, "bob@remote.test");
      assert.equal(m.recipients[0]!.status, "failed");
      assert.match(m.recipients[0]!.reply!, /^550 5\.1\.1 /);
      assert.equal(m.bounces.length, 1);
      assert.match(m.bounces[0]!, /^failure [0-9A-Z]{16}$/);
    }
    const text = await trace([failedId]);
    assert.match(text.stdout, /rcpt <bob@remote\.test>: failed, attempts 1, 550 5\.1\.1/);
    assert.match(text.stdout, /authenticated as sender@petrel\.test/);
    assert.match(text.stdout, /notice: +failure /);
  });

  test("a session by its id shows its messages", async () => {
    const j = JSON.parse((await trace([deliveredId, "--json"])).stdout) as TraceJson;
    const session = j.sessions[0]!;
    const r = await trace([session, "--json"]);
    const s = JSON.parse(r.stdout) as TraceJson;
    assert.equal(s.kind, "session");
    assert.deepEqual(s.messages.map((m) => m.queueId), [deliveredId]);
    assert.ok(s.events.every((e) => e.session === session || e.queueId === deliveredId));
    assert.ok(s.events.some((e) => e.event === "disconnect"));
  });

  test("log lines from stdin (--log -), lower-case queue ids", async () => {
    const r = await petrel(server.dataDir, ["trace", deliveredId.toLowerCase(), "--log", "-", "--json"], readFileSync(logFile, "utf8"));
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as TraceJson;
    assert.equal(j.messages[0]!.queueId, deliveredId);
    assert.equal(j.messages[0]!.messageId, "<trace-1@client.test>");
    assert.ok(j.events.some((e) => e.event === "connect"));
  });

  test("unknown ids exit 1; without --log the store still knows where a message went", async () => {
    const r = await trace(["0000000000000000"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nothing known about 0000000000000000/);
    const store = await petrel(server.dataDir, ["trace", deliveredId, "--json"]);
    assert.equal(store.code, 0, store.stderr);
    const m = (JSON.parse(store.stdout) as TraceJson).messages[0]!;
    assert.deepEqual([m.state, m.recipients[0]?.mailbox, m.recipients[0]?.uid], ["left-queue", "INBOX", 1]);
  });

  test("--follow prints a message's lines as they arrive and ends when it leaves the queue", async () => {
    const follower = spawn(process.execPath, [CLI, "trace", "<trace-3@client.test>", "--follow", "--interval", "100", "--log", logFile, "--data-dir", server.dataDir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    follower.stdout.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => follower.on("exit", (code) => r(code)));
    await new Promise((r) => setTimeout(r, 500));
    await run("swaks", ["--server", `127.0.0.1:${server.port("smtp")}`, "--from", "someone@client.test", "--to", "alice@petrel.test", "--data", "Message-ID: <trace-3@client.test>\r\nSubject: followed\r\n\r\nhi\r\n", "--hide-all"]);
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 15_000))]);
    if (code === "timeout") follower.kill();
    assert.equal(code, 0, out);
    assert.match(out, / connect: /, "the session's lines before the message was tied to it");
    assert.match(out, / queued: /);
    assert.match(out, / delivery: /);
    assert.match(out, /rcpt <alice@petrel\.test>: delivered into alice@petrel\.test INBOX UID 2/);
  });
});
