/**
 * The SMTP listener's limits and defences, driven byte by byte with a raw socket client:
 * every limit with its reply, timeouts, connection limits, relay control, SMTP smuggling,
 * STARTTLS command injection, BDAT framing, pipelining and the small commands.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { SmtpClient, queueIdOf, type SmtpReply } from "../helpers/smtp-client.js";
import { assertStored, storedMessage } from "../helpers/stored.js";
import type { ConfigInput } from "../../src/config/schema.js";

const FROM = "MAIL FROM:<sender@client.test>";
const RCPT = "RCPT TO:<user@petrel.test>";

function code(r: SmtpReply): string {
  return `${r.code}${r.enhanced ? " " + r.enhanced : ""}`;
}

/** A client on the MX port, past the greeting and EHLO. */
async function ready(server: TestServer): Promise<SmtpClient> {
  const c = await SmtpClient.open(server.port("smtp"));
  await c.ehlo();
  return c;
}

/** MAIL + RCPT + DATA (354), ready for content. */
async function openData(c: SmtpClient): Promise<void> {
  await c.expect(FROM, 250, "2.1.0");
  await c.expect(RCPT, 250, "2.1.5");
  await c.expect("DATA", 354);
}

/** CRLF-ended lines of `width` octets (the first one longer by the remainder) making exactly `total` octets. */
function content(total: number, width = 100): Buffer {
  const lines: string[] = [];
  let left = total;
  for (let n = 0; left > 0; n++) {
    const w = n === 0 ? width + (total % width) : width;
    lines.push(String(n % 10).repeat(w - 2) + "\r\n");
    left -= w;
  }
  const b = Buffer.from(lines.join(""), "latin1");
  assert.equal(b.length, total);
  return b;
}

/** A server of its own for the enclosing describe(), with these smtp settings. */
function serverWith(smtp: NonNullable<ConfigInput["smtp"]>): { get(): TestServer } {
  let server: TestServer;
  before(async () => {
    server = await startServer({ overrides: { smtp } });
  });
  after(async () => {
    await server.stop();
  });
  return { get: () => server };
}

