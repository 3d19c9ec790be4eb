/**
 * The authentication lockout shared by SMTP AUTH and POP3 (and IMAP): failures per account
 * and per client IP, blocks that expire and double, failures over POP3 (Python poplib) that
 * block SMTP AUTH for the same account, `petrel auth blocked` / `unblock`, and failure replies
 * that take the same time whether the user exists or not. Short windows, no long sleeps.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { POSTGRES_URL, postgresStorage, startServer, type TestServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import * as cli from "../helpers/cli.js";
import { runPython } from "../helpers/python.js";
import { hashPassword } from "../../src/auth/password.js";
import type { Logger, LogFields } from "../../src/core/logger.js";

const PASSWORD = "correct horse battery";
const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * The first block's length: long enough that a CLI started on a loaded CI machine still sees
 * the block, short enough to wait for its end. Exact timings are read from the store.
 */
const BLOCK_MS = 5_000;

function memoryLogger(lines: LogFields[]): Logger {
  const l: Logger = { info: (f) => void lines.push(f), warn: (f) => void lines.push(f), error: (f) => void lines.push(f), debug: () => {}, child: () => l };
  return l;
}

/** One AUTH PLAIN on submissions from `ip` (a 127.0.0.0/8 address); the reply code. */
async function login(server: TestServer, ip: string, user: string, password: string): Promise<number> {
  const c = await SmtpClient.open(server.port("submissions"), { tls: true, localAddress: ip });
  try {
    await c.ehlo();
    return (await c.cmd(`AUTH PLAIN ${b64(`\0${user}\0${password}`)}`)).code;
  } finally {
    c.destroy();
  }
}

interface Blocked {
  key: string;
  failures: number;
  until: string;
}

