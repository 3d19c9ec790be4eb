/**
 * `petrel import` of a Maildir (cur/new, ":2," flags, .Sub.Folder subfolders, mtime as the
 * internal date) and of an mbox file (From_ splitting, >From unquoting, dates from the From_
 * line, Status:/X-Status: flags) into a running server's account; a second run imports nothing;
 * an IMAP client (imapflow) sees the mailboxes, the flags and the CRLF content.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ImapFlow } from "imapflow";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { petrel } from "../helpers/cli.js";
import { hashPassword } from "../../src/auth/password.js";

const USER = "alice@petrel.test";
const PASSWORD = "import me";
const FAST = { ln: 10, r: 8, p: 1 };

const msg = (n: number, subject: string) => `From: sender${n}@example.com\nTo: ${USER}\nSubject: ${subject}\nMessage-ID: <m${n}@example.com>\nDate: Mon, 2 Mar 2020 10:00:0${n} +0000\n\nBody of message ${n}.\n`;

function writeMaildir(root: string): void {
  for (const d of ["cur", "new", "tmp", ".Sub.Folder/cur", ".Sub.Folder/new", ".Sub.Folder/tmp", ".Archive/cur", ".Archive/new"]) mkdirSync(join(root, d), { recursive: true });
  const files: [string, string, number][] = [
    ["cur/1583143201.M1P1.host:2,S", msg(1, "seen"), 1583143201],
    ["cur/1583143202.M2P1.host:2,FRS", msg(2, "flagged answered seen"), 1583143202],
    ["new/1583143203.M3P1.host", msg(3, "new one"), 1583143203],
    [".Sub.Folder/cur/1583143204.M4P1.host:2,DT", msg(4, "draft deleted"), 1583143204],
    [".Archive/cur/1583143205.M5P1.host:2,", msg(5, "archived"), 1583143205],
    // Work in progress of a delivery agent: not a message yet.
    ["tmp/1583143206.M6P1.host", msg(6, "tmp"), 1583143206],
  ];
  for (const [p, text, t] of files) {
    writeFileSync(join(root, p), text);
    utimesSync(join(root, p), t, t);
  }
}

const MBOX = [
  "From alice@example.com Sat Jan  3 01:05:34 1996",
  "From: alice@example.com",
  "Subject: first",
  "Status: RO",
  "X-Status: AF",
  "",
  "Hello.",
  ">From the start of a line, quoted.",
  ">>From twice quoted.",
  "",
  "From bob@example.com Mon Nov 30 10:27:40 2026",
  "From: bob@example.com",
  "Subject: second",
  "Status: O",
  "",
  "Second body.",
  "",
].join("\n");

describe("petrel import", () => {
  let server: TestServer;
  let dir: string;
  let accountId: number;

  const imap = async <T>(fn: (c: ImapFlow) => Promise<T>): Promise<T> => {
    const c = new ImapFlow({ host: "127.0.0.1", port: server.port("imaps"), secure: true, auth: { user: USER, pass: PASSWORD }, tls: { rejectUnauthorized: false }, logger: false });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.logout();
    }
  };
  const messages = async (mailbox: string) => {
    const box = await server.petrel.store.mailstore.getMailbox(accountId, mailbox);
    assert.ok(box, `mailbox ${mailbox} exists`);
    return server.petrel.store.mailstore.listMessages(box.id);
  };

  before(async () => {
    server = await startServer();
    accountId = (await server.petrel.store.directory.addAccount({ address: USER, passwordHash: await hashPassword(PASSWORD, FAST) })).id;
    dir = tempDir("petrel-import-");
    writeMaildir(join(dir, "Maildir"));
    writeFileSync(join(dir, "old.mbox"), MBOX);
  });
  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a Maildir: folders, flags, internal dates, CRLF; a second run imports nothing", async () => {
    const r = await petrel(server.dataDir, ["import", USER, join(dir, "Maildir")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^5 message\(s\) imported, 0 skipped .* into 3 mailbox\(es\) of alice@petrel\.test/m);

    const inbox = await messages("INBOX");
    assert.deepEqual(inbox.map((m) => [...m.flags].sort()), [["\\Seen"], ["\\Answered", "\\Flagged", "\\Seen"], []]);
    assert.deepEqual(inbox.map((m) => m.internalDate), [1583143201000, 1583143202000, 1583143203000]);
    const blob = (await server.petrel.store.mailstore.blob(inbox[0]!.blobId))!.toString();
    assert.equal(blob, msg(1, "seen").replace(/\n/g, "\r\n"));
    assert.deepEqual((await messages("Sub/Folder")).map((m) => [...m.flags].sort()), [["\\Deleted", "\\Draft"]]);
    assert.deepEqual((await messages("Archive")).map((m) => m.flags), [[]]);

    const again = await petrel(server.dataDir, ["import", USER, join(dir, "Maildir"), "--format", "maildir"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^0 message\(s\) imported, 5 skipped/m);
    assert.equal((await messages("INBOX")).length, 3);
  });

  test("an mbox into --mailbox: From_ split, >From unquoted, dates and Status flags; restartable", async () => {
    const r = await petrel(server.dataDir, ["import", USER, join(dir, "old.mbox"), "--mailbox", "Old Mail"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^2 message\(s\) imported, 0 skipped/m);
    const box = await messages("Old Mail");
    assert.deepEqual(box.map((m) => m.internalDate), [Date.UTC(1996, 0, 3, 1, 5, 34), Date.UTC(2026, 10, 30, 10, 27, 40)]);
    assert.deepEqual(box.map((m) => [...m.flags].sort()), [["\\Answered", "\\Flagged", "\\Seen"], []]);
    const first = (await server.petrel.store.mailstore.blob(box[0]!.blobId))!.toString();
    assert.equal(first, "From: alice@example.com\r\nSubject: first\r\nStatus: RO\r\nX-Status: AF\r\n\r\nHello.\r\nFrom the start of a line, quoted.\r\n>From twice quoted.\r\n");
    const second = (await server.petrel.store.mailstore.blob(box[1]!.blobId))!.toString();
    assert.equal(second, "From: bob@example.com\r\nSubject: second\r\nStatus: O\r\n\r\nSecond body.\r\n");

    // An interrupted run (one message more in the file now) imports only what is missing.
    writeFileSync(join(dir, "old.mbox"), MBOX + "\nFrom carol@example.com Tue Dec  1 08:00:00 2026\nSubject: third\n\nThird.\n");
    const again = await petrel(server.dataDir, ["import", USER, join(dir, "old.mbox"), "--mailbox", "Old Mail", "--format", "mbox"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^1 message\(s\) imported, 2 skipped/m);
  });

  test("IMAP shows the imported mailboxes, flags and messages", async () => {
    await imap(async (c) => {
      const names = (await c.list()).map((b) => b.path);
      for (const n of ["INBOX", "Sub/Folder", "Archive", "Old Mail"]) assert.ok(names.includes(n), `${n} in ${names.join(", ")}`);
      const lock = await c.getMailboxLock("INBOX");
      try {
        const got: { subject?: string; flags: string[] }[] = [];
        for await (const m of c.fetch("1:*", { envelope: true, flags: true })) got.push({ subject: m.envelope?.subject, flags: [...(m.flags ?? [])].sort() });
        assert.deepEqual(got, [
          { subject: "seen", flags: ["\\Seen"] },
          { subject: "flagged answered seen", flags: ["\\Answered", "\\Flagged", "\\Seen"] },
          { subject: "new one", flags: [] },
        ]);
        const src = await c.download("3");
        const chunks: Buffer[] = [];
        for await (const ch of src.content!) chunks.push(ch as Buffer);
        assert.match(Buffer.concat(chunks).toString(), /\r\n\r\nBody of message 3\.\r\n$/);
      } finally {
        lock.release();
      }
    });
  });

  test("errors: unknown account, missing path, not a Maildir, not an mbox", async () => {
    const noAccount = await petrel(server.dataDir, ["import", "nobody@petrel.test", join(dir, "Maildir")]);
    assert.notEqual(noAccount.code, 0);
    assert.match(noAccount.stderr, /no account nobody@petrel\.test/);
    const missing = await petrel(server.dataDir, ["import", USER, join(dir, "nothing-here")]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no such file or directory/);
    mkdirSync(join(dir, "empty"));
    assert.match((await petrel(server.dataDir, ["import", USER, join(dir, "empty")])).stderr, /not a Maildir/);
    writeFileSync(join(dir, "junk.txt"), "just some text\n");
    assert.match((await petrel(server.dataDir, ["import", USER, join(dir, "junk.txt")])).stderr, /not an mbox file/);
  });
});