describe("line and message limits", () => {
  const s = serverWith({ maxMessageSize: 10_000, maxRecipients: 5 });

  test("a command line over 512 octets gets 500 5.5.2 and the session continues", async () => {
    const c = await ready(s.get());
    // 510 characters + CRLF = 512 octets: the longest allowed line (RFC 5321 4.5.3.1.4).
    await c.expect("NOOP " + "a".repeat(505), 250, "2.0.0");
    await c.expect("NOOP " + "a".repeat(506), 500, "5.5.2");
    // A very long line, sent in pieces, is discarded up to its CRLF: one reply only.
    c.write("MAIL FROM:<" + "b".repeat(3000));
    c.write("c".repeat(3000) + "@client.test>\r\n");
    assert.equal(code(await c.reply()), "500 5.5.2");
    await c.expect("NOOP", 250);
    await c.expect(FROM, 250, "2.1.0");
    assert.equal(await c.quiet(50), "");
    await c.quit();
  });

  test("SIZE above the maximum is refused at MAIL with 552 5.3.4; the advertised SIZE is the limit", async () => {
    const c = await SmtpClient.open(s.get().port("smtp"));
    const ext = await c.ehlo();
    assert.ok(ext.includes("SIZE 10000"), `EHLO advertises SIZE 10000: ${ext.join(", ")}`);
    await c.expect(`${FROM} SIZE=10001`, 552, "5.3.4");
    await c.expect(`${FROM} SIZE=10000`, 250, "2.1.0");
    await c.quit();
  });

  test("a message over the maximum gets 552 5.3.4 after its data, nothing is stored, and the session goes on", async () => {
    const server = s.get();
    const before = await server.petrel.store.queue.count();
    const c = await ready(server);
    await openData(c);
    c.write(content(10_001));
    c.write(".\r\n");
    assert.equal(code(await c.reply()), "552 5.3.4");
    assert.equal(await server.petrel.store.queue.count(), before);
    // Exactly the maximum is accepted, in the same session.
    await openData(c);
    const body = content(10_000);
    c.write(body);
    c.write(".\r\n");
    const r = await c.reply();
    assert.equal(code(r), "250 2.0.0");
    await assertStored(server, queueIdOf(r), { content: body, recipients: ["user@petrel.test"] });
    await c.quit();
  });

  test("BDAT over the maximum: the chunk is read, then 552 5.3.4, and later chunks get 503", async () => {
    const server = s.get();
    const before = await server.petrel.store.queue.count();
    const c = await ready(server);
    await c.expect(FROM, 250);
    await c.expect(RCPT, 250);
    c.write("BDAT 6000\r\n");
    c.write(content(6000));
    assert.equal(code(await c.reply()), "250 2.0.0");
    c.write("BDAT 6000\r\n");
    c.write(content(6000));
    assert.equal(code(await c.reply()), "552 5.3.4");
    // The transaction has failed: a further chunk is read, then refused.
    c.write("BDAT 6 LAST\r\nNOOP\r\n");
    assert.equal(code(await c.reply()), "503 5.5.1");
    await c.expect("RSET", 250);
    assert.equal(await server.petrel.store.queue.count(), before);
    await c.quit();
  });

  test("recipients past maxRecipients get 452 4.5.3; the message goes to the accepted ones", async () => {
    const server = s.get();
    const c = await ready(server);
    await c.expect(FROM, 250);
    const rcpts = [1, 2, 3, 4, 5].map((i) => `u${i}@petrel.test`);
    for (const r of rcpts) await c.expect(`RCPT TO:<${r}>`, 250, "2.1.5");
    await c.expect("RCPT TO:<u6@petrel.test>", 452, "4.5.3");
    await c.expect("RCPT TO:<u7@petrel.test>", 452, "4.5.3");
    await c.expect("DATA", 354);
    const r = await c.cmd("Subject: many\r\n\r\nhi\r\n.");
    assert.equal(code(r), "250 2.0.0");
    await assertStored(server, queueIdOf(r), { content: "Subject: many\r\n\r\nhi\r\n", recipients: rcpts });
    await c.quit();
  });

  test("a text line over 1000 octets gets 552 5.3.4 after the data; 1000 octets is fine", async () => {
    const server = s.get();
    const c = await ready(server);
    await openData(c);
    c.write("Subject: long\r\n\r\n" + "x".repeat(999) + "\r\n.\r\n");
    const refused = await c.reply();
    assert.equal(code(refused), "552 5.3.4");
    assert.match(refused.lines[0]!, /longer than 998/);
    await openData(c);
    const ok = "Subject: long\r\n\r\n" + "y".repeat(998) + "\r\n";
    c.write(ok + ".\r\n");
    const r = await c.reply();
    assert.equal(code(r), "250 2.0.0");
    await assertStored(server, queueIdOf(r), { content: ok });
    await c.quit();
  });
});

describe("session limits", () => {
  const s = serverWith({ maxErrors: 3, maxJunkCommands: 4, maxTransactions: 2, maxRecipients: 7 });

  test("maxErrors: the third error reply is followed by 421 4.7.0 and the connection closes", async () => {
    const c = await ready(s.get());
    await c.expect("FOO", 500, "5.5.2");
    await c.expect("RCPT TO:<user@petrel.test>", 503, "5.5.1");
    c.send("BAR");
    assert.equal(code(await c.reply()), "500 5.5.2");
    const last = await c.reply();
    assert.equal(code(last), "421 4.7.0");
    assert.match(last.lines[0]!, /^mx\.petrel\.test /);
    await c.waitClosed();
  });

  test("junk commands: more than maxJunkCommands without a MAIL get 421 4.7.0; MAIL resets the count", async () => {
    const c = await ready(s.get()); // EHLO: 1
    await c.expect("NOOP", 250); // 2
    await c.expect("VRFY someone", 252); // 3
    await c.expect(FROM, 250); // reset
    await c.expect("RSET", 250); // 1
    await c.expect("NOOP", 250); // 2
    await c.expect("HELP", 214); // 3
    await c.expect("NOOP", 250); // 4
    c.send("NOOP"); // 5: one too many
    assert.equal(code(await c.reply()), "421 4.7.0");
    await c.waitClosed();
  });

  test("MAILMAX: the transaction past maxTransactions gets 421 4.7.0 and the connection closes", async () => {
    const c = await SmtpClient.open(s.get().port("smtp"));
    const ext = await c.ehlo();
    assert.ok(ext.includes("LIMITS RCPTMAX=7 MAILMAX=2"), ext.join(", "));
    await c.expect(FROM, 250);
    await c.expect("RSET", 250);
    await c.expect(FROM, 250);
    await c.expect("RSET", 250);
    c.send(FROM);
    assert.equal(code(await c.reply()), "421 4.7.0");
    await c.waitClosed();
  });
});

