/** The IMAP engine through an in-memory transport: transcripts of client/server exchanges. */
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { imapEnv, type ImapEnv } from "../helpers/imap-session.js";

const MSG1 = "From: Ann <ann@x.test>\r\nTo: bob@x.test\r\nSubject: hello\r\nDate: Fri, 02 Jan 2026 03:04:05 +0000\r\nMessage-ID: <1@x.test>\r\n\r\nfirst body\r\n";
const MSG2 = "From: carl@x.test\r\nSubject: second\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\npart one\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAGFi\r\n--b--\r\n";

const uidValidity = async (env: ImapEnv, name: string) => (await env.mailbox(name))!.uidValidity;

/** A fresh store whose INBOX holds three delivered messages (UIDs 1-3). */
async function withMessages(ctx: TestContext): Promise<ImapEnv> {
  const env = await imapEnv(ctx);
  await env.deliver("INBOX", MSG1, { flags: ["\\Seen"] });
  await env.deliver("INBOX", MSG2);
  await env.deliver("INBOX", "Subject: third\r\n\r\nx\r\n", { flags: ["$Work"] });
  return env;
}

test("greeting, CAPABILITY before and after login, LOGOUT", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  assert.match(t.take(), /^\* OK \[CAPABILITY IMAP4rev2 IMAP4rev1 STARTTLS AUTH=PLAIN SASL-IR LITERAL\+ ID ENABLE IDLE\] /);
  assert.match(await t.send("a1 CAPABILITY\r\n"), /^\* CAPABILITY .*\r\na1 OK CAPABILITY completed\r\n$/);
  const r = await t.send("a2 LOGIN u@x.test pw\r\n");
  assert.match(r, /^a2 OK \[CAPABILITY IMAP4rev2 IMAP4rev1 LITERAL\+ .*MOVE.*QRESYNC.*APPENDLIMIT=1048576.*\] Logged in\r\n$/);
  assert.doesNotMatch(r, /STARTTLS|AUTH=/);
  assert.equal(await t.send("a3 LOGOUT\r\n"), "* BYE Petrel IMAP server signing off\r\na3 OK LOGOUT completed\r\n");
  assert.equal(t.closed, true);
});

test("states: commands before login and without a mailbox are refused", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  t.take();
  assert.equal(await t.send("a SELECT INBOX\r\n"), "a BAD Log in first\r\n");
  assert.equal(await t.send("b FOO\r\n"), "b BAD Unknown command\r\n");
  assert.equal(await t.send("c NOOP extra\r\n"), "c BAD unexpected characters at end of command\r\n");
  assert.equal(await t.send("\r\n"), "* BAD missing tag\r\n");
  await t.login();
  assert.equal(await t.send("d FETCH 1 FLAGS\r\n"), "d BAD No mailbox selected\r\n");
  assert.equal(await t.send("e LOGIN a b\r\n"), "e BAD Command not allowed now\r\n");
});

test("LOGINDISABLED before TLS, then STARTTLS", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect({ allowInsecureAuth: false });
  assert.match(t.take(), /STARTTLS LOGINDISABLED/);
  assert.equal(await t.send("a LOGIN u@x.test pw\r\n"), "a NO [PRIVACYREQUIRED] Use STARTTLS first, or the imaps port\r\n");
  assert.equal(await t.send("b STARTTLS\r\nc NOOP\r\n"), "b OK Begin TLS negotiation now\r\n");
  assert.match(await t.send("d CAPABILITY\r\n"), /AUTH=PLAIN/);
  assert.match(await t.send("e LOGIN u@x.test pw\r\n"), /^e OK /);
});

test("failed LOGIN is answered after the delay with AUTHENTICATIONFAILED", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  t.take();
  assert.equal(await t.send("a LOGIN u@x.test wrong\r\n"), "");
  t.clock.advance(1000);
  await t.settle();
  assert.equal(t.take(), "a NO [AUTHENTICATIONFAILED] Invalid credentials\r\n");
  // Literals and quoted strings for the credentials.
  assert.equal(await t.send("b LOGIN {8}\r\n"), "+ Ready for literal data\r\n");
  assert.match(await t.send('u@x.test "pw"\r\n'), /^b OK /);
});

