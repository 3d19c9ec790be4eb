/**
 * The SMTP session as transcripts: an in-memory transport, a fake clock (timeouts without
 * sleeping) and a fake handler that records what the sink received.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { reply } from "../../core/reply.js";
import { R } from "../replies.js";
import { FakeHandler, openSession, splitReceived, type RecordedMessage } from "../../../test/helpers/session-harness.js";
import { MemoryTransport } from "../../../test/helpers/memory-transport.js";

const MSG = "Subject: test\r\n\r\nHello\r\n";

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

describe("greeting, EHLO and simple commands", () => {
  test("EHLO lists the extensions we implement", async () => {
    const t = await openSession();
    const r = await t.cmd("EHLO client.test", "250");
    const lines = r.split("\r\n").slice(0, -1);
    assert.equal(lines[0], "250-mx.petrel.test Hello client.test [192.0.2.1]");
    const ext = lines.slice(1).map((l) => l.slice(4));
    for (const e of ["PIPELINING", "SIZE 52428800", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "STARTTLS", "LIMITS RCPTMAX=1000 MAILMAX=100", "HELP"]) assert.ok(ext.includes(e), `missing ${e}`);
    assert.ok(!ext.some((e) => e.startsWith("AUTH")), "no AUTH without mechanisms");
    assert.ok(!ext.includes("REQUIRETLS"), "REQUIRETLS only inside TLS");
    assert.equal(t.session.esmtp, true);
  });

  test("HELO, NOOP, VRFY, HELP, EXPN, unknown, QUIT", async () => {
    const t = await openSession();
    await t.cmd("HELO client.test", "250 mx.petrel.test Hello client.test");
    await t.cmd("NOOP", "250 2.0.0");
    await t.cmd("NOOP anything", "250 2.0.0");
    await t.cmd("VRFY someone", "252 2.5.0");
    await t.cmd("VRFY", "501 5.5.4");
    await t.cmd("HELP", "214 2.0.0");
    await t.cmd("EXPN list", "502 5.5.1");
    await t.cmd("TURN", "502 5.5.1");
    await t.cmd("FOO bar", "500 5.5.2");
    await t.cmd("", "500 5.5.2");
    await t.cmd("RSET extra", "501 5.5.4");
    await t.cmd("quit", "221 2.0.0");
    await t.expectClosed();
  });

  test("commands that need EHLO first", async () => {
    const t = await openSession();
    await t.cmd("MAIL FROM:<a@client.test>", "503 5.5.1");
    await t.cmd("RCPT TO:<a@petrel.test>", "503 5.5.1");
    await t.cmd("DATA", "503 5.5.1");
    await t.cmd("EHLO", "501 5.5.4");
    await t.cmd("EHLO bad name", "501 5.5.4");
    await t.cmd("EHLO [192.0.2.9]", "250");
  });

  test("control characters and invalid UTF-8 in a command line", async () => {
    const t = await openSession();
    await t.cmd("NOOP\x00", "500 5.5.2 Invalid characters");
    t.send(Buffer.from([0x4e, 0x4f, 0x4f, 0x50, 0x20, 0xff, 0xfe, 0x0d, 0x0a]));
    await t.expect("500 5.5.2 Invalid characters");
    // A bare LF does not end a command line (RFC 5321 2.3.8).
    t.send("NOOP\nNOOP\r\n");
    await t.expect("500 5.5.2");
    await t.noReply();
  });

  test("an over-long command line is answered once and skipped", async () => {
    const t = await openSession();
    t.send("NOOP " + "x".repeat(600));
    await t.noReply();
    t.send("x".repeat(600) + "\r\nNOOP\r\n");
    await t.expect("500 5.5.2 Line too long");
    await t.expect("250 2.0.0");
    await t.noReply();
  });

  test("an HTTP request on the SMTP port closes the connection", async () => {
    const t = await openSession();
    t.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await t.expect("421 4.7.0");
    await t.expectClosed();
  });
});

describe("a DATA transaction", () => {
  test("the sink gets our Received: header and the unstuffed content; 250 names the queue id", async () => {
    const t = await openSession();
    await t.envelope("sender@client.test", ["rcpt@petrel.test"]);
    await t.cmd("DATA", "354");
    t.send("Subject: hi\r\n\r\n..leading dot\r\n.\r\n");
    const r = await t.expect("250 2.0.0 Ok: queued as Q");
    const [m] = t.handler.messages;
    assert.ok(m && m.committed && !m.aborted);
    assert.ok(r.includes(m.id));
    const { received, content } = splitReceived(m.data);
    assert.equal(content.toString(), "Subject: hi\r\n\r\n.leading dot\r\n");
    assert.match(received, /^Received: from client\.test \(\[192\.0\.2\.1\]\)\r\n\tby mx\.petrel\.test \(Petrel\) with ESMTP id Q\d+\r\n\tfor <rcpt@petrel\.test>;\r\n\t\w{3}, /);
    assert.equal(m.facts?.protocol, "ESMTP");
    assert.equal(m.facts?.helo, "client.test");
    assert.equal(m.from.address?.local, "sender");
    assert.deepEqual(m.rcpts.map((x) => x.address.local), ["rcpt"]);
    // The session is ready for the next transaction.
    await t.envelope("other@client.test", ["a@petrel.test", "b@petrel.test"]);
    await t.cmd("DATA", "354");
    t.send(".\r\n");
    await t.expect("250 2.0.0");
    const second = t.handler.messages[1]!;
    const split = splitReceived(second.data);
    assert.equal(split.content.length, 0, "empty message");
    assert.ok(!split.received.includes("for <"), "Bcc privacy: no recipient named when there are several");
    assert.equal(t.session.stats.accepted, 2);
  });

  test("HELO gives protocol SMTP; SMTPUTF8 gives UTF8SMTP", async () => {
    const t = await openSession();
    await t.cmd("HELO client.test", "250");
    await t.cmd("MAIL FROM:<a@client.test>", "250 2.1.0");
    await t.cmd("RCPT TO:<b@petrel.test>", "250 2.1.5");
    await t.cmd("DATA", "354");
    t.send(MSG + ".\r\n");
    await t.expect("250 2.0.0");
    assert.equal(t.handler.messages[0]!.facts?.protocol, "SMTP");
    await t.cmd("EHLO client.test", "250");
    await t.cmd("MAIL FROM:<jérôme@client.test> SMTPUTF8", "250 2.1.0");
    await t.cmd("RCPT TO:<用户@petrel.test>", "250 2.1.5");
    await t.cmd("DATA", "354");
    t.send(MSG + ".\r\n");
    await t.expect("250 2.0.0");
    assert.equal(t.handler.messages[1]!.facts?.protocol, "UTF8SMTP");
    assert.match(splitReceived(t.handler.messages[1]!.data).received, / with UTF8SMTP id /);
  });

  test("transaction state errors", async () => {
    const t = await openSession({ options: { maxErrors: 100 } });
    await t.cmd("EHLO client.test", "250");
    await t.cmd("RCPT TO:<a@petrel.test>", "503 5.5.1");
    await t.cmd("DATA", "503 5.5.1");
    await t.cmd("MAIL FROM:<a@client.test>", "250 2.1.0");
    await t.cmd("MAIL FROM:<a@client.test>", "503 5.5.1");
    await t.cmd("DATA", "554 5.5.1");
    await t.cmd("DATA x", "501 5.5.4");
    await t.cmd("RSET", "250 2.0.0");
    await t.cmd("RCPT TO:<a@petrel.test>", "503 5.5.1");
    await t.cmd("MAIL FROM:a@client.test", "501 5.1.7");
    await t.cmd("MAIL FROM:<a@client.test> FOO=1", "555 5.5.4");
    await t.cmd("MAIL FROM:<a@client.test> SIZE=x", "501 5.5.4");
    await t.cmd("MAIL FROM:<a@client.test>", "250 2.1.0");
    await t.cmd("RCPT TO:<bad", "501 5.1.3");
    await t.cmd("RCPT TO:<a@petrel.test> FOO=1", "555 5.5.4");
    await t.cmd("RCPT TO:<jérôme@petrel.test>", "553 5.6.7");
    assert.equal(t.handler.messages.length, 0);
  });

  test("MAIL with a non-ASCII address needs SMTPUTF8; declared SIZE over the limit is refused", async () => {
    const t = await openSession({ options: { maxMessageSize: 1000 } });
    await t.cmd("EHLO client.test", "250");
    await t.cmd("MAIL FROM:<jérôme@client.test>", "553 5.6.7");
    await t.cmd("MAIL FROM:<a@client.test> SIZE=1001", "552 5.3.4");
    await t.cmd("MAIL FROM:<a@client.test> SIZE=1000", "250 2.1.0");
  });

  test("EHLO and RSET abandon an open transaction", async () => {
    const t = await openSession();
    await t.envelope();
    await t.cmd("RSET", "250 2.0.0");
    await t.cmd("MAIL FROM:<a@client.test>", "250 2.1.0");
    await t.cmd("EHLO again.test", "250");
    await t.cmd("RCPT TO:<a@petrel.test>", "503 5.5.1");
  });

  test("DATA after every RCPT failed gets 554 and no sink is opened (RFC 2920 3.1)", async () => {
    const t = await openSession();
    await t.cmd("EHLO client.test", "250");
    await t.cmd("MAIL FROM:<a@client.test>", "250 2.1.0");
    await t.cmd("RCPT TO:<x@elsewhere.test>", "554 5.7.1");
    await t.cmd("RCPT TO:<y@elsewhere.test>", "554 5.7.1");
    await t.cmd("DATA", "554 5.5.1 No valid recipients");
    assert.ok(!t.handler.calls.includes("open"));
    assert.equal(t.handler.messages.length, 0);
  });

  test("pipelined group: replies in order, written together", async () => {
    const t = await openSession();
    await t.cmd("EHLO client.test", "250");
    const before = t.transport.writes.length;
    t.send("MAIL FROM:<a@client.test>\r\nRCPT TO:<x@petrel.test>\r\nRCPT TO:<y@elsewhere.test>\r\nRCPT TO:<z@petrel.test>\r\nDATA\r\n");
    await t.expect("250 2.1.0");
    await t.expect("250 2.1.5");
    await t.expect("554 5.7.1");
    await t.expect("250 2.1.5");
    await t.expect("354");
    assert.equal(t.transport.writes.length - before, 1, "one write for the whole group");
    // Content, end of data and the next commands in one packet.
    t.send(MSG + ".\r\nMAIL FROM:<b@client.test>\r\nRCPT TO:<q@petrel.test>\r\nQUIT\r\n");
    await t.expect("250 2.0.0 Ok: queued as");
    await t.expect("250 2.1.0");
    await t.expect("250 2.1.5");
    await t.expect("221 2.0.0");
    await t.expectClosed();
    assert.deepEqual(t.handler.messages[0]!.rcpts.map((r) => r.address.local), ["x", "z"]);
    assert.equal(splitReceived(t.handler.messages[0]!.data).content.toString(), MSG);
    assert.ok(t.handler.messages[0]!.committed);
  });

  test("a message split into many small packets, the terminator across them", async () => {
    const t = await openSession();
    await t.envelope();
    await t.cmd("DATA", "354");
    const wire = "A: b\r\n\r\n..x\r\n" + "y".repeat(300) + "\r\n.\r\nNOOP\r\n";
    for (let i = 0; i < wire.length; i += 7) t.send(wire.slice(i, i + 7));
    await t.expect("250 2.0.0");
    await t.expect("250 2.0.0 Ok");
    assert.equal(splitReceived(t.handler.messages[0]!.data).content.toString(), "A: b\r\n\r\n.x\r\n" + "y".repeat(300) + "\r\n");
  });

  test("RCPTMAX: past maxRecipients, 452 and the message goes to the accepted ones", async () => {
    const t = await openSession({ options: { maxRecipients: 2 } });
    await t.envelope("a@client.test", ["r1@petrel.test", "r2@petrel.test"]);
    await t.cmd("RCPT TO:<r3@petrel.test>", "452 4.5.3");
    await t.cmd("DATA", "354");
    t.send(MSG + ".\r\n");
    await t.expect("250 2.0.0");
    assert.equal(t.handler.messages[0]!.rcpts.length, 2);
    assert.equal(t.session.stats.errors, 0, "452 for too many recipients is not a client error");
  });

  test("a message over maxMessageSize: read to the end, then 552; the session goes on", async () => {
    const t = await openSession({ options: { maxMessageSize: 100 } });
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send("x".repeat(80) + "\r\n" + "y".repeat(80) + "\r\n.\r\n");
    await t.expect("552 5.3.4");
    const [m] = t.handler.messages;
    assert.ok(m!.aborted && !m!.committed);
    await t.envelope();
  });

  test("bare LF in reject mode: 550 5.6.0; in normalize mode: stored with CRLF", async () => {
    const t = await openSession();
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send("a\nb\r\n.\r\n");
    await t.expect("550 5.6.0");
    assert.ok(t.handler.messages[0]!.aborted);

    const n = await openSession({ options: { bareLineEndings: "normalize" } });
    await n.envelope();
    await n.cmd("DATA", "354");
    n.send("a\nb\rc\r\n.\r\n");
    await n.expect("250 2.0.0");
    assert.equal(splitReceived(n.handler.messages[0]!.data).content.toString(), "a\r\nb\r\nc\r\n");
  });

  test("SMTP smuggling: \\n.\\r\\n does not end DATA, the smuggled MAIL is message text", async () => {
    const t = await openSession({ options: { bareLineEndings: "normalize" } });
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send("Subject: x\r\n\r\nhi\n.\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<v@petrel.test>\r\nDATA\r\n");
    await t.noReply();
    t.send("\r\n.\r\n");
    await t.expect("250 2.0.0");
    await t.noReply();
    assert.equal(t.handler.messages.length, 1);
    assert.match(splitReceived(t.handler.messages[0]!.data).content.toString(), /MAIL FROM:<evil@x\.test>/);
  });

  test("a text line over 998 characters: 552 5.3.4", async () => {
    const t = await openSession();
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send("x".repeat(999) + "\r\n.\r\n");
    await t.expect("552 5.3.4 Message has a line longer than 998");
  });
});

describe("limits", () => {
  test("error limit: the maxErrors-th error closes with 421", async () => {
    const t = await openSession({ options: { maxErrors: 3 } });
    await t.cmd("BAD1", "500 5.5.2");
    await t.cmd("BAD2", "500 5.5.2");
    t.line("BAD3");
    await t.expect("500 5.5.2");
    await t.expect("421 4.7.0");
    await t.expectClosed();
  });

  test("junk limit: commands without a transaction", async () => {
    const t = await openSession({ options: { maxJunkCommands: 3 } });
    await t.cmd("EHLO client.test", "250");
    await t.cmd("NOOP", "250");
    await t.cmd("RSET", "250");
    await t.cmd("NOOP", "421 4.7.0");
    await t.expectClosed();
  });

  test("junk limit: MAIL resets the count", async () => {
    const t = await openSession({ options: { maxJunkCommands: 3 } });
    await t.cmd("EHLO client.test", "250");
    await t.cmd("NOOP", "250");
    await t.cmd("MAIL FROM:<a@client.test>", "250");
    for (let i = 0; i < 3; i++) await t.cmd("NOOP", "250");
    await t.cmd("NOOP", "421 4.7.0");
  });

  test("MAILMAX: the transaction past maxTransactions gets 421 (RFC 9422)", async () => {
    const t = await openSession({ options: { maxTransactions: 2 } });
    for (let i = 0; i < 2; i++) {
      await t.envelope();
      await t.cmd("DATA", "354");
      t.send(MSG + ".\r\n");
      await t.expect("250 2.0.0");
    }
    await t.cmd("MAIL FROM:<a@client.test>", "421 4.7.0");
    await t.expectClosed();
    assert.equal(t.handler.committed.length, 2);
  });

  test("submission: MAIL needs AUTH", async () => {
    const t = await openSession({ options: { requireAuth: true, listener: "submission" } });
    await t.cmd("EHLO client.test", "250");
    await t.cmd("MAIL FROM:<a@client.test>", "530 5.7.0");
  });
});

describe("timeouts (fake clock, no sleeping)", () => {
  test("command timeout: 421 4.4.2 and close", async () => {
    const t = await openSession({ options: { commandTimeoutMs: 300_000 } });
    t.clock.advance(299_999);
    await t.noReply();
    t.clock.advance(1);
    await t.expect("421 4.4.2");
    await t.expectClosed();
  });

  test("a complete command restarts the command timer", async () => {
    const t = await openSession({ options: { commandTimeoutMs: 1000 } });
    t.clock.advance(900);
    await t.cmd("NOOP", "250");
    t.clock.advance(900);
    await t.noReply();
    t.clock.advance(100);
    await t.expect("421 4.4.2");
  });

  test("trickling bytes does not extend the command timeout", async () => {
    const t = await openSession({ options: { commandTimeoutMs: 1000 } });
    for (const c of "NOOP") {
      t.send(c);
      await t.settle();
      t.clock.advance(300);
    }
    await t.expect("421 4.4.2");
    await t.expectClosed();
  });

  test("data timeout: 421, the open message is aborted", async () => {
    const t = await openSession({ options: { commandTimeoutMs: 1000, dataTimeoutMs: 5000 } });
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send("Subject: x\r\n");
    await t.settle();
    t.clock.advance(4999);
    await t.noReply();
    t.clock.advance(1);
    await t.expect("421 4.4.2");
    await t.expectClosed();
    const [m] = t.handler.messages;
    assert.ok(m!.aborted && !m!.committed);
  });

  test("the data timer restarts with every chunk", async () => {
    const t = await openSession({ options: { commandTimeoutMs: 1000, dataTimeoutMs: 5000 } });
    await t.envelope();
    await t.cmd("DATA", "354");
    for (let i = 0; i < 10; i++) {
      t.clock.advance(4000);
      t.send(`line ${i}\r\n`);
      await t.settle();
    }
    await t.noReply();
    t.send(".\r\n");
    await t.expect("250 2.0.0");
    // Back to the command timeout.
    t.clock.advance(1000);
    await t.expect("421 4.4.2");
  });

  test("a trickling client cannot stretch one message past dataMaxTime", async () => {
    const t = await openSession({ options: { commandTimeoutMs: 1000, dataTimeoutMs: 5000, dataMaxTimeMs: 20_000 } });
    await t.envelope();
    await t.cmd("DATA", "354");
    for (let i = 0; i < 4; i++) {
      t.clock.advance(4000);
      t.send(`line ${i}\r\n`);
      await t.settle();
    }
    await t.noReply();
    t.clock.advance(4000);
    await t.expect("421 4.4.2");
    await t.expectClosed();
    assert.ok(t.handler.messages[0]!.aborted && !t.handler.messages[0]!.committed);
  });

  test("BDAT waits for its octets with the data timeout", async () => {
    const t = await openSession({ options: { commandTimeoutMs: 1000, dataTimeoutMs: 5000 } });
    await t.envelope();
    t.send("BDAT 10 LAST\r\nabc");
    await t.settle();
    t.clock.advance(4999);
    await t.noReply();
    t.clock.advance(1);
    await t.expect("421 4.4.2");
    assert.ok(t.handler.messages[0]!.aborted);
  });
});

describe("BDAT (RFC 3030)", () => {
  test("one chunk with LAST", async () => {
    const t = await openSession();
    await t.envelope();
    t.send("BDAT 12 LAST\r\nhello\r\n.\r\n\r\n");
    await t.expect("250 2.0.0 Ok: queued as");
    assert.equal(splitReceived(t.handler.messages[0]!.data).content.toString(), "hello\r\n.\r\n\r\n", "octets as sent, no dot handling");
  });

  test("several chunks, pipelined with the data", async () => {
    const t = await openSession();
    await t.envelope();
    t.send("BDAT 8\r\nA: b\r\n\r\nBDAT 0\r\nBDAT 4 LAST\r\nxy\r\n");
    await t.expect("250 2.0.0 8 octets received");
    await t.expect("250 2.0.0 8 octets received");
    await t.expect("250 2.0.0 Ok: queued as");
    assert.equal(splitReceived(t.handler.messages[0]!.data).content.toString(), "A: b\r\n\r\nxy\r\n");
    assert.ok(t.handler.messages[0]!.committed);
  });

  test("chunk octets arriving in many packets", async () => {
    const t = await openSession();
    await t.envelope();
    const body = "Subject: x\r\n\r\n" + "z".repeat(500) + "\r\n";
    t.send(`BDAT ${body.length} LAST\r\n`);
    for (let i = 0; i < body.length; i += 13) {
      t.send(body.slice(i, i + 13));
      await t.settle();
    }
    await t.expect("250 2.0.0 Ok");
    assert.equal(splitReceived(t.handler.messages[0]!.data).content.toString(), body);
  });

  test("BDAT 0 LAST: an empty message", async () => {
    const t = await openSession();
    await t.envelope();
    await t.cmd("BDAT 0 LAST", "250 2.0.0 Ok");
    assert.equal(splitReceived(t.handler.messages[0]!.data).content.length, 0);
  });

  test("without MAIL: the octets are read, then 503; the stream stays in step", async () => {
    const t = await openSession();
    await t.cmd("EHLO client.test", "250");
    t.send("BDAT 6\r\nNOOP\r\nNOOP\r\n");
    await t.expect("503 5.5.1");
    await t.expect("250 2.0.0");
    await t.noReply();
  });

  test("every RCPT failed: the chunk is read and refused with 554, later chunks with 503", async () => {
    const t = await openSession();
    await t.cmd("EHLO client.test", "250");
    await t.cmd("MAIL FROM:<a@client.test>", "250");
    await t.cmd("RCPT TO:<x@elsewhere.test>", "554 5.7.1");
    t.send("BDAT 4\r\nabcdBDAT 3 LAST\r\nxyz");
    await t.expect("554 5.5.1");
    await t.expect("503 5.5.1");
    assert.ok(!t.handler.calls.includes("open"));
    await t.cmd("MAIL FROM:<a@client.test>", "250 2.1.0");
  });

  test("syntax error: without a size the stream cannot be followed, so the session closes", async () => {
    const t = await openSession();
    await t.envelope();
    await t.cmd("BDAT x", "501 5.5.4");
    await t.expectClosed();
    assert.ok(t.handler.messages.every((m) => !m.committed));
  });

  test("DATA after BDAT is refused; BDAT after a refused chunk is refused", async () => {
    const t = await openSession({ options: { maxMessageSize: 10 } });
    await t.envelope();
    t.send("BDAT 4\r\nabcd");
    await t.expect("250 2.0.0 4 octets");
    await t.cmd("DATA", "503 5.5.1");
    t.send("BDAT 20\r\n" + "x".repeat(20));
    await t.expect("552 5.3.4");
    t.send("BDAT 2 LAST\r\nab");
    await t.expect("503 5.5.1");
    assert.ok(t.handler.messages[0]!.aborted && !t.handler.messages[0]!.committed);
    await t.cmd("RSET", "250");
    await t.envelope();
    await t.cmd("BDAT 0 LAST", "250 2.0.0 Ok");
  });

  test("after a failed chunk, a new MAIL starts a new transaction (as the 503 text says)", async () => {
    const t = await openSession({ options: { maxMessageSize: 10 } });
    await t.envelope();
    t.send("BDAT 20\r\n" + "x".repeat(20));
    await t.expect("552 5.3.4");
    t.send("BDAT 1\r\nx");
    await t.expect("503 5.5.1 Transaction failed; send RSET or a new MAIL");
    await t.cmd("MAIL FROM:<again@client.test>", "250 2.1.0");
    await t.cmd("RCPT TO:<r@petrel.test>", "250 2.1.5");
    t.send("BDAT 3 LAST\r\nabc");
    await t.expect("250 2.0.0 Ok");
    const m = t.handler.committed[0]!;
    assert.equal(m.from.address?.local, "again");
    assert.equal(splitReceived(m.data).content.toString(), "abc");
  });

  test("bare LF in BDAT content is refused at LAST in reject mode", async () => {
    const t = await openSession();
    await t.envelope();
    t.send("BDAT 4 LAST\r\na\nb\r");
    await t.expect("550 5.6.0");
  });
});

describe("handler failures: policy fails closed, nothing is acknowledged", () => {
  const boom = () => {
    throw new Error("policy backend down");
  };

  test("connect hook throws: 451 4.3.0 and close", async () => {
    const t = await openSession({ handler: { connect: boom }, greeting: "451 4.3.0" });
    await t.expectClosed();
  });

  test("connect hook refuses: its reply, then close", async () => {
    const t = await openSession({ handler: { connect: () => reply(554, "5.7.1", "No SMTP service here") }, greeting: "554 5.7.1" });
    await t.expectClosed();
  });

  test("HELO, MAIL and RCPT hooks that throw give 451 4.3.0", async () => {
    for (const [hooks, failing] of [
      [{ helo: boom }, "EHLO client.test"],
      [{ mail: boom }, "MAIL FROM:<a@client.test>"],
      [{ rcpt: boom }, "RCPT TO:<a@petrel.test>"],
    ] as const) {
      const t = await openSession({ handler: hooks });
      if (!failing.startsWith("EHLO")) await t.cmd("EHLO client.test", "250");
      if (failing.startsWith("RCPT")) await t.cmd("MAIL FROM:<a@client.test>", "250");
      await t.cmd(failing, "451 4.3.0");
      assert.ok(t.errors.length > 0, "the detail is logged");
      assert.ok(!t.transport.output.includes("policy backend down"), "the client sees generic text");
      assert.equal(t.handler.messages.length, 0);
      // A temporary failure of one command, not of the session (RFC 5321 3.8: no close without 421).
      await t.cmd("NOOP", "250 2.0.0");
      if (failing.startsWith("RCPT")) {
        // Nothing was accepted for this recipient.
        await t.cmd("DATA", "554 5.5.1");
      }
    }
  });

  test("opening the message fails: 451 4.3.0 instead of 354, the transaction is gone", async () => {
    const t = await openSession({ handler: { open: boom } });
    await t.envelope();
    await t.cmd("DATA", "451 4.3.0");
    await t.cmd("RCPT TO:<b@petrel.test>", "503 5.5.1");
    await t.cmd("MAIL FROM:<a@client.test>", "250 2.1.0");
  });

  test("commit fails: 451 4.3.0, the message is aborted, no 250 for it", async () => {
    const t = await openSession({ handler: { commit: boom } });
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send(MSG + ".\r\n");
    await t.expect("451 4.3.0");
    const [m] = t.handler.messages;
    assert.ok(m!.aborted && !m!.committed);
    assert.ok(!t.transport.output.includes("queued as"));
    assert.equal(t.session.stats.accepted, 0);
    await t.envelope();
  });

  test("commit refuses (end-of-data policy): its reply", async () => {
    const t = await openSession({ handler: { commit: () => reply(554, "5.7.1", "Message refused") } });
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send(MSG + ".\r\n");
    await t.expect("554 5.7.1");
    assert.equal(t.session.stats.rejected, 1);
  });

  test("commit of a BDAT message fails: 451 4.3.0", async () => {
    const t = await openSession({ handler: { commit: boom } });
    await t.envelope();
    t.send("BDAT 5 LAST\r\nhello");
    await t.expect("451 4.3.0");
    assert.ok(t.handler.messages[0]!.aborted);
  });

  test("the client leaving while the commit runs does not abort the message being made durable", async () => {
    const gate = deferred<void>();
    const t = await openSession({
      handler: {
        commit: async (m: RecordedMessage) => {
          await gate.promise;
          return R.queued(m.id);
        },
      },
    });
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send(MSG + ".\r\n");
    await t.settle();
    t.session.remoteClosed();
    await t.settle();
    gate.resolve();
    await t.settle();
    const [m] = t.handler.messages;
    assert.equal(m!.abortedDuringCommit, false, "abort() must not run while commit() runs");
    assert.ok(m!.committed);
    assert.ok(t.session.isClosed);
  });
});

describe("graceful shutdown", () => {
  test("an idle session gets 421 4.3.2 and is closed", async () => {
    const t = await openSession();
    await t.cmd("EHLO client.test", "250");
    t.session.shutdown();
    await t.expect("421 4.3.2");
    await t.expectClosed();
  });

  test("a session in DATA may finish its message, then gets 421", async () => {
    const t = await openSession();
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send("Subject: x\r\n");
    await t.settle();
    t.session.shutdown();
    await t.noReply();
    assert.ok(!t.transport.closed);
    t.send("\r\nbody\r\n.\r\n");
    await t.expect("250 2.0.0 Ok: queued as");
    await t.expect("421 4.3.2");
    await t.expectClosed();
    assert.ok(t.handler.messages[0]!.committed);
  });

  test("grace period over: 421 whatever the state, the open message is aborted", async () => {
    const t = await openSession();
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send("Subject: x\r\n");
    await t.settle();
    t.session.shutdown();
    t.session.shutdownNow();
    await t.expect("421 4.3.2");
    await t.expectClosed();
    assert.ok(t.handler.messages[0]!.aborted);
    await t.session.closed;
  });
  test("a commit in progress when the grace period ends still gets its 250 before the 421", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t = await openSession({ handler: { commit: async (m) => (await gate, R.queued(m.id)) } });
    await t.envelope();
    await t.cmd("DATA", "354");
    t.send("Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<next@client.test>\r\n");
    await t.settle();
    t.session.shutdown();
    t.session.shutdownNow();
    await t.noReply();
    assert.ok(!t.transport.closed, "not cut off while committing");
    release();
    await t.expect("250 2.0.0 Ok: queued as");
    await t.expect("421 4.3.2");
    await t.expectClosed();
    assert.equal(t.handler.calls.filter((c) => c.startsWith("mail")).length, 1, "no new command after shutdown");
  });
});

describe("STARTTLS and AUTH", () => {
  test("STARTTLS discards pipelined plaintext and resets the session (RFC 3207 4.2)", async () => {
    const t = await openSession();
    await t.cmd("EHLO client.test", "250");
    t.send("STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\n");
    await t.expect("220 2.0.0");
    await t.noReply();
    assert.ok(t.session.tls);
    assert.equal(t.session.helo, undefined);
    await t.cmd("MAIL FROM:<a@client.test>", "503 5.5.1");
    const ehlo = await t.cmd("EHLO client.test", "250");
    assert.ok(!ehlo.includes("STARTTLS"));
    assert.ok(ehlo.includes("REQUIRETLS"));
    await t.cmd("STARTTLS", "503 5.5.1");
    await t.cmd("MAIL FROM:<a@client.test> REQUIRETLS", "250 2.1.0");
  });

  test("AUTH: only inside TLS by default; a PLAIN exchange; cancel; bad base64", async () => {
    const sasl = () => ({
      async step(r: Buffer | null) {
        if (r === null) return { challenge: Buffer.alloc(0) };
        return r.toString() === "\0user\0secret" ? { user: "user" } : ({ failed: true } as const);
      },
    });
    const t = await openSession({ handler: { mechanisms: ["PLAIN"], sasl } });
    const ehlo = await t.cmd("EHLO client.test", "250");
    assert.ok(!ehlo.includes("AUTH"));
    await t.cmd("AUTH PLAIN", "530 5.7.0");

    const u = await openSession({ handler: { mechanisms: ["PLAIN"], sasl }, options: { authRequiresTls: false } });
    assert.ok((await u.cmd("EHLO client.test", "250")).includes("250-AUTH PLAIN"));
    await u.cmd("AUTH LOGIN", "504 5.5.4");
    await u.cmd("AUTH PLAIN", "334");
    await u.cmd("*", "501 5.0.0");
    await u.cmd("AUTH PLAIN !!!", "501 5.5.2");
    await u.cmd("AUTH PLAIN " + Buffer.from("\0user\0wrong").toString("base64"), "535 5.7.8");
    await u.cmd("AUTH PLAIN", "334");
    await u.cmd(Buffer.from("\0user\0secret").toString("base64"), "235 2.7.0");
    assert.equal(u.session.authUser, "user");
    await u.cmd("AUTH PLAIN", "503 5.5.1");
    await u.cmd("MAIL FROM:<a@client.test>", "250");
    await u.cmd("DATA", "554");
  });
});

describe("AUTH lines", () => {
  test("a long AUTH line (RFC 4954 4: up to 12288 octets) is read whole, however it is cut", async () => {
    const sasl = () => ({ step: async (r: Buffer | null) => (r && r.length === 3000 ? { user: "big" } : ({ failed: true } as const)) });
    const line = "AUTH PLAIN " + Buffer.alloc(3000, 1).toString("base64") + "\r\n";
    for (const cut of [1, 3, 4, 5, 6, 11, 600]) {
      const t = await openSession({ handler: { mechanisms: ["PLAIN"], sasl }, options: { authRequiresTls: false } });
      await t.cmd("EHLO client.test", "250");
      t.send(line.slice(0, cut));
      await t.settle();
      t.send(line.slice(cut));
      await t.expect("235 2.7.0");
    }
  });
});

describe("flow control", () => {
  test("a slow sink pauses the socket and resumes it when the input is drained", async () => {
    const gate = deferred<void>();
    let held = false;
    const transport = new MemoryTransport();
    const handler = new FakeHandler({
      write: async (m) => {
        // Hold the first write of content (the Received: header is the first write of all).
        if (!held && m.writes > 0) {
          held = true;
          await gate.promise;
        }
      },
    });
    const t = await openSession({ handler, transport });
    await t.envelope();
    await t.cmd("DATA", "354");
    const chunk = Buffer.from(("x".repeat(998) + "\r\n").repeat(64)); // 64000 octets
    for (let i = 0; i < 8; i++) t.send(chunk);
    await t.settle();
    assert.ok(held);
    assert.ok(transport.paused, "input over the high-water mark pauses the socket");
    gate.resolve();
    await t.settle();
    assert.ok(!transport.paused, "resumed once the input is drained");
    t.send(".\r\n");
    await t.expect("250 2.0.0");
    assert.equal(splitReceived(handler.messages[0]!.data).content.length, chunk.length * 8);
  });

  test("no write ever happens after close", async () => {
    const t = await openSession({ options: { maxErrors: 2 } });
    t.send("A\r\nB\r\nC\r\nD\r\n");
    await t.expectClosed();
    t.send("NOOP\r\n");
    t.session.shutdown();
    t.session.shutdownNow();
    t.clock.advance(3_600_000);
    await t.settle();
    assert.equal(t.transport.writesAfterClose, 0);
  });
});
