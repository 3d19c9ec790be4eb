/**
 * Petrel's IMAP listeners driven by imapflow (the client library of many Node mail apps): login
 * over implicit TLS and STARTTLS, LIST with special-use, the structure of a multipart message
 * with attachments, SEARCH, flags, MOVE, EXPUNGE, and IDLE hearing a new delivery from SMTP.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { ImapFlow } from "imapflow";
import { POSTGRES_URL, postgresStorage, startServer, type TestServer } from "../helpers/server.js";
import { hashPassword } from "../../src/auth/password.js";
import { deliver, fullMessage, inbox } from "../helpers/pop3.js";
import { waitFor } from "../helpers/wait.js";

const PASSWORD = "imap secret 42";

const MULTIPART = [
  "From: Sender Name <sender@client.test>",
  "To: alice@petrel.test",
  "Subject: Quarterly report",
  "Message-ID: <report-1@client.test>",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="outer"',
  "",
  "--outer",
  'Content-Type: multipart/alternative; boundary="inner"',
  "",
  "--inner",
  "Content-Type: text/plain; charset=utf-8",
  "",
  "The figures are attached. Pelican.",
  "--inner",
  "Content-Type: text/html; charset=utf-8",
  "",
  "<p>The figures are <b>attached</b>.</p>",
  "--inner--",
  "",
  "--outer",
  'Content-Type: application/pdf; name="report.pdf"',
  'Content-Disposition: attachment; filename="report.pdf"',
  "Content-Transfer-Encoding: base64",
  "",
  Buffer.from("%PDF-1.4 not really a pdf\n").toString("base64"),
  "--outer",
  "Content-Type: text/csv",
  'Content-Disposition: attachment; filename="data.csv"',
  "",
  "a,b\r\n1,2",
  "--outer--",
  "",
].join("\r\n");

const ar = (st: { messages?: number }) => st.messages;

function client(server: TestServer, user: string, opts: { starttls?: boolean } = {}): ImapFlow {
  return new ImapFlow({
    host: "127.0.0.1",
    port: opts.starttls ? server.port("imap") : server.port("imaps"),
    secure: !opts.starttls,
    doSTARTTLS: opts.starttls ? true : undefined,
    auth: { user, pass: PASSWORD },
    tls: { rejectUnauthorized: false },
    logger: false,
  });
}

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`IMAP with imapflow (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL is not set: IMAP on PostgreSQL was not tested" : false }, () => {
    let server: TestServer;

    before(async () => {
      server = await startServer({ deliver: true, catchAll: false, overrides: backend === "postgres" ? postgresStorage() : {} });
      const hash = await hashPassword(PASSWORD);
      for (const u of ["alice", "bob"]) await server.petrel.store.directory.addAccount({ address: `${u}@petrel.test`, passwordHash: hash });
      await deliver(server, "alice@petrel.test", MULTIPART, 1);
      await deliver(server, "alice@petrel.test", "From: b@client.test\r\nTo: alice@petrel.test\r\nSubject: lunch\r\n\r\nSandwiches at noon?\r\n", 2);
    });
    after(async () => server.stop());

    test("LIST shows INBOX and the special-use mailboxes; STATUS counts", async () => {
      const c = client(server, "alice@petrel.test");
      await c.connect();
      try {
        const list = await c.list();
        const byUse = Object.fromEntries(list.filter((m) => m.specialUse).map((m) => [m.specialUse, m.path]));
        assert.deepEqual(byUse, { "\\Inbox": "INBOX", "\\Drafts": "Drafts", "\\Sent": "Sent", "\\Archive": "Archive", "\\Junk": "Junk", "\\Trash": "Trash" });
        const st = await c.status("INBOX", { messages: true, unseen: true, uidNext: true, uidValidity: true });
        assert.ok(st);
        assert.equal(st.messages, 2);
        assert.equal(st.unseen, 2);
        assert.equal(st.uidNext, 3);
      } finally {
        await c.logout();
      }
    });

    test("FETCH: envelope, body structure of a multipart with attachments, and the exact octets", async () => {
      const c = client(server, "alice@petrel.test", { starttls: true });
      await c.connect();
      try {
        const lock = await c.getMailboxLock("INBOX");
        try {
          const m = await c.fetchOne("1", { envelope: true, bodyStructure: true, source: true, uid: true, flags: true, size: true });
          assert.ok(m);
          assert.equal(m.uid, 1);
          assert.equal(m.envelope!.subject, "Quarterly report");
          assert.equal(m.envelope!.messageId, "<report-1@client.test>");
          assert.deepEqual(m.envelope!.from, [{ name: "Sender Name", address: "sender@client.test" }]);
          const bs = m.bodyStructure!;
          assert.equal(bs.type, "multipart/mixed");
          assert.equal(bs.childNodes!.length, 3);
          assert.equal(bs.childNodes![0]!.type, "multipart/alternative");
          assert.deepEqual(bs.childNodes![0]!.childNodes!.map((p) => p.type), ["text/plain", "text/html"]);
          assert.equal(bs.childNodes![1]!.type, "application/pdf");
          assert.equal(bs.childNodes![1]!.disposition, "attachment");
          assert.equal(bs.childNodes![1]!.dispositionParameters?.filename, "report.pdf");
          assert.equal(bs.childNodes![1]!.encoding, "base64");
          const stored = await inbox(server, "alice@petrel.test");
          const full = await fullMessage(server, stored[0]!);
          assert.ok(m.source!.equals(full), "BODY[] is the stored message, prefix included");
          assert.equal(m.size, full.length);
          // imapflow reads with BODY.PEEK: nothing was marked; the client marks it read itself.
          assert.ok(!m.flags!.has("\\Seen"));
          await c.messageFlagsAdd("1", ["\\Seen"]);
          const after = await c.fetchOne("1", { flags: true });
          assert.ok(after && after.flags!.has("\\Seen"));
          const part = await c.download("1", "2", { uid: true });
          const chunks: Buffer[] = [];
          assert.ok(part.content);
          for await (const ch of part.content) chunks.push(ch as Buffer);
          assert.equal(Buffer.concat(chunks).toString(), "%PDF-1.4 not really a pdf\n");
        } finally {
          lock.release();
        }
      } finally {
        await c.logout();
      }
    });

    test("SEARCH, STORE flags, MOVE to Archive, EXPUNGE", async () => {
      const c = client(server, "alice@petrel.test");
      await c.connect();
      try {
        const lock = await c.getMailboxLock("INBOX");
        try {
          assert.deepEqual(await c.search({ body: "pelican" }, { uid: true }), [1]);
          assert.deepEqual(await c.search({ subject: "lunch" }, { uid: true }), [2]);
          assert.deepEqual(await c.search({ seen: false }, { uid: true }), [2]);
          await c.messageFlagsAdd({ uid: "2" }, ["\\Flagged", "$Important"], { uid: true });
          const f = await c.fetchOne("2", { flags: true }, { uid: true });
          assert.ok(f && f.flags!.has("\\Flagged") && f.flags!.has("$Important"));
          assert.deepEqual(await c.search({ flagged: true }, { uid: true }), [2]);
          const moved = await c.messageMove({ uid: "1" }, "Archive", { uid: true });
          assert.ok(moved);
          assert.equal(moved.destination, "Archive");
          assert.equal(moved.uidMap?.get(1), 1);
          assert.equal(c.mailbox && typeof c.mailbox === "object" ? c.mailbox.exists : -1, 1);
          await c.messageFlagsAdd({ uid: "2" }, ["\\Deleted"], { uid: true });
          await c.messageDelete({ uid: "2" }, { uid: true });
        } finally {
          lock.release();
        }
        const st = await c.status("INBOX", { messages: true });
        assert.ok(st && ar(st) === 0);
        const archive = await c.status("Archive", { messages: true });
        assert.ok(archive && ar(archive) === 1);
      } finally {
        await c.logout();
      }
    });

    test("IDLE: a message delivered through SMTP is announced within a second or two", async () => {
      const c = client(server, "bob@petrel.test");
      await c.connect();
      try {
        const lock = await c.getMailboxLock("INBOX");
        try {
          const seen: number[] = [];
          c.on("exists", (e: { count: number }) => seen.push(e.count));
          // Enter IDLE explicitly (imapflow's own auto-IDLE waits for the lock to be released).
          const idling = c.idle();
          await new Promise((r) => setTimeout(r, 200));
          await deliver(server, "bob@petrel.test", "From: x@client.test\r\nTo: bob@petrel.test\r\nSubject: ping\r\n\r\nhello\r\n", 1);
          await waitFor("EXISTS pushed during IDLE", async () => (seen.includes(1) ? true : null), 5_000);
          // The next command ends the IDLE.
          await c.noop();
          await idling;
        } finally {
          lock.release();
        }
      } finally {
        await c.logout();
      }
    });

    test("wrong password: AUTHENTICATIONFAILED, no session", async () => {
      const c = new ImapFlow({ host: "127.0.0.1", port: server.port("imaps"), secure: true, auth: { user: "alice@petrel.test", pass: "wrong" }, tls: { rejectUnauthorized: false }, logger: false });
      await assert.rejects(c.connect(), (e: Error & { authenticationFailed?: boolean }) => e.authenticationFailed === true || /auth/i.test(e.message));
    });
  });
}
