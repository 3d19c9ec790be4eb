/**
 * The remote transport over real sockets against scripted SMTP servers (test/helpers/smtp-sink),
 * with a resolver fake that states each test's DNS.
 */
import { describe, test, after } from "node:test";
import assert from "node:assert/strict";
import { startSink, type SmtpSink } from "../../../test/helpers/smtp-sink.js";
import { nullLogger } from "../../core/logger.js";
import { DnsError, type MxRecord, type Resolver } from "../../dns/types.js";
import type { DeliveryJob } from "../../queue/transport.js";
import { createRemoteTransport, type RemoteTransportOptions } from "./transport.js";

function resolver(mx: Record<string, MxRecord[]>, a: Record<string, string[]>): Resolver {
  const nx = (n: string, t: string) => Promise.reject(new DnsError("NXDOMAIN", n, t));
  return {
    mx: (n) => (mx[n] ? Promise.resolve(mx[n]!) : a[n] ? Promise.reject(new DnsError("NODATA", n, "MX")) : nx(n, "MX")),
    a: (n) => (a[n] ? Promise.resolve(a[n]!) : nx(n, "A")),
    aaaa: (n) => (a[n] ? Promise.reject(new DnsError("NODATA", n, "AAAA")) : nx(n, "AAAA")),
    txt: () => Promise.resolve([]),
    ptr: () => Promise.resolve([]),
  };
}

let seq = 0;
function job(rcpts: string[], body = "Subject: t\r\n\r\nhello\r\n"): DeliveryJob {
  const id = `Q${++seq}`;
  const recipients = rcpts.map((address, idx) => ({ address, dsn: {}, idx, state: "inflight" as const, nextAttemptAt: 0, attempts: 0, lastReply: null, messageId: id }));
  return { message: { id, createdAt: 0, sender: "a@petrel.test", size: body.length, envelope: { mail: {} }, spooled: false, held: false, delayNotified: false, recipients }, recipients, body: async () => Buffer.from(body) };
}

const T = { greeting: 400, mail: 400, rcpt: 400, dataInit: 400, dataBlock: 400, dataFinal: 400 };

function transport(port: number, res: Resolver, o: Partial<RemoteTransportOptions> = {}) {
  return createRemoteTransport({
    resolver: res,
    log: nullLogger,
    opts: { hostname: "mx.petrel.test", port, relay: null, tlsPolicies: {}, maxConnectionsPerDestination: 2, connectTimeoutMs: 1000, timeouts: T, idleMs: 2000, maxMessagesPerConnection: 100, ...o },
  });
}