describe("timeouts", () => {
  const s = serverWith({ commandTimeout: "1s", dataTimeout: "1s" });

  test("an idle client gets 421 4.4.2 and is disconnected", async () => {
    const c = await ready(s.get());
    const r = await c.reply(3000);
    assert.equal(code(r), "421 4.4.2");
    await c.waitClosed();
  });

  test("trickling a command line byte by byte does not extend the command timeout", async () => {
    const c = await ready(s.get());
    const line = "NOOP " + "z".repeat(30) + "\r\n"; // 37 bytes at 300 ms each: 11 s if the timer were reset
    let sent = 0;
    const trickle = setInterval(() => {
      if (c.isClosed || sent >= line.length) return;
      c.write(line[sent++]!);
    }, 300);
    try {
      const r = await c.reply(4000);
      assert.equal(code(r), "421 4.4.2");
      await c.waitClosed();
      assert.ok(sent < line.length, `timed out while the line was still trickling (${sent}/${line.length} bytes sent)`);
    } finally {
      clearInterval(trickle);
    }
  });

  test("a client that stops sending message data gets 421 4.4.2; nothing is stored", async () => {
    const server = s.get();
    const before = await server.petrel.store.queue.count();
    const c = await ready(server);
    await openData(c);
    c.write("Subject: stalled\r\n\r\npart of a mess");
    const r = await c.reply(3000);
    assert.equal(code(r), "421 4.4.2");
    await c.waitClosed();
    assert.equal(await server.petrel.store.queue.count(), before);
  });

  test("a stalled BDAT chunk times out with 421 4.4.2", async () => {
    const c = await ready(s.get());
    await c.expect(FROM, 250);
    await c.expect(RCPT, 250);
    c.write("BDAT 100 LAST\r\nonly ten b");
    assert.equal(code(await c.reply(3000)), "421 4.4.2");
    await c.waitClosed();
  });

  test("message data that keeps coming is not cut off: the data timeout is per chunk", async () => {
    const server = s.get();
    const c = await ready(server);
    await openData(c);
    const pieces = ["Subject: slow\r\n", "\r\n", "one\r\n", "two\r\n", "three\r\n", "four\r\n", "five\r\n"];
    for (const p of pieces) {
      c.write(p);
      await new Promise((r) => setTimeout(r, 300)); // 2.1 s in all, 0.3 s between chunks
    }
    c.write(".\r\n");
    const r = await c.reply();
    assert.equal(code(r), "250 2.0.0");
    await assertStored(server, queueIdOf(r), { content: pieces.join("") });
    await c.quit();
  });
});