test("AUTHENTICATE PLAIN: SASL-IR, continuation, cancel", async (ctx) => {
  const ok = Buffer.from("\0u@x.test\0pw").toString("base64");
  const env = await imapEnv(ctx);
  let t = env.connect();
  t.take();
  assert.match(await t.send(`a AUTHENTICATE PLAIN ${ok}\r\n`), /^a OK \[CAPABILITY /);
  t = env.connect();
  t.take();
  assert.equal(await t.send("a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  assert.match(await t.send(`${ok}\r\n`), /^a OK /);
  t = env.connect();
  t.take();
  assert.equal(await t.send("a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  assert.equal(await t.send("*\r\n"), "a BAD Authentication cancelled\r\n");
  assert.equal(await t.send("b AUTHENTICATE CRAM-MD5\r\n"), "b NO [CANNOT] Unsupported authentication mechanism\r\n");
});

test("SELECT (rev1) and EXAMINE responses", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  const r = await t.send("s SELECT inbox\r\n");
  assert.equal(
    r,
    [
      "* 3 EXISTS",
      "* 3 RECENT",
      "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)",
      "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted",
      "* OK [UNSEEN 2] First unseen",
      `* OK [UIDVALIDITY ${await uidValidity(env, "INBOX")}] UIDs valid`,
      "* OK [UIDNEXT 4] Predicted next UID",
      "* OK [HIGHESTMODSEQ 4] Highest",
      "s OK [READ-WRITE] SELECT completed",
      "",
    ].join("\r\n"),
  );
  // Another session sees no \Recent: the first one got them.
  const t2 = env.connect();
  await t2.login();
  const r2 = await t2.send("e EXAMINE INBOX\r\n");
  assert.match(r2, /\* 0 RECENT\r\n/);
  assert.match(r2, /PERMANENTFLAGS \(\)/);
  assert.match(r2, /e OK \[READ-ONLY\] EXAMINE completed/);
  assert.equal(await t2.send("x SELECT Nope\r\n"), "x NO [NONEXISTENT] No such mailbox\r\n");
  assert.equal(await t2.send("y FETCH 1 FLAGS\r\n"), "y BAD No mailbox selected\r\n");
});

test("IMAP4rev2: ENABLE, SELECT without RECENT/UNSEEN but with LIST, ESEARCH", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  assert.equal(await t.send("e ENABLE IMAP4rev2 CONDSTORE FOO\r\n"), "* ENABLED IMAP4rev2 CONDSTORE\r\ne OK ENABLE completed\r\n");
  assert.equal(await t.send("e2 ENABLE IMAP4rev2\r\n"), "* ENABLED\r\ne2 OK ENABLE completed\r\n");
  const r = await t.send("s SELECT INBOX\r\n");
  assert.doesNotMatch(r, /RECENT|UNSEEN/);
  assert.match(r, /\* LIST \(\) "\/" "INBOX"\r\n/);
  assert.equal(await t.send("f SEARCH UNSEEN\r\n"), '* ESEARCH (TAG "f") ALL 2:3\r\nf OK SEARCH completed\r\n');
  assert.equal(await t.send("g FETCH 1 (FLAGS)\r\n"), "* 1 FETCH (FLAGS (\\Seen))\r\ng OK FETCH completed\r\n");
  // A second SELECT reports [CLOSED] first.
  assert.match(await t.send("h SELECT Sent\r\n"), /^\* OK \[CLOSED\] /);
});

test("LIST, LSUB, LIST-EXTENDED, LIST-STATUS, CREATE, RENAME, DELETE, SUBSCRIBE", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  await t.login();
  // The backend gives every account INBOX and the special-use mailboxes, subscribed.
  const defaults = (attrs: string, sub = "") => [
    `* LIST (\\HasNoChildren${sub}) "/" "INBOX"`,
    `* LIST (\\HasNoChildren \\Archive${sub}) "/" "Archive"`,
    `* LIST (\\HasNoChildren \\Drafts${sub}) "/" "Drafts"`,
    `* LIST (\\HasNoChildren \\Junk${sub}) "/" "Junk"`,
    `* LIST (\\HasNoChildren \\Sent${sub}) "/" "Sent"`,
    `* LIST (\\HasNoChildren \\Trash${sub}) "/" "Trash"`,
    ...(attrs ? [`* LIST (${attrs}) "/" "Work"`] : []),
  ];
  assert.equal(await t.send('a LIST "" ""\r\n'), '* LIST (\\Noselect) "/" ""\r\na OK LIST completed\r\n');
  assert.equal(await t.send("b CREATE Work/Projects/\r\n"), "b OK CREATE completed\r\n");
  assert.equal(await t.send("b2 CREATE Work/Projects\r\n"), "b2 NO [ALREADYEXISTS] mailbox already exists\r\n");
  assert.equal(await t.send("b3 CREATE inbox\r\n"), "b3 NO [ALREADYEXISTS] INBOX always exists\r\n");
  // The store creates the superior "Work" too (RFC 9051 6.3.4), subscribed; deleting it leaves
  // its inferior, and "Work" becomes a \Noselect name.
  assert.equal((await env.mailbox("Work"))?.name, "Work");
  assert.equal(await t.send("b4 UNSUBSCRIBE Work\r\nb5 DELETE Work\r\n"), "b4 OK UNSUBSCRIBE completed\r\nb5 OK DELETE completed\r\n");
  assert.equal(await t.send("b6 SELECT Work\r\n"), "b6 NO [NONEXISTENT] No such mailbox\r\n");
  assert.equal(
    await t.send('c LIST "" *\r\n'),
    [...defaults("\\Noselect \\HasChildren"), '* LIST (\\HasNoChildren) "/" "Work/Projects"', "c OK LIST completed", ""].join("\r\n"),
  );
  assert.equal(await t.send('d LIST "" %\r\n'), [...defaults("\\Noselect \\HasChildren"), "d OK LIST completed", ""].join("\r\n"));
  assert.equal(await t.send('d2 LIST "Work/" %\r\n'), '* LIST (\\HasNoChildren) "/" "Work/Projects"\r\nd2 OK LIST completed\r\n');
  assert.equal(await t.send("e SUBSCRIBE Work/Projects\r\n"), "e OK SUBSCRIBE completed\r\n");
  assert.equal(
    await t.send('f LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)\r\n'),
    [...defaults("", " \\Subscribed"), '* LIST (\\NonExistent \\HasChildren) "/" "Work" ("CHILDINFO" ("SUBSCRIBED"))', "f OK LIST completed", ""].join("\r\n"),
  );
  assert.equal(
    await t.send('g LSUB "" *\r\n'),
    ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash", "Work/Projects"].map((n) => `* LSUB () "/" "${n}"\r\n`).join("") + "g OK LSUB completed\r\n",
  );
  assert.equal(
    await t.send('h LIST "" (INBOX Sent) RETURN (STATUS (MESSAGES UIDNEXT SIZE) SPECIAL-USE)\r\n'),
    ['* LIST (\\HasNoChildren) "/" "INBOX"', "* STATUS \"INBOX\" (MESSAGES 0 UIDNEXT 1 SIZE 0)", '* LIST (\\HasNoChildren \\Sent) "/" "Sent"', '* STATUS "Sent" (MESSAGES 0 UIDNEXT 1 SIZE 0)', "h OK LIST completed", ""].join("\r\n"),
  );
  assert.equal(await t.send('i LIST (SPECIAL-USE) "" *\r\n'), [...defaults("").slice(1), "i OK LIST completed", ""].join("\r\n"));
  assert.equal(await t.send("j RENAME Work/Projects Done\r\n"), "j OK RENAME completed\r\n");
  assert.equal((await env.mailbox("Work/Projects")) === null && (await env.mailbox("Done")) !== null, true);
  assert.equal(await t.send("k DELETE Done\r\n"), "k OK DELETE completed\r\n");
  assert.equal(await t.send("l DELETE Done\r\n"), "l NO [NONEXISTENT] no mailbox Done\r\n");
  assert.equal(await t.send("m DELETE INBOX\r\n"), "m NO [CANNOT] INBOX cannot be deleted\r\n");
  assert.equal(await t.send("n NAMESPACE\r\n"), '* NAMESPACE (("" "/")) NIL NIL\r\nn OK NAMESPACE completed\r\n');
});

test("mailbox names: modified UTF-7 for rev1, UTF-8 after ENABLE UTF8=ACCEPT", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  await t.login();
  assert.equal(await t.send("a CREATE &AOQ-pfel\r\n"), "a OK CREATE completed\r\n");
  assert.match(await t.send('b LIST "" *pfel\r\n'), /"&AOQ-pfel"/);
  assert.equal(await t.send("c CREATE \"\xc3\xa4\"\r\n"), "c BAD 8-bit mailbox name: ENABLE UTF8=ACCEPT first, or use modified UTF-7\r\n");
  assert.equal(await t.send("d CREATE &Jjo\r\n"), "d NO [CANNOT] Invalid modified UTF-7 mailbox name\r\n");
  await t.send("e ENABLE UTF8=ACCEPT\r\n");
  assert.equal(Buffer.from(await t.send('f LIST "" *pfel\r\n'), "latin1").toString("utf8"), '* LIST (\\HasNoChildren) "/" "äpfel"\r\nf OK LIST completed\r\n');
  assert.equal((await env.mailbox("äpfel")) !== null, true);
});

test("STATUS and quota", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  assert.equal(await t.send("a STATUS INBOX (MESSAGES UNSEEN UIDVALIDITY DELETED HIGHESTMODSEQ RECENT)\r\n"), `* STATUS "INBOX" (MESSAGES 3 UNSEEN 2 UIDVALIDITY ${await uidValidity(env, "INBOX")} DELETED 0 HIGHESTMODSEQ 4 RECENT 3)\r\na OK STATUS completed\r\n`);
  assert.equal(await t.send("b STATUS INBOX (BOGUS)\r\n"), "b BAD unknown STATUS item BOGUS\r\n");
  assert.equal(await t.send("c GETQUOTAROOT INBOX\r\n"), '* QUOTAROOT "INBOX" ""\r\n* QUOTA "" (STORAGE 1 10240)\r\nc OK GETQUOTAROOT completed\r\n');
  assert.equal(await t.send('d GETQUOTA ""\r\n'), '* QUOTA "" (STORAGE 1 10240)\r\nd OK GETQUOTA completed\r\n');
});