describe("remote transport against scripted servers", () => {
  const sinks: SmtpSink[] = [];
  after(async () => Promise.all(sinks.map((s) => s.close())));
  const sink = async (...a: Parameters<typeof startSink>) => {
    const s = await startSink(...a);
    sinks.push(s);
    return s;
  };

  test("a slow destination holds its own slots only; past its waiting line, deliveries defer at once", async () => {
    const fast = await sink();
    // Same port on another loopback address: a server that never greets.
    const slow = await sink({ host: "127.0.0.3", port: fast.port, greeting: null });
    const t = transport(fast.port, resolver({ "slow.test": [{ exchange: "mx.slow.test", priority: 1 }], "fast.test": [{ exchange: "mx.fast.test", priority: 1 }] }, { "mx.slow.test": ["127.0.0.3"], "mx.fast.test": ["127.0.0.1"] }), { maxConnectionsPerDestination: 1, maxDeliveriesPerDestination: 5, timeouts: { ...T, greeting: 1000 } });
    let slowSettled = 0;
    const slowJobs = [1, 2, 3, 4, 5, 6].map(() => t.deliver(job(["x@slow.test"])).finally(() => slowSettled++));
    await new Promise((r) => setTimeout(r, 20));
    // Only the one past the line is answered before the slow server's greeting timeout.
    assert.equal(slowSettled, 1);
    const f = await t.deliver(job(["y@fast.test"]));
    assert.equal(f[0]!.status, "delivered");
    assert.equal(slowSettled, 1, "the fast destination did not wait for the slow one");
    const outcomes = (await Promise.all(slowJobs)).map((o) => o[0]!);
    assert.ok(outcomes.every((o) => o.status === "retry"));
    assert.equal(outcomes.filter((o) => /^451 4\.4\.5 /.test(o.reply)).length, 1, "one beyond the line was deferred at once");
    assert.ok(outcomes.some((o) => /^451 4\.4\.2 .*greeting/.test(o.reply)), outcomes.map((o) => o.reply).join("\n"));
    assert.ok(slow.connections >= 1);
    await t.close();
  });

  test("several messages to one destination share one connection, RSET between", async () => {
    const s = await sink();
    const t = transport(s.port, resolver({}, { "one.test": ["127.0.0.1"] }));
    for (let i = 0; i < 3; i++) {
      const [o] = await t.deliver(job([`r${i}@one.test`]));
      assert.equal(o!.status, "delivered");
      // No DSN at this server: a success report would say "relayed".
      assert.equal(o!.dsnPassedOn, undefined);
      assert.equal(o!.remoteMta, "one.test");
    }
    assert.equal(s.connections, 1);
    assert.equal(s.lines.filter((l) => l === "RSET").length, 2);
    assert.deepEqual(s.transactions.map((x) => x.rcpts), [["r0@one.test"], ["r1@one.test"], ["r2@one.test"]]);
    await t.close();
    assert.ok(s.lines.includes("QUIT"), "idle connections are QUIT at close");
  });

  test("a kept connection the server closed meanwhile: a new one, transparently", async () => {
    const s = await sink({
      onLine: (l, c) => {
        if (l === ".") setTimeout(() => c.socket.destroy(), 10);
        return undefined;
      },
    });
    const t = transport(s.port, resolver({}, { "x.test": ["127.0.0.1"] }));
    assert.equal((await t.deliver(job(["a@x.test"])))[0]!.status, "delivered");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await t.deliver(job(["b@x.test"])))[0]!.status, "delivered");
    assert.equal(s.connections, 2);
    assert.equal(s.transactions.length, 2);
    await t.close();
  });

  test("recipients of one message at one domain: one transaction; at two domains: one each", async () => {
    const s = await sink();
    const t = transport(s.port, resolver({}, { "a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"] }));
    const out = await t.deliver(job(["1@a.test", "2@b.test", "3@a.test"]));
    assert.deepEqual(out.map((o) => [o.idx, o.status]).sort(), [[0, "delivered"], [1, "delivered"], [2, "delivered"]]);
    assert.deepEqual(s.transactions.map((x) => x.rcpts.join(",")).sort(), ["1@a.test,3@a.test", "2@b.test"]);
    await t.close();
  });

  test("the queue row's DSN parameters (envelope and recipients) go on the wire", async () => {
    const s = await sink({ ehlo: ["sink.test", "PIPELINING", "DSN", "SIZE 0"] });
    const t = transport(s.port, resolver({}, { "x.test": ["127.0.0.1"] }));
    const j = job(["u@x.test"]);
    j.message.envelope = { mail: { ret: "FULL", envid: "abc=1" } };
    j.recipients[0]!.dsn = { notify: ["FAILURE", "DELAY"], orcpt: { type: "rfc822", address: "u@x.test" } };
    const [o] = await t.deliver(j);
    assert.equal(o!.status, "delivered");
    // RFC 3461 5.2.1: the server took the DSN request over; it reports success, not us.
    assert.equal(o!.dsnPassedOn, true);
    assert.equal(o!.remoteMta, "x.test");
    assert.ok(s.lines.includes("MAIL FROM:<a@petrel.test> SIZE=21 RET=FULL ENVID=abc+3D1"), s.lines.join("|"));
    assert.ok(s.lines.includes("RCPT TO:<u@x.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;u@x.test"), s.lines.join("|"));
    await t.close();
  });

  test("more than 100 recipients at one domain: transactions of at most 100", async () => {
    const s = await sink();
    const t = transport(s.port, resolver({}, { "many.test": ["127.0.0.1"] }));
    const rcpts = Array.from({ length: 150 }, (_, i) => `r${i}@many.test`);
    const out = await t.deliver(job(rcpts));
    assert.equal(out.filter((o) => o.status === "delivered").length, 150);
    assert.deepEqual(s.transactions.map((x) => x.rcpts.length).sort((a, b) => a - b), [50, 100]);
    await t.close();
  });

  test("a 554 greeting from every MX fails; a 421 is retried", async () => {
    const bad = await sink({ greeting: "554 5.7.1 No service" });
    const t1 = transport(bad.port, resolver({}, { "x.test": ["127.0.0.1"] }));
    const [o1] = await t1.deliver(job(["u@x.test"]));
    assert.equal(o1!.status, "failed");
    assert.match(o1!.reply, /^554 5\.7\.1 No service/);
    assert.equal(o1!.remoteMta, "x.test");
    const busy = await sink({ greeting: "421 4.3.2 Busy" });
    const t2 = transport(busy.port, resolver({}, { "x.test": ["127.0.0.1"] }));
    const [o2] = await t2.deliver(job(["u@x.test"]));
    assert.equal(o2!.status, "retry");
    assert.match(o2!.reply, /^421 4\.3\.2 Busy/);
    await Promise.all([t1.close(), t2.close()]);
  });

  test("nothing listening at any MX: retry with the connection error", async () => {
    const s = await sink();
    const port = s.port;
    await s.close();
    const t = transport(port, resolver({ "x.test": [{ exchange: "m1.x.test", priority: 1 }, { exchange: "m2.x.test", priority: 2 }] }, { "m1.x.test": ["127.0.0.1"], "m2.x.test": ["127.0.0.4"] }));
    const [o] = await t.deliver(job(["u@x.test"]));
    assert.equal(o!.status, "retry");
    assert.match(o!.reply, /^451 4\.4\.1 m2\.x\.test\[127\.0\.0\.4\]:\d+: cannot connect .*ECONNREFUSED/);
    assert.equal(o!.remoteMta, undefined, "no server answered");
    await t.close();
  });

  test("8-bit content to a server without 8BITMIME fails with 5.6.3, nothing sent", async () => {
    const s = await sink({ ehlo: ["sink.test", "PIPELINING"] });
    const t = transport(s.port, resolver({}, { "x.test": ["127.0.0.1"] }));
    const [o] = await t.deliver(job(["u@x.test"], "Subject: x\r\n\r\nGrüße\r\n"));
    assert.equal(o!.status, "failed");
    assert.match(o!.reply, /^554 5\.6\.3 /);
    assert.equal(s.transactions.length, 0);
    assert.ok(!s.lines.some((l) => l.startsWith("MAIL")));
    await t.close();
  });

  test("STARTTLS answered together with injected plaintext: refused (CVE-2011-0411)", async () => {
    const s = await sink({ ehlo: ["sink.test", "STARTTLS"], onLine: (l) => (l === "STARTTLS" ? "220 2.0.0 go ahead\r\n250 injected" : undefined) });
    const t = transport(s.port, resolver({}, { "x.test": ["127.0.0.1"] }));
    const [o] = await t.deliver(job(["u@x.test"]));
    assert.equal(o!.status, "retry");
    assert.match(o!.reply, /after its STARTTLS reply/);
    assert.equal(s.transactions.length, 0);
    await t.close();
  });

  test("TLS required by policy and not offered: no delivery, retried", async () => {
    const s = await sink();
    const t = transport(s.port, resolver({}, { "x.test": ["127.0.0.1"] }), { tlsPolicies: { "x.test": "require" } });
    const [o] = await t.deliver(job(["u@x.test"]));
    assert.equal(o!.status, "retry");
    assert.match(o!.reply, /^451 4\.7\.10 .*does not offer STARTTLS/);
    assert.equal(s.transactions.length, 0);
    await t.close();
  });

  test("no reply to the final dot: retried (the data timeout), the connection dropped", async () => {
    const s = await sink({ onLine: (l) => (l === "." ? "" : undefined) });
    const t = transport(s.port, resolver({}, { "x.test": ["127.0.0.1"] }));
    const [o] = await t.deliver(job(["u@x.test"]));
    assert.equal(o!.status, "retry");
    assert.match(o!.reply, /^451 4\.4\.2 .*end of data/);
    await t.close();
  });

  test("smart host: every domain in one transaction to it, AUTH refused is retried", async () => {
    const s = await sink({ ehlo: ["relay.test", "AUTH PLAIN"], onLine: (l) => (l.startsWith("AUTH") ? "535 5.7.8 bad credentials" : undefined) });
    const t = transport(25, resolver({}, {}), { relay: { host: "127.0.0.1", port: s.port, tls: "none", verify: false, auth: { user: "u", password: "p" } } });
    const out = await t.deliver(job(["1@a.test", "2@b.test"]));
    assert.deepEqual(out.map((o) => o.status), ["retry", "retry"]);
    assert.match(out[0]!.reply, /^451 4\.7\.0 .*refused our credentials: 535 5\.7\.8 bad credentials/);
    const ok = await sink({ ehlo: ["relay.test", "AUTH LOGIN PLAIN"], onLine: (l) => (l.startsWith("AUTH") ? "235 2.7.0 ok" : undefined) });
    const t2 = transport(25, resolver({}, {}), { relay: { host: "127.0.0.1", port: ok.port, tls: "none", verify: false, auth: { user: "u", password: "p" } } });
    const out2 = await t2.deliver(job(["1@a.test", "2@b.test"]));
    assert.deepEqual(out2.map((o) => o.status), ["delivered", "delivered"]);
    assert.deepEqual(ok.transactions.map((x) => x.rcpts), [["1@a.test", "2@b.test"]]);
    await Promise.all([t.close(), t2.close()]);
  });
});

describe("remote transport shutdown", () => {
  test("close(): deliveries in progress get the grace period, then their connections are dropped and retried", async () => {
    // A server that greets and then never answers MAIL.
    const s = await startSink({ onLine: (l) => (l.startsWith("MAIL") ? "" : undefined) });
    const t = transport(s.port, resolver({}, { "x.test": ["127.0.0.1"] }), { timeouts: { ...T, mail: 60_000 } });
    const pending = t.deliver(job(["u@x.test"]));
    await new Promise((r) => setTimeout(r, 100));
    await t.close(50);
    const [o] = await pending;
    assert.equal(o!.status, "retry");
    assert.match(o!.reply, /^451 4\.4\.1 .*connection closed/);
    // After close, nothing new starts.
    const [n] = await t.deliver(job(["v@x.test"]));
    assert.match(n!.reply, /^451 4\.3\.2 /);
    await s.close();
  });
});
