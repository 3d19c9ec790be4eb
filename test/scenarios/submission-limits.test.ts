/**
 * Sending limits on authenticated submission: configured defaults (submission.limits) and
 * per-account overrides (`petrel user limits`); over a message limit RCPT gets 451 4.7.0, over
 * a recipient limit 452 4.5.3, with the time to try again; only accepted messages count; the
 * counts show in `petrel user show` (text and JSON). Clients: smtplib and a raw SMTP client.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { POSTGRES_URL, postgresStorage, startServer, testConfig, type TestServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { runPython } from "../helpers/python.js";
import { json, ok, refused } from "../helpers/cli.js";
import { hashPassword } from "../../src/auth/password.js";

const PASSWORD = "correct horse battery";
const FAST = { ln: 10, r: 8, p: 1 };
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const CACHE = () => new Promise((r) => setTimeout(r, 1100));

const SMTPLIB = `
import json, smtplib, ssl, sys
inp = json.loads(sys.stdin.read())
ctx = ssl._create_unverified_context()
s = smtplib.SMTP("127.0.0.1", inp["port"], local_hostname="client.test", timeout=10)
s.starttls(context=ctx)
s.login(inp["user"], inp["password"])
try:
    s.sendmail(inp["user"], inp["rcpts"], ("From: " + inp["user"] + "\\r\\nSubject: n\\r\\n\\r\\nhi\\r\\n").encode())
    out = {"ok": True}
except smtplib.SMTPRecipientsRefused as e:
    out = {"ok": False, "refused": {k: [v[0], v[1].decode()] for k, v in e.recipients.items()}}
s.quit()
`;

type Sent = { ok: boolean; refused?: Record<string, [number, string]> };

interface ShowJson {
  sending: { thisHour: { messages: number; recipients: number }; today: { messages: number; recipients: number }; limits: Record<string, number | null> };
}

for (const backend of ["sqlite", ...(POSTGRES_URL ? ["postgres"] : [])]) describe(`submission: sending limits (${backend})`, () => {
  let server: TestServer;
  const send = (user: string, rcpts: string[]) => runPython<Sent>("", SMTPLIB, { port: server.port("submission"), user, password: PASSWORD, rcpts });

  async function login(user: string): Promise<SmtpClient> {
    const c = await SmtpClient.open(server.port("submissions"), { tls: true });
    await c.expect("EHLO client.test", 250);
    await c.expect(`AUTH PLAIN ${b64(`\0${user}\0${PASSWORD}`)}`, 235);
    return c;
  }

  /** The CLI reads the same config as the server (submission.limits are its defaults). */
  let config: string;
  const cli = (args: string[]) => [...args, "--config", config];

  before(async () => {
    const overrides = { submission: { limits: { messagesPerDay: 2 } }, auth: { failureDelay: "10ms" }, ...(backend === "postgres" ? postgresStorage() : {}) };
    server = await startServer({ overrides });
    config = join(server.dataDir, "petrel.yaml");
    writeFileSync(config, stringify(testConfig(server.dataDir, overrides)));
    for (const u of ["alice", "bob", "carol"]) await server.petrel.store.directory.addAccount({ address: `${u}@petrel.test`, passwordHash: await hashPassword(PASSWORD, FAST) });
    await ok(server.dataDir, cli(["user", "limits", "bob@petrel.test", "--messages-per-day", "none", "--recipients-per-hour", "3"]));
    await CACHE();
  });
  after(async () => server.stop());

  test("the daily message limit: the third message gets 451 4.7.0 at RCPT, saying when to try again", async () => {
    assert.deepEqual(await send("alice@petrel.test", ["x@petrel.test"]), { ok: true });
    assert.deepEqual(await send("alice@petrel.test", ["x@petrel.test", "y@petrel.test"]), { ok: true });
    const third = await send("alice@petrel.test", ["x@petrel.test"]);
    assert.deepEqual(third, { ok: false, refused: { "x@petrel.test": [451, "4.7.0 daily message limit of 2 reached, try after 00:00 UTC"] } });
    // Other accounts have their own counters.
    assert.deepEqual(await send("carol@petrel.test", ["x@petrel.test"]), { ok: true });
  });

  test("petrel user show prints this hour's and today's counts; --json has them", async () => {
    const shown = await json<ShowJson>(server.dataDir, cli(["user", "show", "alice@petrel.test"]));
    assert.deepEqual(shown.sending.today, { messages: 2, recipients: 3 });
    assert.deepEqual(shown.sending.thisHour, { messages: 2, recipients: 3 });
    assert.equal(shown.sending.limits.messagesPerDay, 2);
    const text = await ok(server.dataDir, cli(["user", "show", "alice@petrel.test"]));
    assert.match(text, /^sent: +this hour 2 message\(s\) to 3 recipient\(s\); today 2 message\(s\) to 3 recipient\(s\) \(UTC\)$/m);
    assert.match(text, /^limits: +messages unlimited\/hour, 2\/day; recipients unlimited\/hour, unlimited\/day$/m);
  });

  test("the hourly recipient limit (account override): 452 4.5.3 for the recipient over it; the message goes with the rest", async () => {
    const c = await login("bob@petrel.test");
    await c.expect("MAIL FROM:<bob@petrel.test>", 250);
    await c.expect("RCPT TO:<a@petrel.test>", 250);
    await c.expect("RCPT TO:<b@petrel.test>", 250);
    await c.expect("DATA", 354);
    c.write("From: bob@petrel.test\r\n\r\none\r\n.\r\n");
    assert.equal((await c.reply()).code, 250);
    await c.expect("MAIL FROM:<bob@petrel.test>", 250);
    await c.expect("RCPT TO:<c@petrel.test>", 250);
    const over = await c.expect("RCPT TO:<d@petrel.test>", 452, "4.5.3");
    assert.match(over.lines[0]!, /^hourly recipient limit of 3 reached, try after \d\d:00 UTC$/);
    await c.expect("DATA", 354);
    c.write("From: bob@petrel.test\r\n\r\ntwo\r\n.\r\n");
    assert.equal((await c.reply()).code, 250);
    await c.quit();
    const shown = await json<ShowJson>(server.dataDir, cli(["user", "show", "bob@petrel.test"]));
    assert.deepEqual(shown.sending.today, { messages: 2, recipients: 3 });
    assert.equal(shown.sending.limits.messagesPerDay, null, "override: unlimited");
  });

  test("a message refused at end of data is not counted", async () => {
    const c = await login("carol@petrel.test");
    await c.expect("MAIL FROM:<carol@petrel.test>", 250);
    await c.expect("RCPT TO:<a@petrel.test>", 250);
    await c.expect("DATA", 354);
    c.write("From: bob@petrel.test\r\n\r\nforged\r\n.\r\n");
    assert.equal((await c.reply()).code, 550);
    await c.quit();
    assert.deepEqual((await json<ShowJson>(server.dataDir, cli(["user", "show", "carol@petrel.test"]))).sending.today, { messages: 1, recipients: 1 });
  });

  test("petrel user limits shows and changes the limits; a raised limit applies at once", async () => {
    const shown = await json<{ limits: Record<string, number | null>; overrides: Record<string, number | null> }>(server.dataDir, cli(["user", "limits", "bob@petrel.test"]));
    assert.deepEqual(shown.overrides, { messagesPerDay: null, recipientsPerHour: 3 });
    assert.deepEqual(shown.limits, { messagesPerHour: null, messagesPerDay: null, recipientsPerHour: 3, recipientsPerDay: null });
    await ok(server.dataDir, cli(["user", "limits", "bob@petrel.test", "--messages-per-day", "default", "--recipients-per-hour", "default"]));
    assert.deepEqual((await json<{ overrides: object }>(server.dataDir, cli(["user", "limits", "bob@petrel.test"]))).overrides, {});
    const text = await ok(server.dataDir, cli(["user", "limits", "alice@petrel.test", "--messages-per-day", "3"]));
    assert.match(text, /messages unlimited\/hour, 3\/day/);
    await CACHE();
    assert.deepEqual(await send("alice@petrel.test", ["x@petrel.test"]), { ok: true });
  });

  test("a bad limit value is refused with a clear message", async () => {
    const r = await refused(server.dataDir, cli(["user", "limits", "bob@petrel.test", "--messages-per-day", "lots"]));
    assert.match(r, /invalid --messages-per-day "lots"/);
  });
});