test("APPEND: synchronising literal, APPENDUID, TRYCREATE, MULTIAPPEND, TOOBIG", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect({ maxMessageSize: 100 });
  await t.login();
  const msg = "Subject: hi\r\n\r\nbody\r\n";
  assert.equal(await t.send(`a APPEND INBOX (\\Seen) "02-Jan-2026 03:04:05 +0000" {${msg.length}}\r\n`), "+ Ready for literal data\r\n");
  assert.equal(await t.send(`${msg}\r\n`), `a OK [APPENDUID ${await uidValidity(env, "INBOX")} 1] APPEND completed\r\n`);
  assert.equal(await t.send(`b APPEND Nope {${msg.length}+}\r\n${msg}\r\n`), "b NO [TRYCREATE] No such mailbox\r\n");
  assert.equal(await t.send(`c APPEND INBOX {${msg.length}+}\r\n${msg} (\\Flagged) {${msg.length}+}\r\n${msg}\r\n`), `c OK [APPENDUID ${await uidValidity(env, "INBOX")} 2:3] APPEND completed\r\n`);
  assert.equal(await t.send("d APPEND INBOX {101}\r\n"), "d NO [TOOBIG] Literal too big\r\n");
  assert.equal(await t.send(`e APPEND INBOX {101+}\r\n${"x".repeat(101)}\r\nf NOOP\r\n`), "e NO [TOOBIG] Literal too big\r\nf OK NOOP completed\r\n");
  assert.equal(await t.send("g APPEND INBOX ~{3+}\r\na\0b\r\n"), `g OK [APPENDUID ${await uidValidity(env, "INBOX")} 4] APPEND completed\r\n`);
  assert.deepEqual(await env.flags("INBOX", 2), []);
  assert.deepEqual(await env.flags("INBOX", 3), ["\\Flagged"]);
});

