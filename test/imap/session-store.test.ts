/**
 * Two IMAP sessions of one account over the real backend and store (see
 * test/helpers/imap-session.ts): each sees the other's changes, at its next command or while IDLE.
 * Whole-server tests with real clients are in test/scenarios/imap-*.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { imapEnv } from "../helpers/imap-session.js";

const MSG = "From: Ann <ann@x.test>\r\nTo: u@x.test\r\nSubject: hello\r\nContent-Type: text/plain\r\n\r\nfirst body\r\n";

test("real backend: APPEND, SELECT, FETCH, changes between two sessions, COPY, EXPUNGE", async (ctx) => {
  const env = await imapEnv(ctx);
  const a = env.connect();
  const b = env.connect();
  await a.login();
  await b.login();
  const list = await a.send('l LIST "" *\r\n');
  assert.match(list, /\* LIST \(\\HasNoChildren\) "\/" "INBOX"\r\n/);
  assert.match(list, /\* LIST \(\\HasNoChildren \\Sent\) "\/" "Sent"\r\n/);
  assert.match(await a.send(`p APPEND INBOX (\\Seen) {${MSG.length}+}\r\n${MSG}\r\n`), /^p OK \[APPENDUID \d+ 1\] /);
  const sel = await a.send("s SELECT INBOX\r\n");
  assert.match(sel, /^\* 1 EXISTS\r\n\* 1 RECENT\r\n/);
  assert.match(sel, /s OK \[READ-WRITE\] SELECT completed\r\n$/);
  const f = await a.send("f FETCH 1 (FLAGS RFC822.SIZE BODY[] ENVELOPE)\r\n");
  const size = Number(/RFC822\.SIZE (\d+)/.exec(f)?.[1]);
  assert.ok(size >= MSG.length);
  assert.match(f, new RegExp(`BODY\\[\\] \\{${size}\\}\\r\\n`));
  assert.ok(f.includes(MSG));
  assert.match(f, /ENVELOPE \(NIL "hello" \(\("Ann" NIL "ann" "x.test"\)\)/);

  // b appends and flags; a learns at its next command, and while IDLE.
  await b.send("s SELECT INBOX\r\n");
  assert.match(await b.send(`q APPEND INBOX {${MSG.length}+}\r\n${MSG}\r\n`), /^\* 2 EXISTS\r\n.*q OK \[APPENDUID \d+ 2\] /s);
  await a.settle();
  assert.match(await a.send("n NOOP\r\n"), /^\* 2 EXISTS\r\n\* 1 RECENT\r\nn OK NOOP completed\r\n$/);
  assert.equal(await a.send("i IDLE\r\n"), "+ idling\r\n");
  assert.equal(await b.send("t STORE 2 +FLAGS.SILENT (\\Flagged)\r\n"), "t OK STORE completed\r\n");
  await a.settle();
  assert.equal(a.take(), "* 2 FETCH (FLAGS (\\Flagged) UID 2)\r\n");
  assert.equal(await b.send("u STORE 1 +FLAGS.SILENT (\\Deleted)\r\nv EXPUNGE\r\n"), "u OK STORE completed\r\n* 1 EXPUNGE\r\nv OK EXPUNGE completed\r\n");
  await a.settle();
  assert.equal(a.take(), "* 1 EXPUNGE\r\n");
  assert.equal(await a.send("DONE\r\n"), "i OK IDLE terminated\r\n");
  assert.equal(await a.send("w UID FETCH 1:* (FLAGS)\r\n"), "* 1 FETCH (UID 2 FLAGS (\\Flagged))\r\nw OK UID FETCH completed\r\n");
  assert.match(await a.send("c UID COPY 2 Archive\r\n"), /^c OK \[COPYUID \d+ 2 1\] UID COPY completed\r\n$/);
  assert.match(await a.send("st STATUS Archive (MESSAGES SIZE HIGHESTMODSEQ)\r\n"), /^\* STATUS "Archive" \(MESSAGES 1 SIZE \d+ HIGHESTMODSEQ \d+\)\r\n/);
  assert.equal(await a.send("se UID SEARCH SUBJECT hello FLAGGED\r\n"), "* SEARCH 2\r\nse OK UID SEARCH completed\r\n");
  assert.match(await a.send("bs FETCH 1 BODYSTRUCTURE\r\n"), /^\* 1 FETCH \(BODYSTRUCTURE \("text" "plain"/i);
  assert.equal(await a.send("x CREATE Work/2026\r\n"), "x OK CREATE completed\r\n");
  assert.match(await a.send("m UID MOVE 2 Work/2026\r\n"), /^\* OK \[COPYUID \d+ 2 1\] Moved\r\n\* 1 EXPUNGE\r\nm OK UID MOVE completed\r\n$/);
  await a.send("z LOGOUT\r\n");
  await b.send("z LOGOUT\r\n");
});