describe("connection limits", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ overrides: { limits: { maxConnections: 3, maxConnectionsPerIp: 2 } } });
  });
  after(async () => {
    await server.stop();
  });

  async function refused(localAddress: string): Promise<void> {
    const c = await SmtpClient.connect(server.port("smtp"), { localAddress });
    const r = await c.reply();
    assert.equal(code(r), "421 4.7.0", `connection from ${localAddress} must be refused`);
    await c.waitClosed();
  }

  test("per IP and in total: 421 4.7.0 and close; a slot frees when a session ends", async () => {
    const port = server.port("smtp");
    const a1 = await SmtpClient.open(port, { localAddress: "127.0.0.1" });
    const a2 = await SmtpClient.open(port, { localAddress: "127.0.0.1" });
    await refused("127.0.0.1"); // third from the same IP
    const b1 = await SmtpClient.open(port, { localAddress: "127.0.0.2" }); // another IP: total 3
    await refused("127.0.0.3"); // a fourth in total, from a fresh IP
    // The limit is shared by all SMTP listeners.
    const sub = await SmtpClient.connect(server.port("submission"), { localAddress: "127.0.0.4" });
    assert.equal(code(await sub.reply()), "421 4.7.0");
    await sub.waitClosed();
    // The sessions that were let in work normally.
    await a2.ehlo();
    await a2.expect(FROM, 250);
    await a1.quit();
    // Once the server has seen the close, the slot is free again.
    let again: SmtpClient | undefined;
    for (let i = 0; i < 50 && !again; i++) {
      const c = await SmtpClient.connect(port, { localAddress: "127.0.0.1" });
      const r = await c.reply();
      if (r.code === 220) again = c;
      else {
        await c.waitClosed();
        await new Promise((res) => setTimeout(res, 20));
      }
    }
    assert.ok(again, "a new connection is accepted after one closed");
    await again.ehlo();
    await again.quit();
    await a2.quit();
    await b1.quit();
  });
});

describe("relay control on the MX port", () => {
  const s = serverWith({});

  const refusedWith554 = [
    "<u@evil.test>",
    "<u%evil.test@petrel.test>",
    "<evil.test!u@petrel.test>",
    '<"u@evil.test"@petrel.test>',
    "<u@[127.0.0.1]>",
    "<@petrel.test:u@evil.test>",
    "<@petrel.test,@other.test:u@evil.test>",
  ];
  for (const rcpt of refusedWith554) {
    test(`RCPT TO:${rcpt} is refused with 554 5.7.1`, async () => {
      const server = s.get();
      const before = await server.petrel.store.queue.count();
      const c = await ready(server);
      await c.expect(FROM, 250);
      await c.expect(`RCPT TO:${rcpt}`, 554, "5.7.1");
      // RFC 2920 3.1: no valid recipient, so DATA is refused and no content is read.
      await c.expect("DATA", 554, "5.5.1");
      await c.quit();
      assert.equal(await server.petrel.store.queue.count(), before);
    });
  }

  test("RCPT TO:<u@evil.test.> (trailing dot) is refused with a 5xx", async () => {
    const c = await ready(s.get());
    await c.expect(FROM, 250);
    const r = await c.cmd("RCPT TO:<u@evil.test.>");
    assert.ok(r.code >= 500 && r.code < 600, `refused: ${r.raw}`);
    await c.expect("DATA", 554, "5.5.1");
    await c.quit();
  });

  const accepted: [string, string][] = [
    ["<U@PETREL.TEST>", "U@petrel.test"],
    ["<Postmaster>", "postmaster"],
    ["<postmaster@petrel.test>", "postmaster@petrel.test"],
    ["<@evil.test:u@petrel.test>", "u@petrel.test"],
  ];
  for (const [rcpt, storedAs] of accepted) {
    test(`RCPT TO:${rcpt} is accepted and stored as ${storedAs}`, async () => {
      const server = s.get();
      const c = await ready(server);
      await c.expect(FROM, 250);
      await c.expect(`RCPT TO:${rcpt}`, 250, "2.1.5");
      await c.expect("DATA", 354);
      const r = await c.cmd("Subject: relay\r\n\r\nok\r\n.");
      assert.equal(code(r), "250 2.0.0");
      await assertStored(server, queueIdOf(r), { content: "Subject: relay\r\n\r\nok\r\n", sender: "sender@client.test", recipients: [storedAs] });
      await c.quit();
    });
  }

  test("one refused recipient does not stop the accepted ones", async () => {
    const server = s.get();
    const c = await ready(server);
    await c.expect(FROM, 250);
    await c.expect("RCPT TO:<a@petrel.test>", 250);
    await c.expect("RCPT TO:<b@evil.test>", 554, "5.7.1");
    await c.expect("RCPT TO:<c@petrel.test>", 250);
    await c.expect("DATA", 354);
    const r = await c.cmd("Subject: mixed\r\n\r\nok\r\n.");
    await assertStored(server, queueIdOf(r), { content: "Subject: mixed\r\n\r\nok\r\n", recipients: ["a@petrel.test", "c@petrel.test"] });
    await c.quit();
  });
});