test("FETCH: flags, envelope, body sections, partial, \\Seen, BINARY, UID FETCH", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  await t.send("s SELECT INBOX\r\n");
  assert.equal(await t.send("a FETCH 1:2 (UID FLAGS RFC822.SIZE INTERNALDATE)\r\n"), `* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) RFC822.SIZE ${MSG1.length} INTERNALDATE "02-Jan-2026 03:04:05 +0000")\r\n* 2 FETCH (UID 2 FLAGS (\\Recent) RFC822.SIZE ${MSG2.length} INTERNALDATE "02-Jan-2026 03:04:05 +0000")\r\na OK FETCH completed\r\n`);
  assert.match(await t.send("b FETCH 1 ENVELOPE\r\n"), /^\* 1 FETCH \(ENVELOPE \("Fri, 02 Jan 2026 03:04:05 \+0000" "hello" \(\("Ann" NIL "ann" "x.test"\)\)/);
  assert.equal(await t.send("c FETCH 2 BODY.PEEK[1]\r\n"), "* 2 FETCH (BODY[1] {8}\r\npart one)\r\nc OK FETCH completed\r\n");
  assert.equal(await t.send("d FETCH 2 (BODY[1]<5.100>)\r\n"), "* 2 FETCH (BODY[1]<5> {3}\r\none FLAGS (\\Seen \\Recent))\r\nd OK FETCH completed\r\n");
  assert.deepEqual(await env.flags("INBOX", 2), ["\\Seen"]);
  assert.equal(await t.send("e FETCH 1 BODY[HEADER.FIELDS (Subject to)]\r\n"), "* 1 FETCH (BODY[HEADER.FIELDS (Subject to)] {34}\r\nTo: bob@x.test\r\nSubject: hello\r\n\r\n)\r\ne OK FETCH completed\r\n");
  assert.equal(await t.send("f FETCH 2 (BINARY[2] BINARY.SIZE[2] BODY[9])\r\n"), "* 2 FETCH (BINARY[2] ~{3}\r\n\0ab BINARY.SIZE[2] 3 BODY[9] \"\")\r\nf OK FETCH completed\r\n");
  assert.equal(await t.send("g UID FETCH 3:* (FLAGS)\r\n"), "* 3 FETCH (UID 3 FLAGS ($Work \\Recent))\r\ng OK UID FETCH completed\r\n");
  assert.equal(await t.send("h UID FETCH 99 FLAGS\r\n"), "h OK UID FETCH completed\r\n");
  assert.equal(await t.send("i FETCH 4 FLAGS\r\n"), "i BAD Invalid message sequence number\r\n");
  assert.match(await t.send("j FETCH 1 BODYSTRUCTURE\r\n"), /^\* 1 FETCH \(BODYSTRUCTURE \("text" "plain" /i);
  assert.equal(await t.send("k FETCH 3 RFC822.HEADER\r\n"), "* 3 FETCH (RFC822.HEADER {18}\r\nSubject: third\r\n\r\n)\r\nk OK FETCH completed\r\n");
});

test("STORE, UNCHANGEDSINCE, EXPUNGE renumbering, UID EXPUNGE", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  await t.send("s SELECT INBOX\r\n");
  assert.equal(await t.send("a STORE 1:2 +FLAGS (\\Deleted)\r\n"), "* 1 FETCH (FLAGS (\\Seen \\Deleted \\Recent))\r\n* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\na OK STORE completed\r\n");
  assert.equal(await t.send("b UID STORE 3 FLAGS.SILENT (\\Flagged)\r\n"), "b OK UID STORE completed\r\n");
  assert.equal(await t.send("c STORE 3 (UNCHANGEDSINCE 1) -FLAGS (\\Flagged)\r\n"), "c OK [MODIFIED 3] Some messages were modified meanwhile\r\n");
  assert.equal(await t.send("d STORE 3 (UNCHANGEDSINCE 99) -FLAGS (\\Flagged)\r\n"), "* 3 FETCH (FLAGS (\\Recent) MODSEQ (7))\r\nd OK STORE completed\r\n");
  assert.equal(await t.send("e EXPUNGE\r\n"), "* 2 EXPUNGE\r\n* 1 EXPUNGE\r\ne OK EXPUNGE completed\r\n");
  assert.equal(await t.send("f FETCH 1 UID\r\n"), "* 1 FETCH (UID 3)\r\nf OK FETCH completed\r\n");
  await t.send("g STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
  assert.equal(await t.send("h UID EXPUNGE 1:2\r\n"), "h OK UID EXPUNGE completed\r\n");
  assert.equal(await t.send("i UID EXPUNGE 3\r\n"), "* 1 EXPUNGE\r\ni OK UID EXPUNGE completed\r\n");
  assert.equal(await t.send("j STORE 1 +FLAGS (\\Seen)\r\n"), "j BAD Invalid message sequence number\r\n");
});

test("SEARCH, UID SEARCH, ESEARCH RETURN, SAVE and $", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  await t.send("s SELECT INBOX\r\n");
  assert.equal(await t.send("a SEARCH UNSEEN\r\n"), "* SEARCH 2 3\r\na OK SEARCH completed\r\n");
  assert.equal(await t.send("b UID SEARCH OR SEEN KEYWORD $Work\r\n"), "* SEARCH 1 3\r\nb OK UID SEARCH completed\r\n");
  assert.equal(await t.send("c SEARCH SUBJECT hello\r\n"), "* SEARCH 1\r\nc OK SEARCH completed\r\n");
  assert.equal(await t.send("d SEARCH RETURN (MIN MAX COUNT) ALL\r\n"), '* ESEARCH (TAG "d") MIN 1 MAX 3 COUNT 3\r\nd OK SEARCH completed\r\n');
  assert.equal(await t.send("e UID SEARCH RETURN (SAVE) BODY one\r\n"), "e OK UID SEARCH completed\r\n");
  assert.equal(await t.send("f FETCH $ UID\r\n"), "* 2 FETCH (UID 2)\r\nf OK FETCH completed\r\n");
  assert.equal(await t.send("g SEARCH CHARSET KOI8-R ALL\r\n"), "g NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset\r\n");
  assert.equal(await t.send("h SEARCH RETURN (COUNT) DELETED\r\n"), '* ESEARCH (TAG "h") COUNT 0\r\nh OK SEARCH completed\r\n');
  assert.equal(await t.send("i SEARCH MODSEQ 3\r\n"), "* SEARCH 2 3 (MODSEQ 4)\r\ni OK SEARCH completed\r\n");
  assert.equal(await t.send("j SEARCH (OR\r\n"), "j BAD expected a space\r\n");
});

test("COPY and MOVE with COPYUID", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  await t.send("s SELECT INBOX\r\n");
  assert.equal(await t.send("a COPY 1:2 Trash\r\n"), `a OK [COPYUID ${await uidValidity(env, "Trash")} 1:2 1:2] COPY completed\r\n`);
  assert.equal(await t.send("b COPY 1 Nope\r\n"), "b NO [TRYCREATE] No such mailbox\r\n");
  assert.equal(await t.send("c MOVE 2:3 Trash\r\n"), `* OK [COPYUID ${await uidValidity(env, "Trash")} 2:3 3:4] Moved\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\nc OK MOVE completed\r\n`);
  assert.equal((await env.messages("INBOX")).length, 1);
  assert.equal((await env.messages("Trash")).length, 4);
});

test("changes from elsewhere: EXISTS at once, EXPUNGE held back during FETCH, VANISHED with QRESYNC", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  await t.send("s SELECT INBOX\r\n");
  await env.deliver("INBOX", "Subject: new\r\n\r\nx\r\n");
  assert.equal(await t.send("a NOOP\r\n"), "* 4 EXISTS\r\n* 4 RECENT\r\na OK NOOP completed\r\n");
  await env.expunge("INBOX", [1]);
  await env.storeFlags("INBOX", [2], "add", ["\\Flagged"]);
  await t.settle();
  // FETCH may not report the expunge; the message keeps its number meanwhile.
  assert.equal(await t.send("b FETCH 2 (FLAGS)\r\n"), "* 2 FETCH (FLAGS (\\Flagged \\Recent) UID 2)\r\n* 2 FETCH (FLAGS (\\Flagged \\Recent))\r\nb OK FETCH completed\r\n");
  assert.equal(await t.send("c NOOP\r\n"), "* 1 EXPUNGE\r\nc OK NOOP completed\r\n");
  assert.equal(await t.send("d FETCH 1 UID\r\n"), "* 1 FETCH (UID 2)\r\nd OK FETCH completed\r\n");

  // QRESYNC: SELECT with known state gets VANISHED (EARLIER) and the changed flags.
  const t2 = env.connect();
  await t2.login();
  await t2.send("e ENABLE QRESYNC\r\n");
  const r = await t2.send(`f SELECT INBOX (QRESYNC (${await uidValidity(env, "INBOX")} 4 1:10))\r\n`);
  assert.match(r, /\* VANISHED \(EARLIER\) 1\r\n/);
  assert.match(r, /\* 1 FETCH \(UID 2 FLAGS \(\\Flagged\) MODSEQ \(7\)\)\r\n/);
  await env.expunge("INBOX", [3]);
  await t2.settle();
  assert.equal(await t2.send("g NOOP\r\n"), "* VANISHED 3\r\ng OK NOOP completed\r\n");
  assert.equal(await t2.send("h UID FETCH 1:* FLAGS (CHANGEDSINCE 6 VANISHED)\r\n"), "* VANISHED (EARLIER) 3\r\n* 1 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (7))\r\nh OK UID FETCH completed\r\n");
});

