/**
 * The MDA end to end: real clients send through SMTP, the scheduler delivers, and the copy is
 * in the right account's INBOX with the right size and parsed structure. Aliases, catch-all,
 * sub-addressing, unknown users, quota, IDN domains and UTF-8 local parts.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { POSTGRES_URL, postgresStorage, startServer, type TestServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { waitFor } from "../helpers/wait.js";
import type { Account } from "../../src/store/types.js";

const run = promisify(execFile);


async function inbox(server: TestServer, account: Account, mailbox = "INBOX") {
  const box = await server.petrel.store.mailstore.getMailbox(account.id, mailbox);
  return box ? server.petrel.store.mailstore.listMessages(box.id) : [];
}

async function waitForMessages(server: TestServer, address: string, n: number) {
  const account = (await server.petrel.store.directory.getAccount(address))!;
  return waitFor(`${n} message(s) for ${address}`, async () => {
    const list = await inbox(server, account);
    return list.length >= n ? list : null;
  });
}

async function fullMessage(server: TestServer, m: { blobId: string; prefix: Buffer }): Promise<Buffer> {
  const blob = await server.petrel.store.mailstore.blob(m.blobId);
  assert.ok(blob);
  return Buffer.concat([m.prefix, blob]);
}

async function swaks(port: number, from: string, to: string, body: string): Promise<string> {
  const { stdout } = await run("swaks", ["--server", `127.0.0.1:${port}`, "--from", from, "--to", to, "--data", body, "--hide-informational"]);
  return stdout;
}

for (const backend of ["sqlite", "postgres"] as const) {
describe(`local delivery (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL is not set: local delivery on PostgreSQL was not tested" : false }, () => {
  let server: TestServer;
  const dir = () => server.petrel.store.directory;

  before(async () => {
    const storage = backend === "postgres" ? postgresStorage() : {};
    server = await startServer({ deliver: true, catchAll: false, domains: ["petrel.test", "bücher.example", "other.test"], overrides: { ...storage, delivery: { postmaster: "admin@petrel.test" }, dns: { servers: ["127.0.0.1:9"] } } });
    // (dns: nothing answers there, so remote copies wait in the queue rather than go out.)
    await dir().addAccount({ address: "alice@petrel.test", passwordHash: "!" });
    await dir().addAccount({ address: "bob@petrel.test", passwordHash: "!" });
    await dir().addAccount({ address: "admin@petrel.test", passwordHash: "!" });
    await dir().addAccount({ address: "small@petrel.test", passwordHash: "!", quota: 2000 });
    await dir().addAccount({ address: "jürgen@bücher.example", passwordHash: "!" });
    await dir().addAccount({ address: "catch@other.test", passwordHash: "!" });
    await dir().addAlias("team@petrel.test", ["alice@petrel.test", "bob@petrel.test"]);
    await dir().addAlias("loop1@petrel.test", ["loop2@petrel.test"]);
    await dir().addAlias("loop2@petrel.test", ["loop1@petrel.test"]);
    await dir().addAlias("@other.test", ["catch@other.test"]);
    await dir().addAlias("fwd@petrel.test", ["alice@petrel.test", "someone@remote.example"]);
  });
  after(async () => server.stop());

  test("swaks to a local user: in INBOX with Return-Path, Delivered-To, size and parsed structure", async () => {
    const body = "From: Sender <sender@client.test>\r\nTo: alice@petrel.test\r\nSubject: Hello Alice\r\nMessage-ID: <one@client.test>\r\n\r\nHi there.\r\n";
    const out = await swaks(server.port("smtp"), "sender@client.test", "alice@petrel.test", body);
    const id = /queued as (\w+)/.exec(out)?.[1];
    assert.ok(id, out);
    const [m] = await waitForMessages(server, "alice@petrel.test", 1);
    const full = await fullMessage(server, m!);
    const text = full.toString("utf8");
    assert.ok(text.startsWith("Return-Path: <sender@client.test>\r\nDelivered-To: alice@petrel.test\r\nReceived: from "), text.slice(0, 200));
    // swaks ends --data with one more CRLF before the final dot.
    assert.ok(text.endsWith(body + "\r\n"), `the client's bytes follow our headers unchanged: ${JSON.stringify(text)}`);
    assert.equal(m!.size, full.length, "RFC822.SIZE = octets served");
    assert.deepEqual(m!.flags, []);
    assert.equal(m!.uid, 1);
    const parsed = (await server.petrel.store.mailstore.parsed(m!.blobId)) as { subject: string; envelope: { messageId: string } };
    assert.equal(parsed.subject, "Hello Alice");
    assert.equal(parsed.envelope.messageId, "<one@client.test>");
    // The queue no longer holds it.
    await waitFor("queue to empty", async () => (await server.petrel.store.queue.get(id!)) === null);
  });

  test("an alias delivers to each target; the body is stored once", async () => {
    const c = await SmtpClient.open(server.port("smtp"));
    await c.expect("EHLO client.test", 250);
    await c.expect("MAIL FROM:<x@client.test>", 250);
    await c.expect("RCPT TO:<team@petrel.test>", 250);
    await c.expect("DATA", 354);
    await c.expect("Subject: team\r\n\r\nfor the team\r\n.", 250);
    await c.expect("QUIT", 221);
    const [a] = (await waitForMessages(server, "alice@petrel.test", 2)).slice(-1);
    const [b] = await waitForMessages(server, "bob@petrel.test", 1);
    assert.equal(a!.blobId, b!.blobId, "one blob shared by both copies");
    assert.match(a!.prefix.toString(), /Delivered-To: alice@petrel.test/);
    assert.match(b!.prefix.toString(), /Delivered-To: bob@petrel.test/);
  });

  test("an alias with a remote target: the local copy is delivered, the remote one queued again", async () => {
    const before = (await inbox(server, (await dir().getAccount("alice@petrel.test"))!)).length;
    const out = await swaks(server.port("smtp"), "orig@client.test", "fwd@petrel.test", "Subject: forward me\r\n\r\nx\r\n");
    const id = /queued as (\w+)/.exec(out)![1]!;
    await waitForMessages(server, "alice@petrel.test", before + 1);
    const forwarded = await waitFor("the forwarded copy in the queue", async () => (await server.petrel.store.queue.list()).find((e) => e.id !== id && e.recipients.some((r) => r.address === "someone@remote.example")));
    // SRS (delivery/srs.ts): the forwarded copy's envelope sender is at the forwarding domain.
    assert.match(forwarded.sender, /^SRS0=[A-Z2-7]{8}=[A-Z2-7]{2}=client\.test=orig@petrel\.test$/);
    assert.ok((await server.petrel.queue.body(forwarded.id))!.toString().includes("Subject: forward me"));
    await waitFor("the original to leave the queue", async () => (await server.petrel.store.queue.get(id)) === null);
  });

  test("sub-addressing: alice+news@ goes to alice", async () => {
    const before = (await inbox(server, (await dir().getAccount("alice@petrel.test"))!)).length;
    await swaks(server.port("smtp"), "n@client.test", "alice+news@petrel.test", "Subject: tagged\r\n\r\nx\r\n");
    const list = await waitForMessages(server, "alice@petrel.test", before + 1);
    assert.match((await fullMessage(server, list.at(-1)!)).toString(), /Subject: tagged/);
  });

  test("unknown users are refused at RCPT with 550 5.1.1; a catch-all takes any address of its domain", async () => {
    const c = await SmtpClient.open(server.port("smtp"));
    await c.expect("EHLO client.test", 250);
    await c.expect("MAIL FROM:<x@client.test>", 250);
    const r = await c.cmd("RCPT TO:<nobody@petrel.test>");
    assert.equal(r.code, 550);
    assert.equal(r.enhanced, "5.1.1");
    const loop = await c.cmd("RCPT TO:<loop1@petrel.test>");
    assert.equal(loop.code, 554, "alias loop refused");
    await c.expect("RCPT TO:<whoever@other.test>", 250);
    await c.expect("DATA", 354);
    await c.expect("Subject: catch\r\n\r\nx\r\n.", 250);
    await c.expect("QUIT", 221);
    await waitForMessages(server, "catch@other.test", 1);
  });

  test("postmaster@ and abuse@ of every local domain reach the configured administrator", async () => {
    const c = await SmtpClient.open(server.port("smtp"));
    await c.expect("EHLO client.test", 250);
    await c.expect("MAIL FROM:<x@client.test>", 250);
    await c.expect("RCPT TO:<postmaster@xn--bcher-kva.example>", 250);
    await c.expect("RCPT TO:<ABUSE@petrel.test>", 250);
    await c.expect("RCPT TO:<Postmaster>", 250);
    await c.expect("DATA", 354);
    await c.expect("Subject: to postmaster\r\n\r\nx\r\n.", 250);
    await c.expect("QUIT", 221);
    const list = await waitForMessages(server, "admin@petrel.test", 1);
    assert.equal(list.length, 1, "one copy for the admin, however many role addresses it was sent to");
  });

  test("IDN domain (U-label or A-label) and a UTF-8 local part", async () => {
    const c = await SmtpClient.open(server.port("smtp"));
    await c.expect("EHLO client.test", 250);
    await c.expect("MAIL FROM:<x@client.test> SMTPUTF8", 250);
    await c.expect("RCPT TO:<jürgen@xn--bcher-kva.example>", 250);
    await c.expect("DATA", 354);
    await c.expect("Subject: idn\r\n\r\nx\r\n.", 250);
    await c.expect("MAIL FROM:<x@client.test> SMTPUTF8", 250);
    await c.expect("RCPT TO:<JÜRGEN@bücher.example>", 250);
    await c.expect("DATA", 354);
    await c.expect("Subject: idn2\r\n\r\nx\r\n.", 250);
    await c.expect("QUIT", 221);
    await waitForMessages(server, "jürgen@bücher.example", 2);
  });

  test("quota: an account over quota gets 452 4.2.2 at RCPT; delivery never exceeds the quota", async () => {
    const big = "Subject: big\r\n\r\n" + ("x".repeat(74) + "\r\n").repeat(20);
    await swaks(server.port("smtp"), "q@client.test", "small@petrel.test", big);
    const [m] = await waitForMessages(server, "small@petrel.test", 1);
    // The server caches directory lookups for up to a second: wait for the fresh usage.
    const small = await waitFor("usage to count the message", async () => {
      const a = await dir().getAccount("small@petrel.test");
      return a && a.usedBytes === m!.size ? a : null;
    });
    // The next message does not fit: accepted at RCPT (usage < quota) but deferred at delivery.
    const c = await SmtpClient.open(server.port("smtp"));
    await c.expect("EHLO client.test", 250);
    await c.expect("MAIL FROM:<q@client.test>", 250);
    await c.expect("RCPT TO:<small@petrel.test>", 250);
    await c.expect("DATA", 354);
    const ok = await c.expect(big + ".", 250);
    const id = /queued as (\w+)/.exec(ok.lines[0]!)![1]!;
    const entry = await waitFor("deferral", async () => {
      const e = await server.petrel.store.queue.get(id);
      return e && e.recipients[0]!.state === "deferred" ? e : null;
    });
    assert.match(entry.recipients[0]!.lastReply!, /^452 4\.2\.2/);
    assert.equal((await inbox(server, small)).length, 1);
    // Fill it up to the quota: now RCPT itself is refused.
    await server.petrel.store.directory.updateAccount("small@petrel.test", { quota: small.usedBytes });
    await c.expect("MAIL FROM:<q@client.test>", 250);
    const r = await c.cmd("RCPT TO:<small@petrel.test>");
    assert.equal(r.code, 452);
    assert.equal(r.enhanced, "4.2.2");
    await c.expect("QUIT", 221);
  });

  test("Python smtplib: several recipients in one transaction, each gets its copy once", async () => {
    const script = `
import smtplib
s = smtplib.SMTP("127.0.0.1", ${server.port("smtp")})
s.sendmail("p@client.test", ["alice@petrel.test", "bob@petrel.test", "alice+x@petrel.test"], b"Subject: py\\r\\n\\r\\nhello\\r\\n")
s.quit()
`;
    const aliceBefore = (await inbox(server, (await dir().getAccount("alice@petrel.test"))!)).length;
    const bobBefore = (await inbox(server, (await dir().getAccount("bob@petrel.test"))!)).length;
    await run("python3", ["-c", script]);
    await waitForMessages(server, "bob@petrel.test", bobBefore + 1);
    const alice = await waitForMessages(server, "alice@petrel.test", aliceBefore + 1);
    // alice@ and alice+x@ lead to one mailbox: one copy (like Postfix's duplicate filter).
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await inbox(server, (await dir().getAccount("alice@petrel.test"))!)).length, aliceBefore + 1);
    const uids = alice.map((m) => m.uid);
    assert.deepEqual(uids, [...uids].sort((x, y) => x - y), "UIDs ascend");
    assert.equal(new Set(uids).size, uids.length, "UIDs are unique");
  });
});
}

test("delivery.enabled: false makes an accept-only node: mail waits in the queue", async () => {
  const server = await startServer({ deliver: true, overrides: { delivery: { enabled: false } } });
  try {
    const out = await swaks(server.port("smtp"), "a@client.test", "someone@petrel.test", "Subject: wait\r\n\r\nx\r\n");
    const id = /queued as (\w+)/.exec(out)![1]!;
    await new Promise((r) => setTimeout(r, 500));
    const entry = await server.petrel.store.queue.get(id);
    assert.ok(entry, "still queued");
    assert.equal(entry.recipients[0]!.state, "queued");
  } finally {
    await server.stop();
  }
});