const SMUGGLE_VARIANTS: [string, string][] = [
  ["\\n.\\n", "\n.\n"],
  ["\\r\\n.\\n", "\r\n.\n"],
  ["\\n.\\r\\n", "\n.\r\n"],
  ["\\r.\\r\\n", "\r.\r\n"],
];
const INJECTED = "MAIL FROM:<smuggler@evil.test>\r\nRCPT TO:<victim@petrel.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n";

describe("SMTP smuggling (bare line endings rejected, the default)", () => {
  const s = serverWith({});

  for (const [name, ending] of SMUGGLE_VARIANTS) {
    test(`"${name}" inside DATA neither ends the message nor runs commands: one 550 5.6.0`, async () => {
      const server = s.get();
      const before = await server.petrel.store.queue.count();
      const c = await ready(server);
      await openData(c);
      c.write("Subject: carrier\r\n\r\nbody" + ending + INJECTED + "\r\n.\r\n");
      const r = await c.reply();
      assert.equal(code(r), "550 5.6.0");
      // The next reply is for our NOOP: nothing was executed from inside the message.
      await c.expect("NOOP", 250, "2.0.0");
      assert.equal(await c.quiet(100), "");
      // No transaction is open (an injected MAIL would make this 503 "Sender already specified").
      await c.expect(FROM, 250, "2.1.0");
      await c.quit();
      assert.equal(await server.petrel.store.queue.count(), before);
    });
  }
});

describe("SMTP smuggling with bareLineEndings: normalize", () => {
  const s = serverWith({ bareLineEndings: "normalize" });

  for (const [name, ending] of SMUGGLE_VARIANTS) {
    test(`"${name}" is message content: one 250, stored with CRLF line endings only`, async () => {
      const server = s.get();
      const before = await server.petrel.store.queue.count();
      const c = await ready(server);
      await openData(c);
      c.write("Subject: carrier\r\n\r\nbody" + ending + INJECTED + "\r\n.\r\n");
      const r = await c.reply();
      assert.equal(code(r), "250 2.0.0");
      await c.expect("NOOP", 250);
      assert.equal(await c.quiet(100), "");
      await c.quit();
      assert.equal(await server.petrel.store.queue.count(), before + 1, "exactly one message");
      const m = await storedMessage(server, queueIdOf(r));
      const text = m.content.toString("latin1");
      assert.doesNotMatch(text, /\r(?!\n)|(?<!\r)\n/, "no bare CR or LF is stored");
      assert.ok(text.startsWith("Subject: carrier\r\n\r\nbody\r\n"), JSON.stringify(text));
      assert.ok(text.endsWith("\r\n" + INJECTED + "\r\n"), JSON.stringify(text));
      assert.deepEqual(m.entry.recipients.map((x) => x.address), ["user@petrel.test"]);
    });
  }

  test("bare LF and bare CR become CRLF, byte for byte otherwise", async () => {
    const server = s.get();
    const c = await ready(server);
    await openData(c);
    c.write("Subject: bare\r\n\r\nline1\nline2\rline3\r\n..dot\r\n.\r\n");
    const r = await c.reply();
    assert.equal(code(r), "250 2.0.0");
    await assertStored(server, queueIdOf(r), { content: "Subject: bare\r\n\r\nline1\r\nline2\r\nline3\r\n.dot\r\n" });
    await c.quit();
  });
});