test("IDLE: changes pushed at once, DONE, and the server ends a too-long IDLE", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  await t.send("s SELECT INBOX\r\n");
  assert.equal(await t.send("i IDLE\r\n"), "+ idling\r\n");
  await env.deliver("INBOX", "Subject: new\r\n\r\nx\r\n");
  await t.settle();
  assert.equal(t.take(), "* 4 EXISTS\r\n* 4 RECENT\r\n");
  assert.equal(await t.send("DONE\r\n"), "i OK IDLE terminated\r\n");
  assert.equal(await t.send("j IDLE\r\n"), "+ idling\r\n");
  t.clock.advance(29 * 60_000);
  await t.settle();
  assert.equal(t.take(), "* BYE IDLE for too long\r\n");
  assert.equal(t.closed, true);
});

test("autologout", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  t.take();
  t.clock.advance(30 * 60_000);
  await t.settle();
  assert.equal(t.take(), "* BYE Autologout; idle for too long\r\n");
  assert.equal(t.closed, true);
});

test("hostile input: long line closes, deep nesting and NULs get BAD", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect({ maxLineLength: 200 });
  await t.login();
  assert.equal(await t.send(`a SEARCH ${"(".repeat(50)}ALL${")".repeat(50)}\r\n`), "a BAD No mailbox selected\r\n");
  await t.send("s SELECT INBOX\r\n");
  assert.equal(await t.send(`a SEARCH ${"(".repeat(50)}ALL${")".repeat(50)}\r\n`), "a BAD nesting too deep\r\n");
  assert.equal(await t.send("b LIST\0 x\r\n"), "b BAD expected a space\r\n");
  assert.equal(await t.send('c STATUS "a\0b" (MESSAGES)\r\n'), "c BAD invalid character in quoted string\r\n");
  assert.equal(await t.send(`d NOOP ${"x".repeat(300)}\r\n`), "d BAD [TOOBIG] Command line too long\r\n* BYE Command line too long\r\n");
  assert.equal(t.closed, true);
});

