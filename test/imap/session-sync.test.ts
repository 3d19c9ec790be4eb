/**
 * Several sessions on one real store (test/helpers/imap-session.ts): IDLE woken by other
 * sessions and by delivery, UID EXPUNGE, QRESYNC (VANISHED (EARLIER)), CONDSTORE
 * UNCHANGEDSINCE -> [MODIFIED], mailbox names in modified UTF-7 and UTF-8 side by side, and
 * delivered messages with their prefix headers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { imapEnv, type ImapEnv } from "../helpers/imap-session.js";

const msg = (n: number) => `Subject: m${n}\r\n\r\nbody ${n}\r\n`;
const uidValidity = async (env: ImapEnv, name = "INBOX") => (await env.mailbox(name))!.uidValidity;
const utf8 = (latin1: string) => Buffer.from(latin1, "latin1").toString("utf8");
const u8 = (s: string) => Buffer.from(s, "utf8");

async function withMessages(env: ImapEnv, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await env.deliver("INBOX", msg(i));
}

test("IDLE: another session's APPEND, STORE, EXPUNGE and MOVE are pushed at once", async (ctx) => {
  const env = await imapEnv(ctx);
  await withMessages(env, 3);
  const a = env.connect();
  const b = env.connect();
  await a.login();
  await b.login();
  await a.send("s SELECT INBOX\r\n");
  await b.send("s SELECT INBOX\r\n");
  assert.equal(await a.send("i IDLE\r\n"), "+ idling\r\n");
  // b learns of its own APPEND first, so \Recent (RFC 3501 2.3.2) is b's.
  assert.match(await b.send(`p APPEND INBOX {${msg(4).length}+}\r\n${msg(4)}\r\n`), /^\* 4 EXISTS\r\n\* 1 RECENT\r\np OK \[APPENDUID \d+ 4\] APPEND completed\r\n$/);
  await a.settle();
  assert.equal(a.take(), "* 4 EXISTS\r\n* 3 RECENT\r\n");
  assert.equal(await b.send("t STORE 2 +FLAGS.SILENT (\\Flagged \\Deleted)\r\n"), "t OK STORE completed\r\n");
  await a.settle();
  assert.equal(a.take(), "* 2 FETCH (FLAGS (\\Flagged \\Deleted \\Recent) UID 2)\r\n");
  assert.equal(await b.send("u EXPUNGE\r\n"), "* 2 EXPUNGE\r\nu OK EXPUNGE completed\r\n");
  await a.settle();
  assert.equal(a.take(), "* 2 EXPUNGE\r\n");
  assert.match(await b.send("v UID MOVE 4 Archive\r\n"), /^\* OK \[COPYUID \d+ 4 1\] Moved\r\n\* 3 EXPUNGE\r\nv OK UID MOVE completed\r\n$/);
  await a.settle();
  assert.equal(a.take(), "* 3 EXPUNGE\r\n");
  // Nothing for a when b writes to another mailbox.
  assert.match(await b.send(`w APPEND Drafts {${msg(5).length}+}\r\n${msg(5)}\r\n`), /^w OK /);
  await a.settle();
  assert.equal(a.take(), "");
  assert.equal(await a.send("DONE\r\n"), "i OK IDLE terminated\r\n");
  assert.equal(await a.send("f FETCH 1:* (UID)\r\n"), "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 3)\r\nf OK FETCH completed\r\n");
  assert.deepEqual((await env.messages("INBOX")).map((m) => m.uid), [1, 3]);
  assert.deepEqual((await env.messages("Archive")).map((m) => m.uid), [1]);
});

test("IDLE: a delivery wakes the account's sessions, not another account's; QRESYNC sessions get VANISHED", async (ctx) => {
  const env = await imapEnv(ctx);
  const other = await env.addAccount("v@x.test", "pw2");
  await withMessages(env, 2);
  const a = env.connect();
  const q = env.connect();
  const v = env.connect();
  await a.login();
  await q.login();
  await v.login("v@x.test", "pw2");
  await a.send("s SELECT INBOX\r\n");
  await q.send("e ENABLE QRESYNC\r\n");
  await q.send("s SELECT INBOX\r\n");
  await v.send("s SELECT INBOX\r\n");
  for (const t of [a, q, v]) assert.equal(await t.send("i IDLE\r\n"), "+ idling\r\n");
  await env.deliver("INBOX", msg(3));
  for (const t of [a, q, v]) await t.settle();
  assert.equal(a.take(), "* 3 EXISTS\r\n* 3 RECENT\r\n");
  assert.equal(q.take(), "* 3 EXISTS\r\n* 0 RECENT\r\n");
  assert.equal(v.take(), "");
  await env.deliver("INBOX", msg(1), {}, other);
  for (const t of [a, q, v]) await t.settle();
  assert.equal(a.take(), "");
  assert.equal(v.take(), "* 1 EXISTS\r\n* 1 RECENT\r\n");
  // Expunged elsewhere (POP3, another node): EXPUNGE for a, VANISHED for q.
  await env.storeFlags("INBOX", [1, 3], "add", ["\\Deleted"]);
  await env.expunge("INBOX", [1, 3]);
  for (const t of [a, q]) await t.settle();
  // Both writes land before the sessions look: no FETCH for messages already gone.
  assert.equal(a.take(), "* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n");
  assert.equal(q.take(), "* VANISHED 1,3\r\n");
  for (const t of [a, q, v]) assert.equal(await t.send("DONE\r\n"), "i OK IDLE terminated\r\n");
});

test("UID EXPUNGE removes only the named messages that are \\Deleted; others see it", async (ctx) => {
  const env = await imapEnv(ctx);
  await withMessages(env, 5);
  const a = env.connect();
  const b = env.connect();
  await a.login();
  await b.login();
  await a.send("s SELECT INBOX\r\n");
  await b.send("e ENABLE QRESYNC\r\n");
  await b.send("s SELECT INBOX\r\n");
  assert.equal(await a.send("a STORE 1,2,4,5 +FLAGS.SILENT (\\Deleted)\r\n"), "a OK STORE completed\r\n");
  // 3 is not \Deleted, 5 is outside the set, 9 does not exist.
  assert.equal(await a.send("b UID EXPUNGE 2:4,9\r\n"), "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\nb OK UID EXPUNGE completed\r\n");
  assert.deepEqual((await env.messages("INBOX")).map((m) => m.uid), [1, 3, 5]);
  assert.equal(await a.send("c UID EXPUNGE 2:4\r\n"), "c OK UID EXPUNGE completed\r\n");
  assert.equal(await a.send("d FETCH 1:* (UID)\r\n"), "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 3)\r\n* 3 FETCH (UID 5)\r\nd OK FETCH completed\r\n");
  // b (QRESYNC) learns the flags and the removals at its next command, as VANISHED.
  assert.equal(
    await b.send("n NOOP\r\n"),
    ["* 1 FETCH (FLAGS (\\Deleted) UID 1 MODSEQ (7))", "* 5 FETCH (FLAGS (\\Deleted) UID 5 MODSEQ (7))", "* VANISHED 2,4", "n OK NOOP completed", ""].join("\r\n"),
  );
  // UID EXPUNGE with QRESYNC answers VANISHED; "$" is the saved search result.
  assert.equal(await b.send("o UID SEARCH RETURN (SAVE) DELETED\r\n"), "o OK UID SEARCH completed\r\n");
  assert.equal(await b.send("p UID EXPUNGE $\r\n"), "* VANISHED 1,5\r\np OK UID EXPUNGE completed\r\n");
  assert.equal(await a.send("q NOOP\r\n"), "* 3 EXPUNGE\r\n* 1 EXPUNGE\r\nq OK NOOP completed\r\n");
  assert.deepEqual((await env.messages("INBOX")).map((m) => m.uid), [3]);
});

test("QRESYNC: SELECT with known state gets VANISHED (EARLIER) and changed flags; wrong UIDVALIDITY gets neither", async (ctx) => {
  const env = await imapEnv(ctx);
  await withMessages(env, 6);
  const uv = await uidValidity(env);
  // Modseqs: deliveries 2..7 (UIDs 1..6).
  await env.storeFlags("INBOX", [2, 3], "add", ["\\Deleted"]); // 8
  await env.expunge("INBOX", [2, 3]); // 9
  await env.storeFlags("INBOX", [5], "add", ["\\Seen"]); // 10
  await env.storeFlags("INBOX", [6], "add", ["\\Deleted"]); // 11
  await env.expunge("INBOX", [6]); // 12
  const t = env.connect();
  await t.login();
  assert.equal(await t.send("e ENABLE QRESYNC\r\n"), "* ENABLED QRESYNC\r\ne OK ENABLE completed\r\n");
  const head = (hms: number, ro = false, recent = 0) =>
    [
      "* 3 EXISTS",
      `* ${recent} RECENT`,
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
      `* OK [PERMANENTFLAGS (${ro ? "" : "\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*"})] Flags permitted`,
      "* OK [UNSEEN 1] First unseen",
      `* OK [UIDVALIDITY ${uv}] UIDs valid`,
      "* OK [UIDNEXT 7] Predicted next UID",
      `* OK [HIGHESTMODSEQ ${hms}] Highest`,
    ].join("\r\n") + "\r\n";
  // Known up to modseq 7: everything expunged since, and the flags of 5.
  // (The first SELECT of the mailbox gets its messages as \Recent.)
  assert.equal(await t.send(`a SELECT INBOX (QRESYNC (${uv} 7))\r\n`), head(12, false, 3) + "* VANISHED (EARLIER) 2:3,6\r\n* 3 FETCH (UID 5 FLAGS (\\Seen \\Recent) MODSEQ (10))\r\na OK [READ-WRITE] SELECT completed\r\n");
  // Known UIDs limit the VANISHED set; known up to 10 leaves only the later expunge.
  assert.equal(await t.send(`b EXAMINE INBOX (QRESYNC (${uv} 7 1:3))\r\n`), "* OK [CLOSED] Previous mailbox closed\r\n" + head(12, true) + "* VANISHED (EARLIER) 2:3\r\n* 3 FETCH (UID 5 FLAGS (\\Seen) MODSEQ (10))\r\nb OK [READ-ONLY] EXAMINE completed\r\n");
  assert.equal(await t.send(`c SELECT INBOX (QRESYNC (${uv} 10 1:6 (1,3 1,4)))\r\n`), "* OK [CLOSED] Previous mailbox closed\r\n" + head(12) + "* VANISHED (EARLIER) 6\r\nc OK [READ-WRITE] SELECT completed\r\n");
  // Another UIDVALIDITY: the client's cache is useless, a plain SELECT.
  assert.equal(await t.send(`d SELECT INBOX (QRESYNC (${uv + 1} 7))\r\n`), "* OK [CLOSED] Previous mailbox closed\r\n" + head(12) + "d OK [READ-WRITE] SELECT completed\r\n");
  assert.equal(await t.send("f UID FETCH 1:* (FLAGS) (CHANGEDSINCE 9 VANISHED)\r\n"), "* VANISHED (EARLIER) 6\r\n* 3 FETCH (UID 5 FLAGS (\\Seen) MODSEQ (10))\r\nf OK UID FETCH completed\r\n");
  assert.equal(await t.send(`g SELECT INBOX (QRESYNC (${uv}))\r\n`), "g BAD expected a space\r\n");
  assert.equal(await t.send("h SELECT INBOX (QRESYNC (0 7))\r\n"), "h BAD expected a non-zero 32-bit number\r\n");
});

test("CONDSTORE: UNCHANGEDSINCE refuses messages another session changed meanwhile ([MODIFIED])", async (ctx) => {
  const env = await imapEnv(ctx);
  await withMessages(env, 4);
  // UID 1 gone: sequence numbers and UIDs differ (seq n = UID n + 1).
  await env.expunge("INBOX", [1]);
  const a = env.connect();
  const b = env.connect();
  await a.login();
  await b.login();
  assert.match(await a.send("s SELECT INBOX (CONDSTORE)\r\n"), /\* OK \[HIGHESTMODSEQ 6\] Highest\r\n/);
  await b.send("s SELECT INBOX\r\n");
  assert.equal(await b.send("t STORE 2 +FLAGS (\\Flagged)\r\n"), "* 2 FETCH (FLAGS (\\Flagged))\r\nt OK STORE completed\r\n");
  // a still believes everything is at modseq <= 6. Seq 2 (UID 3) was changed (modseq 7).
  assert.equal(
    await a.send("a STORE 1:3 (UNCHANGEDSINCE 6) +FLAGS (\\Answered)\r\n"),
    [
      "* 2 FETCH (FLAGS (\\Flagged \\Recent) UID 3 MODSEQ (7))",
      "* 1 FETCH (FLAGS (\\Answered \\Recent) MODSEQ (8))",
      "* 3 FETCH (FLAGS (\\Answered \\Recent) MODSEQ (8))",
      "a OK [MODIFIED 2] Some messages were modified meanwhile",
      "",
    ].join("\r\n"),
  );
  assert.deepEqual((await env.messages("INBOX")).map((m) => m.flags), [["\\Answered"], ["\\Flagged"], ["\\Answered"]]);
  // UID STORE reports UIDs; .SILENT still sends MODSEQ for those stored (RFC 7162 3.1.3).
  assert.equal(await a.send("b UID STORE 2:4 (UNCHANGEDSINCE 7) +FLAGS.SILENT (\\Seen)\r\n"), "* 2 FETCH (UID 3 MODSEQ (9))\r\nb OK [MODIFIED 2,4] Some messages were modified meanwhile\r\n");
  // UNCHANGEDSINCE 0 never matches (every message has a modseq above 0).
  assert.equal(await a.send("c STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS (\\Draft)\r\n"), "c OK [MODIFIED 1:3] Some messages were modified meanwhile\r\n");
  assert.equal(await a.send("d FETCH 1:3 (FLAGS) (CHANGEDSINCE 8)\r\n"), "* 2 FETCH (FLAGS (\\Flagged \\Seen \\Recent) MODSEQ (9))\r\nd OK FETCH completed\r\n");
  assert.equal(await a.send("e SEARCH MODSEQ 9\r\n"), "* SEARCH 2 (MODSEQ 9)\r\ne OK SEARCH completed\r\n");
  assert.equal(await a.send("f STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)\r\n"), "f BAD expected a number\r\n");
  assert.equal(await a.send("g STORE 1 (FOO 1) +FLAGS (\\Seen)\r\n"), "g BAD unknown STORE modifier FOO\r\n");
  // b is told about a's changes at its next command.
  assert.equal(await b.send("n NOOP\r\n"), "* 1 FETCH (FLAGS (\\Answered) UID 2)\r\n* 2 FETCH (FLAGS (\\Flagged \\Seen) UID 3)\r\n* 3 FETCH (FLAGS (\\Answered) UID 4)\r\nn OK NOOP completed\r\n");
});

test("mailbox names: a rev1 client sees modified UTF-7, a UTF8=ACCEPT or IMAP4rev2 client UTF-8, the store UTF-8", async (ctx) => {
  const env = await imapEnv(ctx);
  const r = env.connect();
  const u = env.connect();
  const v = env.connect();
  await r.login();
  await u.login();
  await v.login();
  await u.send("e ENABLE UTF8=ACCEPT\r\n");
  await v.send("e ENABLE IMAP4rev2\r\n");
  // RFC 3501 5.1.3's example: ~peter/mail/台北/日本語.
  assert.equal(await r.send("a CREATE ~peter/mail/&U,BTFw-/&ZeVnLIqe-\r\n"), "a OK CREATE completed\r\n");
  assert.equal((await env.mailbox("~peter/mail/台北/日本語"))?.name, "~peter/mail/台北/日本語");
  assert.equal(await r.send('b LIST "" ~peter/mail/*\r\n'), '* LIST (\\HasChildren) "/" "~peter/mail/&U,BTFw-"\r\n* LIST (\\HasNoChildren) "/" "~peter/mail/&U,BTFw-/&ZeVnLIqe-"\r\nb OK LIST completed\r\n');
  for (const t of [u, v]) assert.equal(utf8(await t.send('b LIST "" ~peter/mail/*\r\n')), '* LIST (\\HasChildren) "/" "~peter/mail/台北"\r\n* LIST (\\HasNoChildren) "/" "~peter/mail/台北/日本語"\r\nb OK LIST completed\r\n');
  // Created in UTF-8, seen by the rev1 client in modified UTF-7.
  assert.equal(await u.send(u8('c CREATE "Ünïcode/Entwürfe"\r\n')), "c OK CREATE completed\r\n");
  assert.equal(await r.send('d LIST "" &ANw-*\r\n'), '* LIST (\\HasChildren) "/" "&ANw-n&AO8-code"\r\n* LIST (\\HasNoChildren) "/" "&ANw-n&AO8-code/Entw&APw-rfe"\r\nd OK LIST completed\r\n');
  assert.equal(await r.send("e STATUS &ANw-n&AO8-code/Entw&APw-rfe (MESSAGES)\r\n"), '* STATUS "&ANw-n&AO8-code/Entw&APw-rfe" (MESSAGES 0)\r\ne OK STATUS completed\r\n');
  assert.equal(utf8(await v.send(u8('e STATUS "Ünïcode/Entwürfe" (MESSAGES)\r\n'))), '* STATUS "Ünïcode/Entwürfe" (MESSAGES 0)\r\ne OK STATUS completed\r\n');
  // The same mailbox reached under both spellings.
  assert.match(await r.send(`f APPEND &ANw-n&AO8-code/Entw&APw-rfe {${msg(1).length}+}\r\n${msg(1)}\r\n`), /^f OK \[APPENDUID \d+ 1\] /);
  assert.match(await u.send(u8('g SELECT "Ünïcode/Entwürfe"\r\n')), /^\* 1 EXISTS\r\n/);
  assert.match(utf8(await v.send('h LIST "" % RETURN (STATUS (MESSAGES))\r\n')), /\* LIST \(\\HasChildren\) "\/" "Ünïcode"\r\n\* STATUS "Ünïcode" \(MESSAGES 0\)\r\n/);
  // "&" itself: "&-" for rev1, "&" in UTF-8 (a UTF-8 client's "&AGE-" is just a name).
  assert.equal(await r.send("i CREATE A&-B\r\n"), "i OK CREATE completed\r\n");
  assert.equal(await u.send('j CREATE "&AGE-"\r\n'), "j OK CREATE completed\r\n");
  assert.deepEqual((await env.store.mailstore.listMailboxes(env.account.id)).map((m) => m.name).filter((n) => n.includes("&")).sort(), ["&AGE-", "A&B"]);
  assert.equal(await r.send('k LIST "" *&-*\r\n'), '* LIST (\\HasNoChildren) "/" "&-AGE-"\r\n* LIST (\\HasNoChildren) "/" "A&-B"\r\nk OK LIST completed\r\n');
  assert.equal(await u.send('k LIST "" *&*\r\n'), '* LIST (\\HasNoChildren) "/" "&AGE-"\r\n* LIST (\\HasNoChildren) "/" "A&B"\r\nk OK LIST completed\r\n');
  // Refused: 8-bit from a rev1 client, ill-formed modified UTF-7 (an encoded ASCII letter,
  // unterminated), ill-formed UTF-8, control characters.
  assert.equal(await r.send(u8('l CREATE "Ü"\r\n')), "l BAD 8-bit mailbox name: ENABLE UTF8=ACCEPT first, or use modified UTF-7\r\n");
  assert.equal(await r.send("m CREATE &AGE-\r\n"), "m NO [CANNOT] Invalid modified UTF-7 mailbox name\r\n");
  assert.equal(await r.send("n CREATE &ZeVnLIqe\r\n"), "n NO [CANNOT] Invalid modified UTF-7 mailbox name\r\n");
  assert.equal(await u.send(Buffer.from('o CREATE "\xc3\x28"\r\n', "latin1")), "o BAD Mailbox name is not valid UTF-8\r\n");
  assert.equal(await r.send("p CREATE {3+}\r\na\r\n\r\n"), "p NO [CANNOT] Invalid modified UTF-7 mailbox name\r\n");
  assert.equal(await u.send('q CREATE "a\tb"\r\n'), "q NO [CANNOT] Invalid mailbox name\r\n");
  // RENAME across spellings.
  assert.equal(await r.send("s RENAME &ANw-n&AO8-code &ANw-\r\n"), "s OK RENAME completed\r\n");
  assert.equal(utf8(await u.send('t LIST "" *\r\n')).includes('"Ü/Entwürfe"'), true);
  assert.equal(await env.mailbox("Ünïcode/Entwürfe"), null);
});

test("delivered messages: prefix headers are part of the message IMAP serves", async (ctx) => {
  const env = await imapEnv(ctx);
  const prefix = "Return-Path: <ann@y.test>\r\nDelivered-To: u@x.test\r\n";
  const body = "From: Ann <ann@y.test>\r\nSubject: with prefix\r\nContent-Type: text/plain\r\n\r\nhello there\r\n";
  await env.deliver("INBOX", body, { prefix });
  const t = env.connect();
  await t.login();
  await t.send("s SELECT INBOX\r\n");
  const full = prefix + body;
  assert.equal(await t.send("a FETCH 1 (RFC822.SIZE BODY.PEEK[])\r\n"), `* 1 FETCH (RFC822.SIZE ${full.length} BODY[] {${full.length}}\r\n${full})\r\na OK FETCH completed\r\n`);
  const fields = "Delivered-To: u@x.test\r\nSubject: with prefix\r\n\r\n";
  assert.equal(await t.send("b FETCH 1 BODY.PEEK[HEADER.FIELDS (Delivered-To Subject)]\r\n"), `* 1 FETCH (BODY[HEADER.FIELDS (Delivered-To Subject)] {${fields.length}}\r\n${fields})\r\nb OK FETCH completed\r\n`);
  assert.equal(await t.send("c FETCH 1 (BODY.PEEK[TEXT] BODY.PEEK[1] BINARY.SIZE[1])\r\n"), "* 1 FETCH (BODY[TEXT] {13}\r\nhello there\r\n BODY[1] {13}\r\nhello there\r\n BINARY.SIZE[1] 13)\r\nc OK FETCH completed\r\n");
  assert.match(await t.send("d FETCH 1 BODY.PEEK[HEADER]\r\n"), new RegExp(`^\\* 1 FETCH \\(BODY\\[HEADER\\] \\{${full.indexOf("\r\n\r\n") + 4}\\}\\r\\nReturn-Path: `));
  assert.equal(await t.send("e SEARCH HEADER Delivered-To u@x.test\r\n"), "* SEARCH 1\r\ne OK SEARCH completed\r\n");
  assert.equal(await t.send("f SEARCH SUBJECT prefix BODY there\r\n"), "* SEARCH 1\r\nf OK SEARCH completed\r\n");
  assert.equal(await t.send("g SEARCH LARGER " + (full.length - 1) + " SMALLER " + (full.length + 1) + "\r\n"), "* SEARCH 1\r\ng OK SEARCH completed\r\n");
});