describe("STARTTLS", () => {
  const s = serverWith({});

  test("commands pipelined after STARTTLS are discarded; after TLS, EHLO is required again", async () => {
    const server = s.get();
    const c = await SmtpClient.open(server.port("smtp"));
    const ext = await c.ehlo();
    assert.ok(ext.includes("STARTTLS"));
    assert.ok(!ext.includes("REQUIRETLS"));
    c.write("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\n");
    assert.equal(code(await c.reply()), "220 2.0.0");
    assert.equal(c.pending, "", "nothing after 220 in plaintext");
    await c.startTls();
    // The injected MAIL was not executed, and the pre-TLS EHLO is forgotten (RFC 3207 4.2).
    await c.expect("MAIL FROM:<a@client.test>", 503, "5.5.1");
    const tlsExt = await c.ehlo();
    assert.ok(!tlsExt.includes("STARTTLS"), "STARTTLS is not offered inside TLS");
    assert.ok(tlsExt.includes("REQUIRETLS"));
    await c.expect("STARTTLS", 503, "5.5.1");
    await c.expect(FROM, 250, "2.1.0");
    await c.expect(RCPT, 250);
    await c.expect("DATA", 354);
    const r = await c.cmd("Subject: tls\r\n\r\nsecret\r\n.");
    assert.equal(code(r), "250 2.0.0");
    const m = await assertStored(server, queueIdOf(r), { content: "Subject: tls\r\n\r\nsecret\r\n", protocol: "ESMTPS", sender: "sender@client.test" });
    assert.match(m.received, /\(using TLSv1\.[23] with cipher \S+\)/);
    assert.equal(await c.quiet(50), "");
    await c.quit();
  });

  test("STARTTLS with a transaction open is refused; an argument is a syntax error", async () => {
    const c = await ready(s.get());
    await c.expect("STARTTLS now", 501, "5.5.4");
    await c.expect(FROM, 250);
    await c.expect("STARTTLS", 503, "5.5.1");
    await c.quit();
  });

  test("implicit TLS (submissions) does not offer STARTTLS and refuses it", async () => {
    const c = await SmtpClient.open(s.get().port("submissions"), { tls: true });
    const ext = await c.ehlo();
    assert.ok(!ext.includes("STARTTLS"));
    await c.expect("STARTTLS", 503, "5.5.1");
    // Submission without AUTH is refused at MAIL (RFC 6409 4.3).
    await c.expect(FROM, 530, "5.7.0");
    await c.quit();
  });
});

describe("BDAT (RFC 3030 CHUNKING)", () => {
  const s = serverWith({});

  test("chunks then BDAT 0 LAST: stored byte for byte with no dot-unstuffing", async () => {
    const server = s.get();
    const c = await SmtpClient.open(server.port("smtp"));
    assert.ok((await c.ehlo()).includes("CHUNKING"));
    await c.expect(FROM, 250);
    await c.expect(RCPT, 250);
    const chunks = ["Subject: chunked\r\n\r\n", "..two dots stay\r\n.\r\nMAIL FROM:<x@y.test>\r\n", "caf\u00e9 \u2603\r\n"].map((x) => Buffer.from(x, "utf8"));
    let total = 0;
    for (const chunk of chunks) {
      c.write(`BDAT ${chunk.length}\r\n`);
      c.write(chunk);
      total += chunk.length;
      const r = await c.reply();
      assert.equal(code(r), "250 2.0.0");
      assert.match(r.lines[0]!, new RegExp(`^${total} octets`));
    }
    const r = await c.cmd("BDAT 0 LAST");
    assert.equal(code(r), "250 2.0.0");
    await assertStored(server, queueIdOf(r), { content: Buffer.concat(chunks), recipients: ["user@petrel.test"] });
    assert.equal(await c.quiet(50), "");
    await c.quit();
  });

  test("one BDAT LAST pipelined with the envelope and the next command", async () => {
    const server = s.get();
    const c = await ready(server);
    const msg = Buffer.from("Subject: one chunk\r\n\r\n8-bit \u00ff\u00e9 bytes\r\n", "latin1");
    c.write(Buffer.concat([Buffer.from(`${FROM}\r\n${RCPT}\r\nBDAT ${msg.length} LAST\r\n`), msg, Buffer.from("NOOP\r\n")]));
    const [m, rc, bd, noop] = await c.replies(4);
    assert.deepEqual([m, rc, bd, noop].map((x) => code(x!)), ["250 2.1.0", "250 2.1.5", "250 2.0.0", "250 2.0.0"]);
    await assertStored(server, queueIdOf(bd!), { content: msg });
    await c.quit();
  });

  test("BDAT with no valid recipients: the chunk is consumed, then 554", async () => {
    const server = s.get();
    const before = await server.petrel.store.queue.count();
    const c = await ready(server);
    await c.expect(FROM, 250);
    await c.expect("RCPT TO:<u@evil.test>", 554, "5.7.1");
    // The chunk's bytes look like a command; they must be read as data, not executed.
    c.write("BDAT 6 LAST\r\nQUIT\r\n");
    assert.equal(code(await c.reply()), "554 5.5.1");
    await c.expect("NOOP", 250);
    assert.equal(c.isClosed, false);
    await c.quit();
    assert.equal(await server.petrel.store.queue.count(), before);
  });

  test("BDAT without MAIL: the chunk is consumed, then 503; DATA after BDAT is refused", async () => {
    const c = await ready(s.get());
    c.write("BDAT 6\r\nQUIT\r\n");
    assert.equal(code(await c.reply()), "503 5.5.1");
    await c.expect("NOOP", 250);
    await c.expect(FROM, 250);
    await c.expect(RCPT, 250);
    c.write("BDAT 3\r\nabc");
    assert.equal(code(await c.reply()), "250 2.0.0");
    await c.expect("DATA", 503, "5.5.1");
    await c.expect("RSET", 250);
    await c.quit();
  });

  test("a BDAT without a size closes the session (the stream cannot be resynchronised)", async () => {
    const c = await ready(s.get());
    await c.expect(FROM, 250);
    await c.expect(RCPT, 250);
    c.send("BDAT LAST");
    assert.equal(code(await c.reply()), "501 5.5.4");
    await c.waitClosed();
  });
});

