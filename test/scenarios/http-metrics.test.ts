/**
 * The HTTP listener's /metrics after real traffic: SMTP with swaks (one message accepted and
 * delivered, refusals at RCPT), POP3 and IMAP logins (good and bad passwords) over raw sockets.
 * The exposition text is checked line by line with a strict parser, then the counters that
 * this traffic must have moved. Also: /healthz, /readyz, HEAD, 404, 405, traversal, big headers.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { POSTGRES_URL, postgresStorage, startServer, type TestServer } from "../helpers/server.js";
import { hashPassword } from "../../src/auth/password.js";
import { inbox } from "../helpers/pop3.js";
import { waitFor } from "../helpers/wait.js";
import { http, parseExposition, value, type Sample } from "../helpers/http.js";

const run = promisify(execFile);
const PASSWORD = "metrics pass 1";

/** Equality of one sample sum, showing the family's samples when it fails. */
function eq(samples: Sample[], name: string, labels: Record<string, string>, expected: number): void {
  const family = samples.filter((x) => x.name === name).map((x) => `${JSON.stringify(x.labels)} ${x.value}`);
  assert.equal(value(samples, name, labels), expected, `${name} ${JSON.stringify(labels)}:\n${family.join("\n")}`);
}

/** Send lines to a text protocol (POP3, IMAP), one after each reply line that starts with `until`. */
function converse(port: number, lines: string[], done: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port });
    let got = "";
    let next = 0;
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
      got += d;
      // One line out per complete reply line in.
      while (next < lines.length && got.split("\r\n").length - 1 > next) s.write(lines[next++] + "\r\n");
      if (done.test(got)) s.end();
    });
    s.on("close", () => resolve(got));
    s.on("error", reject);
    setTimeout(() => (s.destroy(), reject(new Error(`no end: ${got}`))), 10_000).unref();
  });
}

