/**
 * Petrel's POP3 listeners driven by Python's poplib: mail delivered through SMTP is listed,
 * retrieved byte for byte, deleted (QUIT expunges, a dropped connection does not), over STLS
 * and implicit TLS; logins refused before TLS, wrong passwords, bad commands.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { POSTGRES_URL, postgresStorage, startServer, type TestServer } from "../helpers/server.js";
import { hashPassword } from "../../src/auth/password.js";
import { deliver, fullMessage, inbox, python, uidValidity } from "../helpers/pop3.js";

const PASSWORD = "correct horse battery";

for (const backend of ["sqlite", "postgres"] as const) {
describe(`POP3 with Python poplib (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL is not set: POP3 on PostgreSQL was not tested" : false }, () => {
  let server: TestServer;
  let ports: Record<string, number>;
  const b64 = (b: Buffer) => b.toString("base64");

  before(async () => {
    server = await startServer({ deliver: true, catchAll: false, overrides: backend === "postgres" ? postgresStorage() : {} });
    const hash = await hashPassword(PASSWORD);
    for (const u of ["alice", "bob", "dora", "erin", "off"]) await server.petrel.store.directory.addAccount({ address: `${u}@petrel.test`, passwordHash: hash });
    await server.petrel.store.directory.updateAccount("off@petrel.test", { enabled: false });
    ports = { pop3: server.port("pop3"), pop3s: server.port("pop3s") };
    await deliver(server, "alice@petrel.test", "From: sender@client.test\r\nTo: alice@petrel.test\r\nSubject: first\r\n\r\nLine one.\r\n.starts with a dot\r\n..two dots\r\nlast line\r\n", 1);
    await deliver(server, "alice@petrel.test", "From: sender@client.test\r\nTo: alice@petrel.test\r\nSubject: second\r\n\r\nbody 1\r\nbody 2\r\nbody 3\r\n", 2);
  });
  after(async () => server.stop());

  test("STLS then USER/PASS: CAPA, STAT, LIST, UIDL, TOP and RETR byte-exact", async () => {
    const stored = await inbox(server, "alice@petrel.test");
    const full = await Promise.all(stored.map((m) => fullMessage(server, m)));
    const res = await python(
      `
p = plain()
out["capa_before"] = {k: v for k, v in p.capa().items()}
p.stls(ctx)
out["capa_after"] = {k: v for k, v in p.capa().items()}
out["login"] = login(p, "alice@petrel.test", inp["password"])
out["stat"] = list(p.stat())
resp, lines, _ = p.list()
out["list"] = [s(l) for l in lines]
out["list1"] = s(p.list(1))
resp, lines, _ = p.uidl()
out["uidl"] = [s(l) for l in lines]
out["retr"] = []
for i in (1, 2):
    resp, lines, octets = p.retr(i)
    out["retr"].append({"resp": s(resp), "data": joined(lines)})
resp, lines, _ = p.top(2, 1)
out["top"] = joined(lines)
resp, lines, _ = p.top(1, 0)
out["top0"] = joined(lines)
out["quit"] = s(p.quit())
`,
      { ports, password: PASSWORD },
    );
    assert.ok("STLS" in res.capa_before, JSON.stringify(res.capa_before));
    assert.ok(!("USER" in res.capa_before) && !("SASL" in res.capa_before), "no plaintext login offered before TLS");
    for (const c of ["TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "EXPIRE", "LOGIN-DELAY", "IMPLEMENTATION"]) assert.ok(c in res.capa_before, c);
    assert.ok("USER" in res.capa_after && "SASL" in res.capa_after && !("STLS" in res.capa_after), JSON.stringify(res.capa_after));
    assert.deepEqual(res.capa_after.SASL, ["PLAIN"]);
    assert.match(res.login, /^\+OK maildrop has 2 messages/);
    const sizes = full.map((b) => b.length);
    assert.deepEqual(res.stat, [2, sizes[0]! + sizes[1]!]);
    assert.deepEqual(res.list, [`1 ${sizes[0]}`, `2 ${sizes[1]}`]);
    assert.equal(res.list1, `+OK 1 ${sizes[0]}`);
    const v = await uidValidity(server, "alice@petrel.test");
    assert.deepEqual(res.uidl, [`1 ${v}-${stored[0]!.uid}`, `2 ${v}-${stored[1]!.uid}`]);
    for (let i = 0; i < 2; i++) {
      assert.equal(res.retr[i].data, b64(full[i]!), `RETR ${i + 1} is the stored message`);
      assert.equal(res.retr[i].resp, `+OK ${sizes[i]} octets`);
    }
    const second = full[1]!.toString("latin1");
    const head = second.slice(0, second.indexOf("\r\n\r\n") + 4);
    assert.equal(Buffer.from(res.top, "base64").toString("latin1"), head + "body 1\r\n");
    const first = full[0]!.toString("latin1");
    assert.equal(Buffer.from(res.top0, "base64").toString("latin1"), first.slice(0, first.indexOf("\r\n\r\n") + 4));
    assert.match(res.quit, /^\+OK/);
    assert.equal((await inbox(server, "alice@petrel.test")).length, 2, "nothing deleted");
  });

  test("POP3_SSL (pop3s): implicit TLS, USER offered, no STLS; AUTH PLAIN with initial response", async () => {
    const res = await python(
      `
p = pop3s()
out["capa"] = {k: v for k, v in p.capa().items()}
tok = base64.b64encode(b"\\0alice@petrel.test\\0" + inp["password"].encode()).decode()
out["auth"] = s(p._shortcmd("AUTH PLAIN " + tok))
out["stat"] = list(p.stat())
p.quit()
p = pop3s()
out["cont"] = s(p._shortcmd("AUTH PLAIN"))
out["auth2"] = s(p._shortcmd(base64.b64encode(b"alice@petrel.test\\0alice@petrel.test\\0" + inp["password"].encode()).decode()))
p.quit()
p = pop3s()
out["cont2"] = s(p._shortcmd("AUTH PLAIN"))
out["cancel"] = err(p._shortcmd, "*")
out["bad"] = err(p._shortcmd, "AUTH PLAIN " + base64.b64encode(b"\\0alice@petrel.test\\0wrong").decode())
out["other"] = err(p._shortcmd, "AUTH PLAIN " + base64.b64encode(b"bob@petrel.test\\0alice@petrel.test\\0" + inp["password"].encode()).decode())
p.quit()
`,
      { ports, password: PASSWORD },
    );
    assert.ok("USER" in res.capa && !("STLS" in res.capa), JSON.stringify(res.capa));
    assert.match(res.auth, /^\+OK maildrop has 2 messages/);
    assert.equal(res.stat[0], 2);
    assert.equal(res.cont, "+ ");
    assert.match(res.auth2, /^\+OK/);
    assert.equal(res.cancel, "-ERR authentication cancelled");
    assert.match(res.bad, /^-ERR \[AUTH\]/);
    assert.match(res.other, /^-ERR \[AUTH\]/, "no login as another user");
  });

  test("plaintext logins are refused before STLS on the pop3 listener", async () => {
    const res = await python(
      `
p = plain()
out["user"] = err(p.user, "alice@petrel.test")
out["pass"] = err(p.pass_, inp["password"])
out["auth"] = err(p._shortcmd, "AUTH PLAIN " + base64.b64encode(b"\\0alice@petrel.test\\0" + inp["password"].encode()).decode())
out["stat"] = err(p.stat)
p.quit()
`,
      { ports, password: PASSWORD },
    );
    assert.match(res.user, /^-ERR \[AUTH\] TLS required/);
    assert.match(res.pass, /^-ERR \[AUTH\] TLS required/);
    assert.match(res.auth, /^-ERR \[AUTH\] TLS required/);
    assert.match(res.stat, /^-ERR/);
  });

  test("wrong passwords get -ERR [AUTH]; the third failure closes the session; disabled accounts refused", async () => {
    const started = Date.now();
    const res = await python(
      `
p = pop3s()
out["wrong"] = err(login, p, "alice@petrel.test", "nope")
out["unknown"] = err(login, p, "nobody@petrel.test", "nope")
out["disabled"] = err(login, p, "off@petrel.test", inp["password"])
try:
    out["after"] = s(p.noop())
except Exception as e:
    out["after"] = "closed: " + type(e).__name__
`,
      { ports, password: PASSWORD },
    );
    assert.match(res.wrong, /^-ERR \[AUTH\]/);
    assert.match(res.unknown, /^-ERR \[AUTH\]/);
    assert.match(res.disabled, /^-ERR \[AUTH\]/);
    assert.match(res.after, /^closed: /);
    assert.ok(Date.now() - started >= 2900, "each failure is answered after a delay");
  });

  test("bad commands and commands in the wrong state get -ERR; the session goes on", async () => {
    const res = await python(
      `
p = pop3s()
out["stat_early"] = err(p.stat)
out["pass_first"] = err(p.pass_, "x")
out["unknown"] = err(p._shortcmd, "FROB")
out["long"] = err(p._shortcmd, "NOOP " + "x" * 300)
login(p, "alice@petrel.test", inp["password"])
out["user_late"] = err(p.user, "bob@petrel.test")
out["retr_0"] = err(p._shortcmd, "RETR 0")
out["retr_99"] = err(p._shortcmd, "RETR 99")
out["retr_abc"] = err(p._shortcmd, "RETR abc")
out["top_bad"] = err(p._shortcmd, "TOP 1")
out["stls_late"] = err(p._shortcmd, "STLS")
out["noop"] = s(p.noop())
p.quit()
`,
      { ports, password: PASSWORD },
    );
    assert.match(res.stat_early, /^-ERR/);
    assert.match(res.pass_first, /^-ERR/);
    assert.match(res.unknown, /^-ERR unknown command/);
    assert.equal(res.long, "-ERR line too long");
    assert.match(res.user_late, /^-ERR/);
    assert.equal(res.retr_0, "-ERR no such message");
    assert.equal(res.retr_99, "-ERR no such message");
    assert.equal(res.retr_abc, "-ERR invalid message number");
    assert.match(res.top_bad, /^-ERR/);
    assert.match(res.stls_late, /^-ERR/);
    assert.equal(res.noop, "+OK");
  });

  test("DELE hides a message, RSET brings it back, a dropped connection keeps it, QUIT expunges it", async () => {
    await deliver(server, "bob@petrel.test", "Subject: b1\r\n\r\none\r\n", 1);
    await deliver(server, "bob@petrel.test", "Subject: b2\r\n\r\ntwo\r\n", 2);
    const before = await inbox(server, "bob@petrel.test");
    const res = await python(
      `
p = tls()
login(p, "bob@petrel.test", inp["password"])
out["uidl1"] = [s(l) for l in p.uidl()[1]]
out["dele"] = s(p.dele(1))
out["stat_after_dele"] = list(p.stat())
out["retr_deleted"] = err(p.retr, 1)
out["dele_again"] = err(p.dele, 1)
out["list_after_dele"] = [s(l) for l in p.list()[1]]
out["rset"] = s(p.rset())
out["stat_after_rset"] = list(p.stat())
p.dele(1)
p.sock.close()   # dropped without QUIT: nothing is expunged

p = tls()
login(p, "bob@petrel.test", inp["password"])
out["stat_after_drop"] = list(p.stat())
out["uidl2"] = [s(l) for l in p.uidl()[1]]
p.dele(1)
out["quit"] = s(p.quit())

p = pop3s()
login(p, "bob@petrel.test", inp["password"])
out["stat_after_quit"] = list(p.stat())
out["uidl3"] = [s(l) for l in p.uidl()[1]]
p.quit()
`,
      { ports, password: PASSWORD },
    );
    assert.match(res.dele, /^\+OK/);
    assert.equal(res.stat_after_dele[0], 1);
    assert.equal(res.retr_deleted, "-ERR message deleted");
    assert.equal(res.dele_again, "-ERR message deleted");
    assert.equal(res.list_after_dele.length, 1);
    assert.match(res.list_after_dele[0], /^2 /);
    assert.equal(res.stat_after_rset[0], 2);
    assert.equal(res.stat_after_drop[0], 2, "a dropped connection expunges nothing");
    assert.deepEqual(res.uidl2, res.uidl1, "UIDL is stable across sessions");
    assert.match(res.quit, /^\+OK .*1 message deleted/);
    assert.equal(res.stat_after_quit[0], 1);
    // The remaining message keeps its unique-id, now as message 1.
    assert.deepEqual(res.uidl3, [`1 ${res.uidl1[1].split(" ")[1]}`]);
    const after = await inbox(server, "bob@petrel.test");
    assert.deepEqual(after.map((m) => m.uid), [before[1]!.uid]);
  });

  test("pipelined commands are answered in order (RFC 2449 PIPELINING)", async () => {
    const res = await python(
      `
sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", POP3S), timeout=15))
f = sock.makefile("rb")
f.readline()
tok = base64.b64encode(b"\\0alice@petrel.test\\0" + inp["password"].encode()).decode()
sock.sendall(("AUTH PLAIN " + tok + "\\r\\nSTAT\\r\\nLIST 1\\r\\nNOOP\\r\\nQUIT\\r\\n").encode())
out["lines"] = [f.readline().decode().rstrip("\\r\\n") for _ in range(5)]
`,
      { ports, password: PASSWORD },
    );
    const [auth, stat, list, noop, quit] = res.lines as string[];
    assert.match(auth!, /^\+OK maildrop/);
    assert.match(stat!, /^\+OK 2 \d+$/);
    assert.match(list!, /^\+OK 1 \d+$/);
    assert.equal(noop, "+OK");
    assert.match(quit!, /^\+OK/);
  });
});
}