describe("DATA framing", () => {
  const s = serverWith({});

  test("end of data and dot-stuffing are found however the input is split into segments", async () => {
    const server = s.get();
    const wire = "Subject: split\r\n\r\nline\r\n..dot\r\n..\r\n\r\n...\r\nend\r\n.\r\n";
    const stored = "Subject: split\r\n\r\nline\r\n.dot\r\n.\r\n\r\n..\r\nend\r\n";
    const c = await ready(server);
    for (let i = 1; i < wire.length; i++) {
      await openData(c);
      c.write(wire.slice(0, i));
      await new Promise((r) => setTimeout(r, 2));
      c.write(wire.slice(i));
      const r = await c.reply();
      assert.equal(code(r), "250 2.0.0", `split at ${i}`);
      await assertStored(server, queueIdOf(r), { content: stored });
    }
    assert.equal(await c.quiet(20), "");
    await c.quit();
  });

  test("an empty message; the CRLF before the final dot belongs to the message", async () => {
    const server = s.get();
    const c = await ready(server);
    await openData(c);
    const empty = await c.cmd(".");
    assert.equal(code(empty), "250 2.0.0");
    await assertStored(server, queueIdOf(empty), { content: "" });
    await openData(c);
    // "x" then CRLF.CRLF: the CRLF before the dot belongs to the message (RFC 5321 4.1.1.4).
    const r = await c.cmd("Subject: short\r\n\r\nx\r\n.");
    await assertStored(server, queueIdOf(r), { content: "Subject: short\r\n\r\nx\r\n" });
    await c.quit();
  });

  test("the null reverse-path <> is accepted and stored as an empty sender", async () => {
    const server = s.get();
    const c = await ready(server);
    await c.expect("MAIL FROM:<>", 250, "2.1.0");
    await c.expect(RCPT, 250);
    await c.expect("DATA", 354);
    const r = await c.cmd("Subject: bounce\r\n\r\nreport\r\n.");
    await assertStored(server, queueIdOf(r), { content: "Subject: bounce\r\n\r\nreport\r\n", sender: "" });
    await c.quit();
  });
});

