/**
 * mbsync (isync) syncs an account's mailboxes from Petrel over IMAPS into a local Maildir:
 * every message arrives byte for byte, flags become Maildir flags, and a second run after a
 * change on the server (a new delivery, a flag) transfers only that.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { hashPassword } from "../../src/auth/password.js";
import { deliver, fullMessage, inbox } from "../helpers/pop3.js";

const run = promisify(execFile);
const PASSWORD = "mbsync password";
const haveMbsync = existsSync("/usr/bin/mbsync");

const unix = (b: Buffer) => Buffer.from(b.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
/** mbsync adds an X-TUID: header field (its own bookkeeping) to the files it writes. */
const withoutTuid = (b: Buffer) => Buffer.from(b.toString("latin1").replace(/^X-TUID: [^\n]*\n/m, ""), "latin1");

function maildirFiles(dir: string): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  for (const sub of ["cur", "new"]) {
    const d = join(dir, sub);
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) out.push({ name, data: withoutTuid(readFileSync(join(d, name))) });
  }
  return out;
}

describe("IMAP with mbsync (isync)", { skip: haveMbsync ? false : "mbsync is not installed (Debian package isync; .ci/run installs it)" }, () => {
  let server: TestServer;
  let home: string;
  let rc: string;

  before(async () => {
    server = await startServer({ deliver: true, catchAll: false });
    await server.petrel.store.directory.addAccount({ address: "mia@petrel.test", passwordHash: await hashPassword(PASSWORD) });
    await deliver(server, "mia@petrel.test", "From: a@client.test\r\nTo: mia@petrel.test\r\nSubject: one\r\n\r\nfirst body\r\n", 1);
    await deliver(server, "mia@petrel.test", "From: b@client.test\r\nTo: mia@petrel.test\r\nSubject: two\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nsecond body, caf\u00e9\r\n", 2);
    home = tempDir("petrel-mbsync-");
    mkdirSync(join(home, "Mail"), { recursive: true });
    rc = join(home, "mbsyncrc");
    writeFileSync(
      rc,
      [
        "IMAPAccount petrel",
        "Host 127.0.0.1",
        `Port ${server.port("imaps")}`,
        "User mia@petrel.test",
        `Pass "${PASSWORD}"`,
        "SSLType IMAPS",
        "SystemCertificates no",
        `CertificateFile ${join(server.dataDir, "tls", "selfsigned.crt")}`,
        "",
        "IMAPStore petrel-remote",
        "Account petrel",
        "",
        "MaildirStore petrel-local",
        `Path ${join(home, "Mail")}/`,
        `Inbox ${join(home, "Mail", "INBOX")}`,
        "SubFolders Verbatim",
        "",
        "Channel petrel",
        "Far :petrel-remote:",
        "Near :petrel-local:",
        "Patterns *",
        "Create Near",
        "Sync All",
        `SyncState *`,
        "",
      ].join("\n"),
    );
  });
  after(async () => server.stop());

  test("a full sync copies every mailbox and message byte for byte; a second sync brings only the change", async () => {
    await run("mbsync", ["-c", rc, "-a"], { env: { ...process.env, HOME: home } });
    const local = maildirFiles(join(home, "Mail", "INBOX"));
    const stored = await inbox(server, "mia@petrel.test");
    const expected = await Promise.all(stored.map((m) => fullMessage(server, m)));
    assert.equal(local.length, 2);
    // mbsync stores Maildir files with Unix line ends: compare with CRLF turned into LF (and
    // without the X-TUID field it adds).
    for (const e of expected) assert.ok(local.some((l) => l.data.equals(unix(e))), `a Maildir file holds exactly the message IMAP serves:\n${JSON.stringify(unix(e).toString())}\nfiles:\n${local.map((l) => JSON.stringify(l.data.toString())).join("\n")}`);
    for (const box of ["Sent", "Drafts", "Trash", "Junk", "Archive"]) assert.ok(existsSync(join(home, "Mail", box, "cur")), `${box} synced`);

    // Change on the server: a new message, and \Flagged on the first.
    await deliver(server, "mia@petrel.test", "From: c@client.test\r\nTo: mia@petrel.test\r\nSubject: three\r\n\r\nthird body\r\n", 3);
    const box = (await server.petrel.store.mailstore.getMailbox((await server.petrel.store.directory.getAccount("mia@petrel.test"))!.id, "INBOX"))!;
    await server.petrel.store.mailstore.storeFlags({ mailboxId: box.id, uids: [1], op: "add", flags: ["\\Flagged"] });
    await run("mbsync", ["-c", rc, "-a"], { env: { ...process.env, HOME: home } });
    const after = maildirFiles(join(home, "Mail", "INBOX"));
    assert.equal(after.length, 3);
    const flagged = after.filter((f) => /:2,[A-Z]*F/.test(f.name));
    assert.equal(flagged.length, 1, after.map((f) => f.name).join(" "));
    assert.ok(flagged[0]!.data.equals(unix(expected[0]!)));
  });
});
