/**
 * Hostile and broken input to the IMAP engine over the real backend and store: oversized
 * literals and lines, unbalanced and deeply nested parentheses, NUL octets, invalid sequence
 * sets, commands in the wrong state, AUTHENTICATE abuse. The session must answer (BAD, NO, or
 * BAD + BYE for broken framing), never crash, never buffer what it refused, and keep serving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { imapEnv, USER } from "../helpers/imap-session.js";

const MSG = "Subject: one\r\n\r\nbody\r\n";

test("a huge synchronising literal is refused with TOOBIG without a continuation; the session goes on", async (ctx) => {
  const env = await imapEnv(ctx);
  await env.deliver("INBOX", MSG);
  const t = env.connect();
  await t.login();
  // APPEND is bounded by maxMessageSize (1 MiB here), other literals by maxLiteralSize (64 KiB).
  assert.equal(await t.send("a APPEND INBOX {999999999}\r\n"), "a NO [TOOBIG] Literal too big\r\n");
  assert.equal(await t.send("b NOOP\r\n"), "b OK NOOP completed\r\n");
  // 20 digits: still a literal, still too big; 21 digits is no literal at all, and not a number.
  assert.equal(await t.send("c APPEND INBOX {99999999999999999999}\r\nd NOOP\r\n"), "c NO [TOOBIG] Literal too big\r\nd OK NOOP completed\r\n");
  assert.equal(await t.send("e APPEND INBOX {999999999999999999999}\r\nf NOOP\r\n"), "e BAD expected a number\r\nf OK NOOP completed\r\n");
  assert.equal(await t.send("g SELECT {70000}\r\nh NOOP\r\n"), "g NO [TOOBIG] Literal too big\r\nh OK NOOP completed\r\n");
  // The second literal of a MULTIAPPEND too: the first message is not stored either.
  assert.equal(await t.send(`i APPEND INBOX {${MSG.length}+}\r\n${MSG} {2000000}\r\n`), "i NO [TOOBIG] Literal too big\r\n");
  assert.equal((await env.messages("INBOX")).length, 1);
  assert.equal(t.closed, false);
});

test("a huge non-synchronising literal is skipped as it arrives, then refused; nothing is stored", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  await t.login();
  const size = 3 * 1024 * 1024;
  assert.equal(await t.send(`a APPEND INBOX {${size}+}\r\n`), "");
  const chunk = Buffer.alloc(256 * 1024, "x");
  for (let sent = 0; sent < size; sent += chunk.length) assert.equal(await t.send(chunk), "");
  assert.equal(await t.send(" (\\Seen)\r\nb NOOP\r\n"), "a NO [TOOBIG] Literal too big\r\nb OK NOOP completed\r\n");
  assert.deepEqual(await env.messages("INBOX"), []);
});

test("before login, APPEND gets no message-sized literal (no continuation, no buffering)", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  t.take();
  // Over maxLiteralSize (64 KiB) but within maxMessageSize (1 MiB): refused at once.
  assert.equal(await t.send("a APPEND INBOX {500000}\r\n"), "a NO [TOOBIG] Literal too big\r\n");
  assert.equal(await t.send("b APPEND INBOX {5}\r\n"), "+ Ready for literal data\r\n");
  assert.equal(await t.send("Hi!\r\n\r\n"), "b BAD Log in first\r\n");
  // After a pipelined LOGIN the same APPEND is fine.
  const msg = "S: x\r\n\r\n" + "y".repeat(100_000);
  assert.match(await t.send(`c LOGIN ${USER} pw\r\nd APPEND INBOX {${msg.length}+}\r\n${msg}\r\n`), /^c OK .*\r\nd OK \[APPENDUID \d+ 1\] APPEND completed\r\n$/);
  assert.equal((await env.messages("INBOX"))[0]?.size, msg.length);
});

test("a 200 KB line gets BAD [TOOBIG] and BYE, with or without its CRLF", async (ctx) => {
  const env = await imapEnv(ctx);
  let t = env.connect();
  await t.login();
  const line = Buffer.from(`a SEARCH TEXT ${"x".repeat(200 * 1024)}\r\nb NOOP\r\n`);
  let out = "";
  for (let i = 0; i < line.length; i += 16 * 1024) out += await t.send(line.subarray(i, i + 16 * 1024));
  assert.equal(out, "a BAD [TOOBIG] Command line too long\r\n* BYE Command line too long\r\n");
  assert.equal(t.closed, true);
  // Nothing is read after that.
  assert.equal(await t.send("c NOOP\r\n"), "");

  // No CRLF at all: the server gives up once the line is over the limit.
  t = env.connect();
  t.take();
  assert.equal(await t.send(Buffer.alloc(200 * 1024, "A")), "* BAD [TOOBIG] Command line too long\r\n* BYE Command line too long\r\n");
  assert.equal(t.closed, true);
});

test("unbalanced parentheses get BAD, and the session goes on", async (ctx) => {
  const env = await imapEnv(ctx);
  await env.deliver("INBOX", MSG);
  const t = env.connect();
  await t.login();
  assert.equal(await t.send("s STATUS INBOX (MESSAGES\r\n"), "s BAD expected a space\r\n");
  assert.equal(await t.send('l LIST ( "" *\r\n'), "l BAD expected an atom\r\n");
  await t.send("x SELECT INBOX\r\n");
  assert.equal(await t.send("a FETCH 1 (FLAGS\r\n"), "a BAD expected a space\r\n");
  assert.equal(await t.send("b FETCH 1 FLAGS)\r\n"), "b BAD unexpected characters at end of command\r\n");
  assert.equal(await t.send("c FETCH 1 BODY[HEADER.FIELDS (Subject]\r\n"), "c BAD expected a space\r\n");
  assert.equal(await t.send("d FETCH 1 ()\r\n"), "d BAD empty list\r\n");
  assert.equal(await t.send("e SEARCH (ALL\r\n"), 'e BAD expected ")"\r\n');
  assert.equal(await t.send("f SEARCH ALL)\r\n"), "f BAD unexpected characters at end of command\r\n");
  assert.equal(await t.send("g SEARCH )\r\n"), "g BAD expected an atom\r\n");
  assert.equal(await t.send("h STORE 1 +FLAGS (\\Seen\r\n"), "h BAD expected a space\r\n");
  assert.deepEqual(await env.flags("INBOX", 1), []);
  assert.equal(await t.send("i FETCH 1 (UID)\r\n"), "* 1 FETCH (UID 1)\r\ni OK FETCH completed\r\n");
});

test("deep nesting is refused without exhausting the stack: parentheses, NOT and OR chains", async (ctx) => {
  const env = await imapEnv(ctx);
  await env.deliver("INBOX", MSG);
  const t = env.connect();
  await t.login();
  await t.send("x SELECT INBOX\r\n");
  assert.equal(await t.send(`a SEARCH ${"(".repeat(4000)}ALL${")".repeat(4000)}\r\n`), "a BAD nesting too deep\r\n");
  assert.equal(await t.send(`b SEARCH ${"NOT ".repeat(2000)}ALL\r\n`), "b BAD nesting too deep\r\n");
  assert.equal(await t.send(`c SEARCH ${"OR ALL ".repeat(1000)}ALL\r\n`), "c BAD nesting too deep\r\n");
  assert.equal(await t.send(`d SEARCH ${"OR ".repeat(2700)}\r\n`), "d BAD nesting too deep\r\n");
  assert.equal(await t.send(`e FETCH 1 ${"(".repeat(4000)}\r\n`), "e BAD expected a fetch attribute\r\n");
  assert.equal(await t.send(`f STORE 1 FLAGS ${"(".repeat(4000)}\r\n`), "f BAD expected an atom\r\n");
  // Within the bound, nesting works.
  assert.equal(await t.send(`g SEARCH ${"(".repeat(20)}ALL${")".repeat(20)}\r\n`), "* SEARCH 1\r\ng OK SEARCH completed\r\n");
  assert.equal(await t.send(`h SEARCH ${"NOT ".repeat(20)}ALL\r\n`), "* SEARCH 1\r\nh OK SEARCH completed\r\n");
});

test("NUL octets: BAD in tags, names, atoms, quoted strings and plain literals; a literal8 may carry them", async (ctx) => {
  const env = await imapEnv(ctx);
  await env.deliver("INBOX", MSG);
  const t = env.connect();
  await t.login();
  assert.equal(await t.send("a NO\0OP\r\n"), "a BAD Unknown command\r\n");
  assert.equal(await t.send("b\0 NOOP\r\n"), "b BAD expected a space\r\n");
  assert.equal(await t.send("c SELECT INB\0X\r\n"), "c BAD unexpected characters at end of command\r\n");
  assert.equal(await t.send("d CREATE {3+}\r\na\0b\r\n"), "d BAD NUL in literal\r\n");
  assert.equal(await t.send("e APPEND INBOX {5+}\r\na\0b\r\n\r\n"), "e BAD NUL in literal\r\n");
  await t.send("x SELECT INBOX\r\n");
  assert.equal(await t.send('f SEARCH SUBJECT "a\0"\r\n'), "f BAD invalid character in quoted string\r\n");
  assert.equal(await t.send("g SEARCH SUBJECT {3+}\r\na\0b\r\n"), "g BAD NUL in literal\r\n");
  assert.equal(await t.send("h FETCH 1\0 FLAGS\r\n"), "h BAD expected a space\r\n");
  assert.equal(await t.send("i STORE 1 +FLAGS (a\0b)\r\n"), "i BAD expected a space\r\n");
  assert.deepEqual(await env.flags("INBOX", 1), []);
  assert.deepEqual((await env.store.mailstore.listMailboxes(env.account.id)).filter((m) => m.name.includes("\0")), []);
  // Binary content is what literal8 is for (RFC 3516).
  assert.match(await t.send("j APPEND INBOX ~{3+}\r\na\0b\r\n"), /^\* 2 EXISTS\r\n.*j OK \[APPENDUID \d+ 2\] APPEND completed\r\n$/s);
  const stored = (await env.messages("INBOX"))[1]!;
  assert.deepEqual(await env.store.mailstore.blob(stored.blobId), Buffer.from("a\0b"));
});

test("invalid sequence sets get BAD: 0, 1:0x, *:, empty ranges, beyond 32 bits, beyond the mailbox", async (ctx) => {
  const env = await imapEnv(ctx);
  await env.deliver("INBOX", MSG);
  await env.deliver("INBOX", MSG);
  const t = env.connect();
  await t.login();
  await t.send("x SELECT INBOX\r\n");
  const cases: [string, string][] = [
    ["FETCH 0 FLAGS", "expected a non-zero 32-bit number"],
    ["FETCH 1:0x FLAGS", "expected a non-zero 32-bit number"],
    ["FETCH *: FLAGS", "expected a number"],
    ["FETCH 1: FLAGS", "expected a number"],
    ["FETCH : FLAGS", "expected a number"],
    ["FETCH 1,,2 FLAGS", "expected a number"],
    ["FETCH 1,2, FLAGS", "expected a number"],
    ["FETCH -1 FLAGS", "expected a number"],
    ["FETCH 1.5 FLAGS", "expected a space"],
    ["FETCH 4294967296 FLAGS", "expected a non-zero 32-bit number"],
    ["FETCH 99999999999999999999 FLAGS", "number too large"],
    ["UID FETCH 0:* FLAGS", "expected a non-zero 32-bit number"],
    ["UID STORE 0 +FLAGS (\\Seen)", "expected a non-zero 32-bit number"],
    ["COPY 0 Trash", "expected a non-zero 32-bit number"],
    ["SEARCH 0", "expected a non-zero 32-bit number"],
    ["SEARCH UID 1:0", "expected a non-zero 32-bit number"],
    ["UID EXPUNGE 0", "expected a non-zero 32-bit number"],
    ["FETCH 3 FLAGS", "Invalid message sequence number"],
    ["FETCH 2:3 FLAGS", "Invalid message sequence number"],
    ["STORE 1,3 +FLAGS (\\Deleted)", "Invalid message sequence number"],
    ["MOVE 3 Trash", "Invalid message sequence number"],
  ];
  for (const [i, [cmd, text]] of cases.entries()) assert.equal(await t.send(`t${i} ${cmd}\r\n`), `t${i} BAD ${text}\r\n`, cmd);
  // Nothing was changed by the refused commands.
  assert.deepEqual((await env.messages("INBOX")).map((m) => m.flags), [[], []]);
  assert.deepEqual(await env.messages("Trash"), []);
  // UIDs that do not exist are not an error (RFC 9051 6.4.9); "*" in an empty set is the last.
  assert.equal(await t.send("u UID FETCH 4294967295 FLAGS\r\n"), "u OK UID FETCH completed\r\n");
  assert.equal(await t.send("v FETCH *:1 (UID)\r\n"), "* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\nv OK FETCH completed\r\n");
});

test("commands in the wrong state are refused and change nothing", async (ctx) => {
  const env = await imapEnv(ctx);
  await env.deliver("INBOX", MSG);
  const t = env.connect();
  t.take();
  // Not authenticated.
  for (const [tag, cmd] of [["a", "IDLE"], ["b", "ENABLE CONDSTORE"], ["c", "LIST \"\" *"], ["d", "STATUS INBOX (MESSAGES)"], ["e", "UNSELECT"], ["f", "UID FETCH 1 FLAGS"], ["g", "GETQUOTAROOT INBOX"]])
    assert.equal(await t.send(`${tag} ${cmd}\r\n`), `${tag} BAD Log in first\r\n`, cmd);
  await t.login();
  // Authenticated: no second login, no STARTTLS, nothing that needs a selected mailbox.
  for (const [tag, cmd] of [["h", "LOGIN u@x.test pw"], ["i", "AUTHENTICATE PLAIN AHVAeC50ZXN0AHB3"], ["j", "STARTTLS"]])
    assert.equal(await t.send(`${tag} ${cmd}\r\n`), `${tag} BAD Command not allowed now\r\n`, cmd);
  for (const [tag, cmd] of [["k", "CLOSE"], ["l", "EXPUNGE"], ["m", "UID EXPUNGE 1"], ["n", "CHECK"], ["o", "SEARCH ALL"], ["p", "STORE 1 +FLAGS (\\Deleted)"], ["q", "MOVE 1 Trash"]])
    assert.equal(await t.send(`${tag} ${cmd}\r\n`), `${tag} BAD No mailbox selected\r\n`, cmd);
  // Read-only (EXAMINE): no writes; ENABLE only before a mailbox is selected.
  await t.send("r EXAMINE INBOX\r\n");
  for (const [tag, cmd] of [["s", "STORE 1 +FLAGS (\\Deleted)"], ["u", "EXPUNGE"], ["v", "UID EXPUNGE 1"], ["w", "MOVE 1 Trash"]])
    assert.equal(await t.send(`${tag} ${cmd}\r\n`), `${tag} NO [READ-ONLY] Mailbox is read-only\r\n`, cmd);
  assert.equal(await t.send("x ENABLE QRESYNC\r\n"), "x BAD Command not allowed now\r\n");
  // FETCH BODY[] in a read-only mailbox does not set \Seen.
  assert.match(await t.send("y FETCH 1 BODY[]\r\n"), /^\* 1 FETCH \(BODY\[\] \{\d+\}\r\n/);
  assert.deepEqual((await env.messages("INBOX")).map((m) => m.flags), [[]]);
  assert.deepEqual(await env.messages("Trash"), []);
  // After LOGOUT nothing more is read.
  assert.equal(await t.send("z LOGOUT\r\nz2 NOOP\r\n"), "* BYE Petrel IMAP server signing off\r\nz OK LOGOUT completed\r\n");
  assert.equal(t.closed, true);
});

test("AUTHENTICATE: cancel, bad base64, malformed PLAIN, another authzid, an over-long response", async (ctx) => {
  const env = await imapEnv(ctx);
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const t = env.connect({ authFailureDelayMs: 500 });
  t.take();
  // A client error is BAD at once and does not count as a failed login.
  assert.equal(await t.send("a AUTHENTICATE PLAIN !!!!\r\n"), "a BAD Invalid base64\r\n");
  assert.equal(await t.send("b AUTHENTICATE PLAIN AHV\r\n"), "b BAD Invalid base64\r\n");
  assert.equal(await t.send("c AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  assert.equal(await t.send("!!!!\r\n"), "c BAD Invalid base64\r\n");
  assert.equal(await t.send("d AUTHENTICATE PLAIN\r\n"), "+ \r\n");
  assert.equal(await t.send("*\r\n"), "d BAD Authentication cancelled\r\n");
  assert.equal(await t.send(`e AUTHENTICATE PLAIN\r\n${"A".repeat(20_000)}\r\nf NOOP\r\n`), "+ \r\ne BAD Response too long\r\nf OK NOOP completed\r\n");
  assert.equal(t.s.authFailures, 0);
  // Well-formed base64 that is not a valid PLAIN message, or a wrong password, or logging in
  // as another user: a failed login, answered after the delay.
  for (const [tag, resp] of [["g", b64("\0u@x.test")], ["h", "="], ["i", b64("\0u@x.test\0pw\0")], ["j", b64("other@x.test\0u@x.test\0pw")], ["k", b64("\0u@x.test\0wrong")]]) {
    assert.equal(await t.send(`${tag} AUTHENTICATE PLAIN ${resp}\r\n`), "", tag);
    t.clock.advance(500);
    await t.settle();
    const r = t.take();
    assert.match(r, new RegExp(`^${tag} NO \\[AUTHENTICATIONFAILED\\] Invalid credentials\\r\\n`), tag);
  }
  assert.equal(t.closed, true, "five failed logins end the session");
  assert.equal(env.account.address, USER);
});

test("pipelined garbage between valid commands is answered line by line", async (ctx) => {
  const env = await imapEnv(ctx);
  const t = env.connect();
  await t.login();
  const r = await t.send("a NOOP\r\n)\r\n* NOOP\r\n+ x\r\nb\r\n\xff\xfe CAPABILITY\r\nc NOOP\r\n");
  // No tag is echoed that is not a valid tag (here "*", "+" and 8-bit octets).
  assert.equal(r, "a OK NOOP completed\r\n* BAD missing tag\r\n* BAD missing tag\r\n* BAD missing tag\r\nb BAD expected a space\r\n* BAD missing tag\r\nc OK NOOP completed\r\n");
});

test("IDLE: anything but DONE ends it with BAD, an over-long line too; the session goes on", async (ctx) => {
  const env = await imapEnv(ctx);
  await env.deliver("INBOX", MSG);
  const t = env.connect();
  await t.login();
  await t.send("s SELECT INBOX\r\n");
  assert.equal(await t.send("a IDLE\r\n"), "+ idling\r\n");
  assert.equal(await t.send("b NOOP\r\n"), "a BAD Expected DONE\r\n");
  assert.equal(await t.send("c IDLE\r\n"), "+ idling\r\n");
  assert.equal(await t.send("done\r\n"), "c OK IDLE terminated\r\n");
  assert.equal(await t.send(`d IDLE\r\n${"A".repeat(20_000)}\r\ne NOOP\r\n`), "+ idling\r\nd BAD Expected DONE\r\ne OK NOOP completed\r\n");
  assert.equal(t.closed, false);
});