for (const backend of ["sqlite", "postgres"] as const) {
describe(`authentication lockout (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL is not set: the lockout on PostgreSQL was not tested" : false }, () => {
  let server: TestServer;
  const logs: LogFields[] = [];
  // The CLI finds the server's store through a config file (PostgreSQL) or the data directory.
  let args: string[] = [];
  const json = <T>(dir: string, a: string[]) => cli.json<T>(dir, [...a, ...args]);
  const ok = (dir: string, a: string[]) => cli.ok(dir, [...a, ...args]);
  const refused = (dir: string, a: string[]) => cli.refused(dir, [...a, ...args]);

  before(async () => {
    const storage = backend === "postgres" ? postgresStorage() : {};
    server = await startServer({ log: memoryLogger(logs), overrides: { ...storage, auth: { failureDelay: "20ms", lockout: { maxFailures: 3, window: "1m", blockTime: `${BLOCK_MS}ms`, maxBlockTime: "1m" } } } });
    if (backend === "postgres") {
      const file = join(server.dataDir, "cli.yaml");
      writeFileSync(file, stringify(storage));
      args = ["--config", file];
    }
    const hash = await hashPassword(PASSWORD, { ln: 10, r: 8, p: 1 });
    for (const u of ["alice", "bob", "dora", "erin"]) await server.petrel.store.directory.addAccount({ address: `${u}@petrel.test`, passwordHash: hash });
  });
  after(async () => server.stop());

  test("N failures for one account from different IPs block it everywhere, until the block expires", async () => {
    for (const ip of ["127.0.1.1", "127.0.1.2", "127.0.1.3"]) assert.equal(await login(server, ip, "alice@petrel.test", "wrong"), 535);
    assert.equal(await login(server, "127.0.1.4", "alice@petrel.test", PASSWORD), 535, "blocked: the right password is refused too");
    assert.equal(await login(server, "127.0.1.4", "bob@petrel.test", PASSWORD), 235, "other accounts from that IP are fine");
    const blocked = await json<Blocked[]>(server.dataDir, ["auth", "blocked"]);
    const b = blocked.find((x) => x.key === "user:alice@petrel.test")!;
    assert.ok(b, JSON.stringify(blocked));
    assert.equal(b.failures, 3);
    const stored = (await server.petrel.store.authFailures.listBlocked(Date.now())).find((x) => x.key === "user:alice@petrel.test")!;
    assert.ok(stored.blockedUntil! > Date.now() && stored.blockedUntil! <= Date.now() + BLOCK_MS, "blocked for blockTime");
    assert.ok(logs.some((l) => l.event === "auth-blocked" && l.key === "user:alice@petrel.test"), "the block is logged");
    assert.ok(logs.some((l) => l.event === "auth-failure" && l.reason === "blocked" && l.protocol === "smtp"));
    await sleep(Date.parse(b.until) - Date.now() + 100);
    assert.equal(await login(server, "127.0.1.4", "alice@petrel.test", PASSWORD), 235, "the block expired");
  });

  test("N failures from one IP block every account from it; a success in between does not unblock it", async () => {
    const ip = "127.0.2.1";
    assert.equal(await login(server, ip, "nobody@petrel.test", "x"), 535);
    assert.equal(await login(server, ip, "dora@petrel.test", "x"), 535);
    assert.equal(await login(server, ip, "dora@petrel.test", PASSWORD), 235);
    assert.equal(await login(server, ip, "ghost@petrel.test", "x"), 535);
    assert.equal(await login(server, ip, "dora@petrel.test", PASSWORD), 535, "the IP is blocked");
    assert.equal(await login(server, "127.0.2.2", "dora@petrel.test", PASSWORD), 235, "the account is not");
    const keys = (await json<Blocked[]>(server.dataDir, ["auth", "blocked"])).map((b) => b.key);
    assert.ok(keys.includes(`ip:${ip}`), keys.join(","));
  });

  test("the next block of the same key lasts twice as long", async () => {
    const ip = "127.0.3.1";
    for (let i = 0; i < 3; i++) await login(server, ip, `nobody${i}@petrel.test`, "x");
    const blockOf = async () => (await server.petrel.store.authFailures.listBlocked(Date.now())).find((b) => b.key === `ip:${ip}`);
    const first = (await blockOf())!;
    assert.ok(first, "first block");
    await sleep(first.blockedUntil! - Date.now() + 100);
    for (let i = 3; i < 6; i++) assert.equal(await login(server, ip, `nobody${i}@petrel.test`, "x"), 535);
    const second = (await blockOf())!;
    const left = second.blockedUntil! - Date.now();
    assert.ok(left > BLOCK_MS && left <= 2 * BLOCK_MS, `second block: ${left} ms left`);
    assert.equal(second.level, 2);
    await ok(server.dataDir, ["auth", "unblock", ip]);
  });

  test("failures over POP3 (poplib) block SMTP AUTH for the same account; petrel auth unblock clears it", async () => {
    const res = await runPython<{ replies: string[] }>(
      `
import json, poplib, socket, ssl, sys
inp = json.loads(sys.stdin.read())
ctx = ssl._create_unverified_context()
out = {"replies": []}
class FromIp(poplib.POP3_SSL):
    def _create_socket(self, timeout):
        s = socket.create_connection((self.host, self.port), timeout, source_address=(inp["ip"], 0))
        return ctx.wrap_socket(s, server_hostname=self.host)
`,
      `
for i in range(3):
    p = FromIp("127.0.0.1", inp["port"], context=ctx, timeout=15)
    p.user("erin@petrel.test")
    try:
        p.pass_("wrong")
        out["replies"].append("+OK")
    except poplib.error_proto as e:
        out["replies"].append(e.args[0].decode())
    p.close()
`,
      { port: server.port("pop3s"), ip: "127.0.4.1" },
    );
    assert.deepEqual(res.replies, Array(3).fill("-ERR [AUTH] invalid user name or password"));
    assert.equal(await login(server, "127.0.4.2", "erin@petrel.test", PASSWORD), 535, "SMTP AUTH is blocked for erin");
    const text = await ok(server.dataDir, ["auth", "blocked"]);
    assert.match(text, /^user:erin@petrel\.test +3 failure\(s\) +blocked until \d{4}-/m);
    assert.match(text, /^ip:127\.0\.4\.1 /m);
    assert.equal(await ok(server.dataDir, ["auth", "unblock", "user:erin@petrel.test"]), "user:erin@petrel.test unblocked\n");
    assert.equal(await login(server, "127.0.4.2", "erin@petrel.test", PASSWORD), 235);
    assert.match(await refused(server.dataDir, ["auth", "unblock", "user:erin@petrel.test"]), /not blocked/);
    assert.match(await refused(server.dataDir, ["auth", "unblock"]), /KEY, or --all/);
    assert.match(await ok(server.dataDir, ["auth", "unblock", "--all"]), /^cleared \d+ entr/);
    assert.deepEqual(await json(server.dataDir, ["auth", "blocked"]), []);
    assert.equal(await ok(server.dataDir, ["auth", "blocked"]), "nothing is blocked\n");
  });

  test("a POP3 login of a blocked account fails even with the right password", async () => {
    for (const ip of ["127.0.5.1", "127.0.5.2", "127.0.5.3"]) await login(server, ip, "bob@petrel.test", "wrong");
    const res = await runPython<{ reply: string }>(
      `
import json, poplib, ssl, sys
inp = json.loads(sys.stdin.read())
ctx = ssl._create_unverified_context()
out = {}
`,
      `
p = poplib.POP3_SSL("127.0.0.1", inp["port"], context=ctx, timeout=15)
p.user("bob@petrel.test")
try:
    out["reply"] = p.pass_(inp["password"]).decode()
except poplib.error_proto as e:
    out["reply"] = e.args[0].decode()
`,
      { port: server.port("pop3s"), password: PASSWORD },
    );
    assert.equal(res.reply, "-ERR [AUTH] invalid user name or password");
    await ok(server.dataDir, ["auth", "unblock", "--all"]);
  });
});
}

describe("failure timing", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ overrides: { auth: { failureDelay: "400ms", lockout: { enabled: false } } } });
    // The default scrypt cost, as real accounts have: the check and the dummy cost the same.
    await server.petrel.store.directory.addAccount({ address: "alice@petrel.test", passwordHash: await hashPassword(PASSWORD) });
  });
  after(async () => server.stop());

  test("a login for an unknown user is not faster than a wrong password (both wait the failure delay)", async () => {
    const c = await SmtpClient.open(server.port("submissions"), { tls: true });
    await c.ehlo();
    const time = async (user: string) => {
      const t = process.hrtime.bigint();
      const r = await c.cmd(`AUTH PLAIN ${b64(`\0${user}\0wrong`)}`);
      assert.equal(r.code, 535);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    const unknown: number[] = [];
    const wrong: number[] = [];
    // Four of each: the session allows ten errors.
    for (let i = 0; i < 4; i++) {
      unknown.push(await time(`nobody${i}@petrel.test`));
      wrong.push(await time("alice@petrel.test"));
    }
    const median = (a: number[]) => ((s) => (s[1]! + s[2]!) / 2)([...a].sort((x, y) => x - y));
    // Loose on purpose (a shared machine): both wait out the same 400 ms from the start.
    assert.ok(median(unknown) >= 390 && median(wrong) >= 390, `unknown ${unknown}, wrong ${wrong}`);
    assert.ok(median(unknown) >= median(wrong) * 0.75, `unknown ${unknown}, wrong ${wrong}`);
    await c.quit();
  });
});