describe("pipelining and simple commands", () => {
  const s = serverWith({});

  test("a whole session in one write gets every reply, in order", async () => {
    const server = s.get();
    const c = await SmtpClient.open(server.port("smtp"));
    const body = "Subject: pipelined\r\n\r\n..leading dot\r\nend\r\n";
    c.write(`EHLO client.test\r\n${FROM}\r\nRCPT TO:<a@petrel.test> NOTIFY=NEVER\r\nRCPT TO:<x@evil.test>\r\nRCPT TO:<b@petrel.test>\r\nDATA\r\n${body}.\r\nNOOP\r\nQUIT\r\n`);
    const replies = await c.replies(8);
    assert.deepEqual(
      replies.map(code),
      ["250", "250 2.1.0", "250 2.1.5", "554 5.7.1", "250 2.1.5", "354", "250 2.0.0", "250 2.0.0"],
    );
    assert.ok(replies[0]!.lines.some((l) => l === "PIPELINING"));
    const bye = await c.reply();
    assert.equal(code(bye), "221 2.0.0");
    await c.waitClosed();
    const m = await assertStored(server, queueIdOf(replies[6]!), { content: "Subject: pipelined\r\n\r\n.leading dot\r\nend\r\n", recipients: ["a@petrel.test", "b@petrel.test"] });
    assert.deepEqual(m.entry.recipients[0]!.dsn.notify, ["NEVER"]);
  });

  test("two messages pipelined back to back in one write", async () => {
    const server = s.get();
    const c = await ready(server);
    const one = "Subject: 1\r\n\r\none\r\n";
    const two = "Subject: 2\r\n\r\ntwo\r\n";
    c.write(`${FROM}\r\n${RCPT}\r\nDATA\r\n${one}.\r\n${FROM}\r\nRCPT TO:<other@petrel.test>\r\nDATA\r\n${two}.\r\n`);
    const r = await c.replies(8);
    assert.deepEqual(r.map(code), ["250 2.1.0", "250 2.1.5", "354", "250 2.0.0", "250 2.1.0", "250 2.1.5", "354", "250 2.0.0"]);
    await assertStored(server, queueIdOf(r[3]!), { content: one, recipients: ["user@petrel.test"] });
    await assertStored(server, queueIdOf(r[7]!), { content: two, recipients: ["other@petrel.test"] });
    assert.notEqual(queueIdOf(r[3]!), queueIdOf(r[7]!));
    await c.quit();
  });

  test("an empty line and a line with control characters get 500 5.5.2", async () => {
    const c = await ready(s.get());
    await c.expect("", 500, "5.5.2");
    await c.expect("NOOP\x00", 500, "5.5.2");
    await c.expect("NO\nOP", 500, "5.5.2");
    await c.expect("NOOP", 250);
    await c.quit();
  });

  test("an HTTP request gets 421 and the connection is closed", async () => {
    const c = await SmtpClient.open(s.get().port("smtp"));
    c.write("GET / HTTP/1.1\r\nHost: mx.petrel.test\r\n\r\n");
    const r = await c.reply();
    assert.equal(code(r), "421 4.7.0");
    await c.waitClosed();
    assert.equal(c.pending, "", "only one reply");
  });

  test("VRFY 252, EXPN 502, HELP 214, NOOP 250, unknown 500, RSET, QUIT", async () => {
    const c = await SmtpClient.open(s.get().port("smtp"));
    await c.expect("MAIL FROM:<a@client.test>", 503, "5.5.1"); // before EHLO
    await c.ehlo();
    await c.expect("VRFY user@petrel.test", 252, "2.5.0");
    await c.expect("VRFY", 501, "5.5.4");
    await c.expect("EXPN staff", 502, "5.5.1");
    const help = await c.expect("HELP", 214, "2.0.0");
    assert.match(help.lines.join(" "), /EHLO/);
    await c.expect("NOOP", 250, "2.0.0");
    await c.expect("NOOP with an argument", 250, "2.0.0");
    await c.expect("XYZZY", 500, "5.5.2");
    await c.expect("RCPT TO:<user@petrel.test>", 503, "5.5.1");
    await c.expect(FROM, 250);
    await c.expect(FROM, 503, "5.5.1"); // nested MAIL
    await c.expect(RCPT, 250);
    await c.expect("RSET", 250, "2.0.0");
    await c.expect("RCPT TO:<user@petrel.test>", 503, "5.5.1"); // RSET ended the transaction
    await c.expect("DATA", 503, "5.5.1");
    const bye = await c.expect("QUIT", 221, "2.0.0");
    assert.match(bye.lines[0]!, /mx\.petrel\.test/);
    await c.waitClosed();
  });
});
