/**
 * Outbound delivery end to end: a second Petrel is the remote MTA for remote.test (and a few
 * other domains), a loopback DNS server serves their MX and A records, and messages queued at
 * the first Petrel arrive in the second one's mailboxes byte for byte, under its Received:.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { memoryLogger, type LogEntry } from "../helpers/memory-log.js";
import { waitFor } from "../helpers/wait.js";
import nodemailer from "nodemailer";
import { hashPassword } from "../../src/auth/password.js";
import type { ConfigInput } from "../../src/config/schema.js";

const SHORT_TIMEOUTS = { greeting: "5s", mail: "5s", rcpt: "5s", dataInit: "5s", dataBlock: "5s", dataFinal: "10s" };
const PASSWORD = "relay-secret-1";

/** The remote mailbox's messages: [full delivered bytes]. */
async function mailbox(server: TestServer, address: string): Promise<Buffer[]> {
  const account = await server.petrel.store.directory.getAccount(address);
  assert.ok(account, `no account ${address}`);
  const box = await server.petrel.store.mailstore.getMailbox(account.id, "INBOX");
  if (!box) return [];
  const out: Buffer[] = [];
  for (const m of await server.petrel.store.mailstore.listMessages(box.id)) {
    const blob = await server.petrel.store.mailstore.blob(m.blobId);
    out.push(blob!);
  }
  return out;
}

function waitForMail(server: TestServer, address: string, n = 1): Promise<Buffer[]> {
  return waitFor(`${n} message(s) for ${address}`, async () => {
    const list = await mailbox(server, address);
    return list.length >= n ? list : null;
  });
}

/** Split the receiving server's Received: header (the first field) from the rest. */
function splitReceived(blob: Buffer): { received: string; rest: Buffer } {
  assert.equal(blob.subarray(0, 10).toString("latin1"), "Received: ");
  let end = blob.indexOf("\r\n") + 2;
  while (blob[end] === 0x09) end = blob.indexOf("\r\n", end) + 2;
  return { received: blob.subarray(0, end).toString("utf8"), rest: blob.subarray(end) };
}

function message(subject: string, extra = "", from = "sender@petrel.test"): Buffer {
  return Buffer.from(`From: <${from}>\r\nTo: <user@remote.test>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@petrel.test>\r\n\r\nHello from the outbound test.\r\n.leading dot stays\r\n..two dots\r\n${extra}`);
}

/** The scheduler's "delivery" log lines for a recipient. */
function deliveries(log: LogEntry[], rcpt: string): LogEntry[] {
  return log.filter((e) => e.event === "delivery" && e.rcpt === rcpt);
}

function waitForOutcome(log: LogEntry[], rcpt: string, status: string): Promise<LogEntry> {
  return waitFor(`${status} for ${rcpt}`, async () => deliveries(log, rcpt).find((e) => e.status === status));
}