test("ID", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  t.take();
  assert.equal(await t.send('a ID ("name" "test" "version" NIL)\r\n'), '* ID ("name" "Petrel" "vendor" "Petrel")\r\na OK ID completed\r\n');
  assert.equal(await t.send("b ID NIL\r\n"), '* ID ("name" "Petrel" "vendor" "Petrel")\r\nb OK ID completed\r\n');
});

test("pipelined commands are answered in order in one write batch", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  t.take();
  const r = await t.send("a LOGIN u@x.test pw\r\nb SELECT INBOX\r\nc FETCH 1 UID\r\nd UNSELECT\r\ne FETCH 1 UID\r\n");
  assert.deepEqual(
    r.split("\r\n").filter((l) => !l.startsWith("*")),
    ["a OK [CAPABILITY " + t.s.capabilities().join(" ") + "] Logged in", "b OK [READ-WRITE] SELECT completed", "c OK FETCH completed", "d OK UNSELECT completed", "e BAD No mailbox selected", ""],
  );
});

test("too many failed logins end the session", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect({ authFailureDelayMs: 0 });
  t.take();
  let r = "";
  for (let i = 0; i < 5; i++) {
    t.s.receive(Buffer.from(`a${i} LOGIN u@x.test bad\r\n`));
    await t.settle();
    t.clock.advance(0);
    await t.settle();
    r += t.take();
  }
  assert.match(r, /a4 NO \[AUTHENTICATIONFAILED\] Invalid credentials\r\n\* BYE Too many failed logins\r\n$/);
  assert.equal(t.closed, true);
});