for (const backend of ["sqlite", "postgres"] as const) {
describe(`HTTP /metrics after real traffic (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL is not set" : false }, () => {
  let server: TestServer;
  let port: number;

  before(async () => {
    server = await startServer({ deliver: true, catchAll: false, overrides: { pop3: { allowInsecureAuth: true }, imap: { allowInsecureAuth: true }, auth: { failureDelay: "10ms", lockout: { maxFailures: 1000 } }, outbound: { relayHost: "127.0.0.1:9" }, ...(backend === "postgres" ? postgresStorage() : {}) } });
    await server.petrel.store.directory.addAccount({ address: "alice@petrel.test", passwordHash: await hashPassword(PASSWORD) });
    port = server.port("http");
  });
  after(async () => server.stop());

  test("the text format parses and the counters moved", async () => {
    const before = parseExposition((await http(port, "/metrics")).body).samples;
    assert.equal(value(before, "petrel_smtp_messages_total"), 0);

    await run("swaks", ["--server", `127.0.0.1:${server.port("smtp")}`, "--from", "sender@client.test", "--to", "alice@petrel.test", "--data", "Subject: m\r\n\r\nhello\r\n", "--hide-all"]);
    // Relaying is refused at RCPT (554 5.7.1), unknown local users too (550 5.1.1).
    await assert.rejects(run("swaks", ["--server", `127.0.0.1:${server.port("smtp")}`, "--from", "sender@client.test", "--to", "someone@elsewhere.test", "--hide-all"]));
    await assert.rejects(run("swaks", ["--server", `127.0.0.1:${server.port("smtp")}`, "--from", "sender@client.test", "--to", "nobody@petrel.test", "--hide-all"]));
    await waitFor("delivery", async () => (await inbox(server, "alice@petrel.test")).length === 1);

    const pop = await converse(server.port("pop3"), ["USER alice@petrel.test", `PASS ${PASSWORD}`, "QUIT"], /\+OK[^\r]*\r\n\+OK[^\r]*\r\n\+OK[^\r]*\r\n\+OK/);
    assert.match(pop, /\+OK/);
    const popBad = await converse(server.port("pop3"), ["USER alice@petrel.test", "PASS wrong", "QUIT"], /-ERR[^\r]*\r\n\+OK/);
    assert.match(popBad, /-ERR/);
    const imap = await converse(server.port("imap"), [`a LOGIN alice@petrel.test "${PASSWORD}"`, "b LOGOUT"], /b OK/);
    assert.match(imap, /a OK/);
    const imapBad = await converse(server.port("imap"), ["a LOGIN alice@petrel.test wrong", "b LOGOUT"], /b OK/);
    assert.match(imapBad, /a NO/);

    // Sessions are counted when they end; the last ones may still be closing.
    const after = await waitFor("sessions counted", async () => {
      const s = parseExposition((await http(port, "/metrics")).body).samples;
      return value(s, "petrel_sessions_total", { listener: "imap" }) >= 2 && value(s, "petrel_sessions_total", { listener: "smtp" }) >= 3 ? s : null;
    });
    const res = await http(port, "/metrics");
    assert.equal(res.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    const { types } = parseExposition(res.body);
    assert.equal(types.get("petrel_smtp_accept_duration_seconds"), "histogram");
    assert.equal(types.get("petrel_connections_total"), "counter");

    assert.ok(value(after, "petrel_connections_total", { listener: "smtp" }) >= 3);
    eq(after, "petrel_connections_total", { listener: "pop3" }, 2);
    eq(after, "petrel_connections_total", { listener: "imap" }, 2);
    eq(after, "petrel_connections_open", { listener: "pop3" }, 0);
    eq(after, "petrel_smtp_messages_total", { listener: "smtp", result: "accepted", code: "250" }, 1);
    eq(after, "petrel_smtp_rejections_total", { listener: "smtp", stage: "rcpt", code: "554 5.7.1" }, 1);
    eq(after, "petrel_smtp_rejections_total", { listener: "smtp", stage: "rcpt", code: "550 5.1.1" }, 1);
    eq(after, "petrel_smtp_accept_duration_seconds_count", { listener: "smtp" }, 1);
    eq(after, "petrel_delivery_attempts_total", { route: "local", result: "delivered" }, 1);
    eq(after, "petrel_delivery_latency_seconds_count", { route: "local" }, 1);
    eq(after, "petrel_delivery_attempt_duration_seconds_count", { route: "local" }, 1);
    eq(after, "petrel_auth_total", { listener: "pop3", result: "ok" }, 1);
    eq(after, "petrel_auth_total", { listener: "pop3", result: "failed" }, 1);
    eq(after, "petrel_auth_total", { listener: "imap", result: "ok" }, 1);
    eq(after, "petrel_auth_total", { listener: "imap", result: "failed" }, 1);
    assert.ok(value(after, "petrel_auth_failures_total", { protocol: "imap" }) >= 1);
    assert.ok(value(after, "petrel_sessions_total", { listener: "pop3" }) >= 2);
    // The delivered message left the queue: every state is reported, all at 0.
    for (const state of ["queued", "inflight", "deferred", "delivered", "failed"]) assert.equal(value(after, "petrel_queue_recipients", { state }), 0, state);
    assert.equal(value(after, "petrel_queue_messages"), 0);
    assert.ok(value(after, "process_resident_memory_bytes") > 1e6);
    assert.ok(value(after, "process_open_fds") > 3);
    assert.ok(value(after, "nodejs_heap_used_bytes") > 0);
    assert.ok(after.some((s) => s.name === "nodejs_eventloop_lag_seconds" && s.labels.stat === "p99"));
    assert.ok(value(after, "petrel_http_requests_total", { handler: "metrics", code: "200" }) >= 1, "earlier scrapes are counted");
  });

  test("queue sizes by state come from the store", async () => {
    // The smart host (127.0.0.1:9) refuses connections: the remote recipient is deferred.
    await server.petrel.queue.submit("a@petrel.test", ["x@remote.test"], Buffer.from("Subject: q\r\n\r\nq\r\n"), {}, { listener: "internal", helo: "t" });
    const s = await waitFor("deferred recipient", async () => {
      const x = parseExposition((await http(port, "/metrics")).body).samples;
      return value(x, "petrel_queue_recipients", { state: "deferred" }) === 1 ? x : null;
    });
    assert.equal(value(s, "petrel_queue_messages"), 1);
    assert.equal(value(s, "petrel_queue_recipients", { state: "queued" }), 0);
    assert.equal(value(s, "petrel_delivery_attempts_total", { route: "remote", result: "deferred" }), 1);
  });

  test("health, HEAD, 404, 405, traversal and bounded headers", async () => {
    assert.equal((await http(port, "/healthz")).status, 200);
    const ready = await http(port, "/readyz");
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body), { status: "ready" });
    const head = await http(port, "/metrics", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.ok(Number(head.headers["content-length"]) > 100);
    assert.equal((await http(port, "/nothing")).status, 404);
    assert.equal((await http(port, "/metrics/")).status, 404);
    assert.equal((await http(port, "/")).status, 404);
    const post = await http(port, "/metrics", { method: "POST", body: "x" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
    assert.equal((await http(port, "/../../etc/passwd")).status, 400);
    assert.equal((await http(port, "/%2e%2e/etc/passwd")).status, 400);
    assert.equal((await http(port, "/mail/..%2fconfig-v1.1.xml")).status, 400);
    assert.equal((await http(port, "/healthz", { headers: { "x-big": "a".repeat(20_000) } })).status, 431);
  });
});
}