describe("outbound delivery to another Petrel", () => {
  let dns: TestDnsServer;
  let remote: TestServer;
  let sender: TestServer;
  let relaySender: TestServer;
  let plainRelaySender: TestServer;
  let tlsRelaySender: TestServer;
  let log: LogEntry[];
  let relayLog: LogEntry[];

  const queue = (s: TestServer, rcpts: string[], body: Buffer, mail: Record<string, unknown> = {}, from = "sender@petrel.test") => {
    const id = s.petrel.queue.submit(from, rcpts, body, { smtputf8: false, requireTls: false, ...mail }, { listener: "test", helo: "test" });
    void id.then(() => s.petrel.scheduler.wake());
    return id;
  };

  before(async () => {
    dns = await startDnsServer({
      "remote.test": { MX: [{ exchange: "mx1.remote.test", priority: 10 }] },
      "mx1.remote.test": { A: ["127.0.0.1"] },
      "nullmx.test": { MX: [{ exchange: ".", priority: 0 }] },
      // The first MX refuses connections (nothing listens on 127.0.0.2 at that port); the second takes the mail.
      "fallback.test": { MX: [{ exchange: "dead.fallback.test", priority: 5 }, { exchange: "mx1.remote.test", priority: 20 }] },
      "dead.fallback.test": { A: ["127.0.0.2"] },
      // No MX: the domain's own A record (implicit MX).
      "implicit.test": { A: ["127.0.0.1"] },
      // An IDN domain, looked up by its A-labels.
      "xn--bcher-kva.test": { MX: [{ exchange: "mx1.remote.test", priority: 10 }] },
      // TLS policy "verify": the remote's self-signed certificate will not do.
      "strict.test": { MX: [{ exchange: "mx1.remote.test", priority: 10 }] },
    });
    remote = await startServer({ domains: ["remote.test", "fallback.test", "implicit.test", "relayonly.test", "bücher.test"], catchAll: false, deliver: true });
    const dir = remote.petrel.store.directory;
    for (const a of ["user", "u2", "u3", "reuse", "sub"]) await dir.addAccount({ address: `${a}@remote.test`, passwordHash: "!" });
    await dir.addAccount({ address: "full@remote.test", passwordHash: "!", quota: 0 });
    await dir.addAccount({ address: "user@fallback.test", passwordHash: "!" });
    await dir.addAccount({ address: "user@implicit.test", passwordHash: "!" });
    await dir.addAccount({ address: "jürgen@bücher.test", passwordHash: "!" });
    await dir.addAccount({ address: "user@relayonly.test", passwordHash: "!" });
    await dir.addAccount({ address: "plain@relayonly.test", passwordHash: "!" });
    await dir.addAccount({ address: "tls@relayonly.test", passwordHash: "!" });
    await dir.addAccount({ address: "relay@remote.test", passwordHash: await hashPassword(PASSWORD) });

    const outbound = (extra: Partial<NonNullable<ConfigInput["outbound"]>> = {}): Partial<ConfigInput> => ({
      dns: { servers: [dns.server] },
      outbound: { port: remote.port("smtp"), timeouts: SHORT_TIMEOUTS, connectTimeout: "2s", idleConnectionTime: "3s", ...extra },
      delivery: { retryDelays: ["1h"] },
    });
    const l1 = memoryLogger();
    log = l1.entries;
    sender = await startServer({ deliver: true, log: l1, overrides: outbound({ maxConnectionsPerDestination: 1, tlsPolicies: { "strict.test": "verify", "implicit.test": "require" } }) });
    await sender.petrel.store.directory.addAccount({ address: "anna@petrel.test", passwordHash: await hashPassword(PASSWORD) });
    const l2 = memoryLogger();
    relayLog = l2.entries;
    relaySender = await startServer({
      deliver: true,
      log: l2,
      overrides: outbound({ relayHost: `127.0.0.1:${remote.port("submission")}`, relayTls: "starttls", relayVerifyCertificate: false, relayAuth: { user: "relay@remote.test", password: PASSWORD } }),
    });
    tlsRelaySender = await startServer({
      deliver: true,
      overrides: outbound({ relayHost: `127.0.0.1:${remote.port("submissions")}`, relayTls: "tls", relayVerifyCertificate: false, relayAuth: { user: "relay@remote.test", password: PASSWORD } }),
    });
    plainRelaySender = await startServer({ deliver: true, overrides: outbound({ relayHost: `127.0.0.1:${remote.port("smtp")}`, relayTls: "none" }) });
  });

  after(async () => {
    if (process.env.OUTBOUND_DEBUG) for (const e of [...log, ...relayLog]) if (String(e.event ?? "").match(/outbound|delivery/)) console.error(JSON.stringify(e));
    await Promise.all([sender?.stop(), relaySender?.stop(), plainRelaySender?.stop(), tlsRelaySender?.stop()]);
    await remote?.stop();
    await dns?.close();
  });

  test("a message arrives byte for byte, over STARTTLS, under the remote's Received:", async () => {
    const body = message("first");
    await queue(sender, ["user@remote.test"], body);
    const [blob] = await waitForMail(remote, "user@remote.test");
    const { received, rest } = splitReceived(blob!);
    assert.ok(rest.equals(body), `delivered bytes differ:\n${JSON.stringify(rest.toString("latin1"))}`);
    // RFC 3207: STARTTLS was offered and used; the remote recorded it.
    assert.match(received, /with ESMTPS id/);
    assert.match(received, /\(using TLSv1\.[23] with cipher /);
    assert.match(received, /^Received: from mx\.petrel\.test \(\[127\.0\.0\.1\]\)/);
    const session = log.find((e) => e.event === "outbound-session");
    assert.ok(session, "the session was logged");
    assert.match(String(session.tls), /^TLSv1\.[23] /);
    // A self-signed certificate: delivered anyway (opportunistic), and recorded as not verified.
    assert.equal(session.verified, false);
    await waitForOutcome(log, "user@remote.test", "delivered");
  });

  test("submitted over SMTP (nodemailer, AUTH): the remote's copy is ours plus its Received:", async () => {
    const raw = Buffer.from("From: <anna@petrel.test>\r\nTo: <sub@remote.test>\r\nSubject: submitted\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <submitted@petrel.test>\r\n\r\nVia submission.\r\n.dot\r\n");
    const t = nodemailer.createTransport({ host: "127.0.0.1", port: sender.port("submission"), secure: false, requireTLS: true, name: "client.test", tls: { rejectUnauthorized: false }, auth: { user: "anna@petrel.test", pass: PASSWORD } });
    const info = await t.sendMail({ envelope: { from: "anna@petrel.test", to: ["sub@remote.test"] }, raw });
    t.close();
    const id = /queued as (\w+)/.exec(info.response)![1]!;
    const [blob] = await waitForMail(remote, "sub@remote.test");
    const { received, rest } = splitReceived(blob!);
    assert.match(received, /^Received: from mx\.petrel\.test /);
    // What the first Petrel queued: its own Received: (naming the queue id), then the client's bytes.
    const ours = splitReceived(rest);
    assert.match(ours.received, new RegExp(`^Received: from client\\.test .* with ESMTPSA id ${id}`, "s"));
    assert.ok(ours.rest.equals(raw), JSON.stringify(ours.rest.toString()));
  });

  test("8-bit content and DSN parameters are taken by the remote, the content intact", async () => {
    const body = message("eight bit", "Grüße aus Köln\r\n");
    await queue(sender, ["u2@remote.test"], body, { body: "8BITMIME", ret: "HDRS", envid: "env id+1" });
    const [blob] = await waitForMail(remote, "u2@remote.test");
    assert.ok(splitReceived(blob!).rest.equals(body));
  });

  test("SMTPUTF8: a UTF-8 address and UTF-8 header fields arrive intact", async () => {
    const body = Buffer.from("From: <anna@petrel.test>\r\nTo: <jürgen@bücher.test>\r\nSubject: Grüße\r\n\r\nHallo Jürgen\r\n");
    await queue(sender, ["jürgen@bücher.test"], body, { smtputf8: true, body: "8BITMIME" });
    const [blob] = await waitForMail(remote, "jürgen@bücher.test");
    const { received, rest } = splitReceived(blob!);
    assert.ok(rest.equals(body));
    assert.match(received, /with UTF8SMTPS id/);
  });

  test("several recipients at one domain go in one transaction", async () => {
    const body = message("three at once");
    await queue(sender, ["user@remote.test", "u2@remote.test", "u3@remote.test"], body);
    const [m] = await waitForMail(remote, "u3@remote.test");
    assert.ok(splitReceived(m!).rest.equals(body));
    const tx = await waitFor("the transaction log", async () => log.find((e) => e.event === "outbound" && Array.isArray(e.results) && e.results.length === 3));
    assert.deepEqual(
      (tx.results as { rcpt: string; status: string }[]).map((r) => [r.rcpt, r.status]),
      [
        ["user@remote.test", "delivered"],
        ["u2@remote.test", "delivered"],
        ["u3@remote.test", "delivered"],
      ],
    );
    // No per-recipient "for <...>" in the remote's Received: with several recipients.
    assert.doesNotMatch(splitReceived(m!).received, /for </);
  });

  test("a 4xx from the remote defers the recipient with the reply stored", async () => {
    const id = await queue(sender, ["full@remote.test"], message("over quota"));
    const entry = await waitFor("the deferral", async () => {
      const e = await sender.petrel.store.queue.get(id);
      return e && e.recipients[0]!.state === "deferred" ? e : null;
    });
    assert.match(entry.recipients[0]!.lastReply!, /^452 4\.2\.2 /);
  });

  test("a 5xx from the remote fails the recipient with the remote's reply", async () => {
    await queue(sender, ["nobody@remote.test", "u3@remote.test"], message("unknown user"));
    const failed = await waitForOutcome(log, "nobody@remote.test", "failed");
    assert.match(String(failed.reply), /^550 5\.1\.1 /);
    await waitForOutcome(log, "u3@remote.test", "delivered");
  });

  test("a null MX fails at once with 5.1.10, without a connection", async () => {
    const before = log.filter((e) => e.event === "outbound-session").length;
    await queue(sender, ["someone@nullmx.test"], message("null mx"));
    const failed = await waitForOutcome(log, "someone@nullmx.test", "failed");
    assert.match(String(failed.reply), /^556 5\.1\.10 /);
    assert.equal(log.filter((e) => e.event === "outbound-session").length, before);
  });

  test("a domain that does not exist fails; one with DNS trouble is retried", async () => {
    dns.fail("broken.test", "SERVFAIL");
    await queue(sender, ["a@nxdomain.test", "b@broken.test"], message("dns"));
    assert.match(String((await waitForOutcome(log, "a@nxdomain.test", "failed")).reply), /^550 5\.1\.2 /);
    assert.match(String((await waitForOutcome(log, "b@broken.test", "deferred")).reply), /^451 4\.4\.3 /);
  });

  test("when the first MX refuses connections, the second takes the mail", async () => {
    const body = message("fallback");
    await queue(sender, ["user@fallback.test"], body);
    const [blob] = await waitForMail(remote, "user@fallback.test");
    assert.ok(splitReceived(blob!).rest.equals(body));
    assert.ok(log.some((e) => e.event === "outbound-connect" && String(e.server).startsWith("dead.fallback.test[127.0.0.2]")), "the first MX was tried");
  });

  test("a domain without MX gets its A record (implicit MX); TLS policy require is met", async () => {
    const body = message("implicit");
    await queue(sender, ["user@implicit.test"], body);
    const [blob] = await waitForMail(remote, "user@implicit.test");
    assert.ok(splitReceived(blob!).rest.equals(body));
    assert.match(splitReceived(blob!).received, /with ESMTPS id/);
  });

  test("TLS policy verify: an unverifiable certificate defers, nothing is sent", async () => {
    const id = await queue(sender, ["user@strict.test"], message("strict"));
    const entry = await waitFor("the deferral", async () => {
      const e = await sender.petrel.store.queue.get(id);
      return e && e.recipients[0]!.state === "deferred" ? e : null;
    });
    assert.match(entry.recipients[0]!.lastReply!, /^451 4\.7\.10 mx1\.remote\.test\[127\.0\.0\.1\]:\d+: the server's certificate is not valid: DEPTH_ZERO_SELF_SIGNED_CERT/);
  });

  test("messages to one destination reuse one connection", async () => {
    // Let earlier idle connections expire out of the count: only new sessions matter.
    const before = log.filter((e) => e.event === "outbound-session").length;
    const ids = await Promise.all([1, 2, 3].map((n) => queue(sender, ["reuse@remote.test"], message(`reuse ${n}`))));
    assert.equal(ids.length, 3);
    await waitForMail(remote, "reuse@remote.test", 3);
    const sessions = log.filter((e) => e.event === "outbound-session").length - before;
    // maxConnectionsPerDestination is 1 here: at most one new connection (none if one was still open).
    assert.ok(sessions <= 1, `expected one connection, saw ${sessions}`);
  });

  test("a smart host with STARTTLS and AUTH takes everything", async () => {
    const body = message("via smart host", "", "relay@remote.test");
    // relayonly.test has no DNS at all: only the smart host can deliver it.
    // The smart host lets its user send as its own address only (submission sender policy).
    await queue(relaySender, ["user@relayonly.test"], body, {}, "relay@remote.test");
    const [blob] = await waitForMail(remote, "user@relayonly.test");
    const { received, rest } = splitReceived(blob!);
    // A submission server may add header fields (RFC 6409 8); our bytes follow them unchanged.
    assert.ok(rest.subarray(rest.length - body.length).equals(body), JSON.stringify(rest.toString("latin1")));
    // RFC 3848: ESMTPSA = TLS and AUTH.
    assert.match(received, /with ESMTPSA id/);
    const session = relayLog.find((e) => e.event === "outbound-session");
    assert.equal(session?.authenticated, true);
  });

  test("a smart host with TLS from the start (port 465 style) and AUTH", async () => {
    const body = message("via implicit TLS", "", "relay@remote.test");
    await queue(tlsRelaySender, ["tls@relayonly.test"], body, {}, "relay@remote.test");
    const [blob] = await waitForMail(remote, "tls@relayonly.test");
    const { received, rest } = splitReceived(blob!);
    assert.ok(rest.subarray(rest.length - body.length).equals(body));
    assert.match(received, /with ESMTPSA id/);
  });

  test("a smart host without TLS or AUTH", async () => {
    const body = message("plain smart host");
    await queue(plainRelaySender, ["plain@relayonly.test"], body);
    const [blob] = await waitForMail(remote, "plain@relayonly.test");
    const { received, rest } = splitReceived(blob!);
    assert.ok(rest.equals(body));
    assert.match(received, /with ESMTP id/);
  });
});
