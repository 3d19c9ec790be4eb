/** The POP3 engine without sockets: an in-memory transport, a fake backend and a fake clock. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Pop3Session } from "./session.js";
import { multiline, topOf } from "./stuffing.js";
import type { Pop3Backend, Pop3Options, Pop3Transport } from "./backend.js";
import { nullLogger } from "../core/logger.js";
import { FakeClock } from "../../test/helpers/fake-clock.js";

const MESSAGES = new Map<number, Buffer>([
  [7, Buffer.from("Subject: a\r\n\r\n.dot\r\nx\r\n")],
  [9, Buffer.from("Subject: b\r\n\r\nbody\r\n")],
]);

function setup(over: Partial<Pop3Options> = {}) {
  const clock = new FakeClock();
  let out = "";
  let closed = false;
  let tlsStarted = false;
  const expunged: number[][] = [];
  const transport: Pop3Transport = {
    remoteAddress: "192.0.2.1",
    remotePort: 1234,
    write: (d) => ((out += typeof d === "string" ? d : d.toString("latin1")), true),
    waitDrain: async () => undefined,
    startTls: async () => ((tlsStarted = true), { version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" }),
    pause: () => undefined,
    resume: () => undefined,
    close: () => void (closed = true),
  };
  const backend: Pop3Backend = {
    authenticate: async (u, p) => (u === "u@x.test" && p === "pw" ? { accountId: 1, address: u } : null),
    openMaildrop: async () => ({ messages: [...MESSAGES].map(([uid, b]) => ({ uid, size: b.length })), uidValidity: 42 }),
    retrieve: async (_a, uid) => MESSAGES.get(uid) ?? null,
    expunge: async (_a, uids) => void expunged.push([...uids]),
  };
  const opts: Pop3Options = { hostname: "h", listener: "pop3", starttls: true, allowInsecureAuth: true, idleTimeoutMs: 600_000, failureDelayMs: 1000, maxAuthFailures: 3, ...over };
  const s = new Pop3Session(opts, backend, transport, nullLogger, clock);
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    s,
    clock,
    expunged,
    get closed() {
      return closed;
    },
    get tlsStarted() {
      return tlsStarted;
    },
    async send(text: string): Promise<string> {
      out = "";
      s.receive(Buffer.from(text, "latin1"));
      for (let i = 0; i < 10; i++) await tick();
      const o = out;
      out = "";
      return o;
    },
    take(): string {
      const o = out;
      out = "";
      return o;
    },
  };
}

test("byte-stuffing and the terminator", () => {
  const j = (b: Buffer[]) => Buffer.concat(b).toString();
  assert.equal(j(multiline(Buffer.from(".a\r\nb\r\n..c\r\n"))), "..a\r\nb\r\n...c\r\n.\r\n");
  assert.equal(j(multiline(Buffer.from("no final newline"))), "no final newline\r\n.\r\n");
  assert.equal(j(multiline(Buffer.alloc(0))), ".\r\n");
  assert.equal(topOf(Buffer.from("H: 1\r\n\r\nl1\r\nl2\r\n"), 1).toString(), "H: 1\r\n\r\nl1\r\n");
  assert.equal(topOf(Buffer.from("H: 1\r\n"), 5).toString(), "H: 1\r\n");
});

test("login, RETR stuffed, DELE + QUIT expunges the marked UIDs", async () => {
  const t = setup();
  assert.match(t.take(), /^\+OK /);
  assert.equal(await t.send("USER u@x.test\r\nPASS pw\r\n"), "+OK send PASS\r\n+OK maildrop has 2 messages (43 octets)\r\n");
  assert.equal(await t.send("RETR 1\r\n"), "+OK 23 octets\r\nSubject: a\r\n\r\n..dot\r\nx\r\n.\r\n");
  assert.equal(await t.send("UIDL 2\r\n"), "+OK 2 42-9\r\n");
  assert.equal(await t.send("DELE 2\r\nLIST\r\n"), "+OK message 2 deleted\r\n+OK 1 messages (23 octets)\r\n1 23\r\n.\r\n");
  assert.match(await t.send("QUIT\r\n"), /^\+OK .*1 message deleted/);
  assert.deepEqual(t.expunged, [[9]]);
  assert.ok(t.closed);
});

test("a dropped connection expunges nothing", async () => {
  const t = setup();
  await t.send("USER u@x.test\r\nPASS pw\r\nDELE 1\r\n");
  t.s.remoteClosed();
  assert.deepEqual(t.expunged, []);
});

test("idle timeout: -ERR autologout and close, nothing expunged", async () => {
  const t = setup();
  await t.send("USER u@x.test\r\nPASS pw\r\nDELE 1\r\n");
  t.clock.advance(599_000);
  assert.equal(t.closed, false);
  await t.send("NOOP\r\n");
  t.clock.advance(599_000);
  assert.equal(t.closed, false, "activity restarts the timer");
  t.take();
  t.clock.advance(2_000);
  assert.equal(t.take(), "-ERR autologout; idle for too long\r\n");
  assert.ok(t.closed);
  assert.deepEqual(t.expunged, []);
});

test("STLS discards pipelined plaintext and forgets USER", async () => {
  const t = setup({ allowInsecureAuth: false });
  t.take();
  assert.match(await t.send("USER u@x.test\r\n"), /^-ERR \[AUTH\] TLS required/);
  assert.equal(await t.send("STLS\r\nUSER u@x.test\r\nPASS pw\r\n"), "+OK Begin TLS negotiation\r\n");
  assert.ok(t.tlsStarted);
  assert.match(await t.send("PASS pw\r\n"), /^-ERR USER first/);
  assert.doesNotMatch(await t.send("CAPA\r\n"), /STLS/);
  assert.match(await t.send("STLS\r\n"), /^-ERR/);
});

test("over-long lines are refused and discarded through their CRLF", async () => {
  const t = setup();
  t.take();
  assert.equal(await t.send("NOOP " + "x".repeat(300)), "", "answered when the line ends");
  assert.equal(await t.send("yyy\r\nCAPA x\r\n"), "-ERR line too long\r\n-ERR CAPA takes no argument\r\n");
});

test("failed logins: a delayed -ERR [AUTH], the third closes the session", async () => {
  const t = setup();
  t.take();
  assert.equal(await t.send("USER u@x.test\r\nPASS bad\r\n"), "+OK send PASS\r\n", "the failure reply waits");
  const settle = async () => {
    t.clock.advance(1000);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
  };
  await settle();
  assert.equal(t.take(), "-ERR [AUTH] invalid user name or password\r\n");
  for (let i = 0; i < 2; i++) {
    assert.equal(t.closed, false);
    await t.send("USER u@x.test\r\nPASS bad\r\n");
    await settle();
  }
  assert.match(t.take(), /-ERR too many failed logins\r\n$/);
  assert.ok(t.closed);
});