test("shutdown says BYE", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  t.take();
  t.s.shutdown();
  assert.equal(t.take(), "* BYE Server shutting down\r\n");
  assert.equal(t.closed, true);
});

test("random input never crashes the session", async (ctx) => {
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed);
  const words = ["a ", "UID ", "FETCH ", "SEARCH ", "STORE ", "LIST ", "SELECT ", "INBOX ", "1:* ", "$ ", "(", ")", "[", "]", "{3}\r\n", "{2+}\r\n", "~{1+}\r\n", '"', "\\", "*", "%", "BODY", ".PEEK", "<0.1>", "\r\n", "\0", "\xff", "NOT ", "OR ", "HEADER.FIELDS ", "CHANGEDSINCE ", "1 "];
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  await t.send("s SELECT INBOX\r\n");
  for (let i = 0; i < 400 && !t.closed; i++) {
    let line = "";
    const n = rnd() % 12;
    for (let j = 0; j < n; j++) line += words[rnd() % words.length];
    await t.send(`${line}\r\n`);
  }
  // Still answering (or closed cleanly after a framing error).
  if (!t.closed) assert.match(await t.send("\r\nz NOOP\r\n"), /z OK NOOP completed\r\n$/);
});

test("CONDSTORE: SELECT (CONDSTORE) adds MODSEQ to STORE results; QRESYNC needs ENABLE; ENABLE not in selected state", async (ctx) => {
  const env = await withMessages(ctx);
  const t = env.connect();
  await t.login();
  assert.equal(await t.send("a SELECT INBOX (QRESYNC (1 1))\r\n"), "a BAD ENABLE QRESYNC first\r\n");
  assert.match(await t.send("b SELECT INBOX (CONDSTORE)\r\n"), /\* OK \[HIGHESTMODSEQ 4\] Highest\r\nb OK \[READ-WRITE\] SELECT completed\r\n$/);
  assert.equal(await t.send("c STORE 1 +FLAGS (\\Answered)\r\n"), "* 1 FETCH (FLAGS (\\Seen \\Answered \\Recent) MODSEQ (5))\r\nc OK STORE completed\r\n");
  assert.equal(await t.send("d FETCH 1:3 (FLAGS) (CHANGEDSINCE 4)\r\n"), "* 1 FETCH (FLAGS (\\Seen \\Answered \\Recent) MODSEQ (5))\r\nd OK FETCH completed\r\n");
  assert.equal(await t.send("e ENABLE QRESYNC\r\n"), "e BAD Command not allowed now\r\n");
  assert.equal(await t.send("f UID FETCH 1:* FLAGS (CHANGEDSINCE 4 VANISHED)\r\n"), "f BAD VANISHED needs UID FETCH and ENABLE QRESYNC\r\n");
});

test("UTF8=ACCEPT: APPEND UTF8 (literal8), UTF-8 quoted strings in responses", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  await t.login();
  await t.send("a ENABLE UTF8=ACCEPT\r\n");
  const msg = Buffer.from("Subject: \xc3\xa9t\xc3\xa9\r\n\r\nx\r\n", "latin1");
  assert.equal(await t.send(Buffer.concat([Buffer.from(`b APPEND INBOX UTF8 (~{${msg.length}+}\r\n`), msg, Buffer.from(")\r\n")])), `b OK [APPENDUID ${await uidValidity(env, "INBOX")} 1] APPEND completed\r\n`);
  await t.send("c SELECT INBOX\r\n");
  assert.equal(Buffer.from(await t.send("d FETCH 1 ENVELOPE\r\n"), "latin1").toString("utf8"), '* 1 FETCH (ENVELOPE (NIL "été" NIL NIL NIL NIL NIL NIL NIL NIL))\r\nd OK FETCH completed\r\n');
});

test("shutdown while AUTHENTICATE waits for the client's response", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  t.take();
  assert.equal(await t.send("a AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  t.s.shutdown();
  await t.settle();
  assert.equal(t.take(), "* BYE Server shutting down\r\n");
  assert.equal(t.closed, true);
});

test("LIST (SUBSCRIBED) shows subscriptions to mailboxes that do not exist", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  await t.login();
  await t.send("a SUBSCRIBE Gone\r\n");
  assert.equal(await t.send('b LIST (SUBSCRIBED) "" *\r\n'), [
      '* LIST (\\HasNoChildren \\Subscribed) "/" "INBOX"',
      '* LIST (\\HasNoChildren \\Archive \\Subscribed) "/" "Archive"',
      '* LIST (\\HasNoChildren \\Drafts \\Subscribed) "/" "Drafts"',
      '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Gone"',
      '* LIST (\\HasNoChildren \\Junk \\Subscribed) "/" "Junk"',
      '* LIST (\\HasNoChildren \\Sent \\Subscribed) "/" "Sent"',
      '* LIST (\\HasNoChildren \\Trash \\Subscribed) "/" "Trash"',
      "b OK LIST completed",
      "",
    ].join("\r\n"));
  assert.equal(await t.send('c LIST "" *\r\n').then((r) => r.includes("Gone")), false);
});
