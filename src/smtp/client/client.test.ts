/**
 * The SMTP client against a scripted server (in memory, no sockets): each test reads like a
 * transcript of what the client wrote and what the server answered.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SmtpClient, RFC_CLIENT_TIMEOUTS, type ClientOptions, type OutgoingMessage } from "./client.js";
import { ClientError, type ClientIo, type ClientTlsInfo } from "./io.js";
import { ReplyReader, type ServerReply } from "./reply-reader.js";
import { dotStuff } from "./dot-stuff.js";
import { parseCapabilities } from "./capabilities.js";

type Handler = (line: string, server: ScriptedServer) => string | string[] | undefined;

/** Answers each command line through `handler`; takes DATA content up to "." and answers `dataReply`. */
class ScriptedServer implements ClientIo {
  /** Each write() call, as text (to see what was pipelined together). */
  readonly writes: string[] = [];
  /** Command lines, in order. */
  readonly lines: string[] = [];
  readonly messages: Buffer[] = [];
  readonly timeouts: number[] = [];
  tls?: ClientTlsInfo;
  private replies: ServerReply[] = [];
  private reader = new ReplyReader();
  private inData = false;
  private data: Buffer[] = [];
  private pendingText = "";
  closed = false;
  dataReply = "250 2.0.0 Ok: queued as X1";
  offerTls: ClientTlsInfo = { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", verified: false, verifyError: "DEPTH_ZERO_SELF_SIGNED_CERT" };

  constructor(
    public ehlo: string[],
    private readonly handler: Handler = () => undefined,
    greeting = "220 mx.remote.test ESMTP",
  ) {
    this.say(greeting);
  }

  say(...lines: string[]): void {
    this.replies.push(...this.reader.push(Buffer.from(lines.map((l) => l + "\r\n").join(""))));
  }

  async write(data: Buffer | string, timeoutMs: number): Promise<void> {
    if (this.closed) throw new ClientError("closed", "closed");
    this.timeouts.push(timeoutMs);
    const buf = typeof data === "string" ? Buffer.from(data) : data;
    this.writes.push(buf.toString("utf8"));
    if (this.inData) {
      this.data.push(buf);
      const all = Buffer.concat(this.data);
      if (all.subarray(-5).toString() === "\r\n.\r\n" || all.toString() === ".\r\n") {
        this.inData = false;
        this.messages.push(all);
        this.data = [];
        this.say(this.dataReply);
      }
      return;
    }
    this.pendingText += buf.toString("utf8");
    let nl: number;
    while ((nl = this.pendingText.indexOf("\r\n")) >= 0) {
      const line = this.pendingText.slice(0, nl);
      this.pendingText = this.pendingText.slice(nl + 2);
      this.command(line);
    }
  }

  private command(line: string): void {
    this.lines.push(line);
    const custom = this.handler(line, this);
    if (custom !== undefined) {
      this.say(...(Array.isArray(custom) ? custom : [custom]));
    } else if (/^EHLO /.test(line)) {
      this.say(...this.ehlo);
    } else if (/^(HELO|MAIL|RCPT|RSET|NOOP)\b/.test(line)) {
      this.say("250 2.0.0 Ok");
    } else if (line === "DATA") {
      this.say("354 End data with <CR><LF>.<CR><LF>");
    } else if (line === "STARTTLS") {
      this.say("220 2.0.0 Ready to start TLS");
    } else if (line === "QUIT") {
      this.say("221 2.0.0 Bye");
    } else {
      this.say("500 5.5.2 Unknown command");
    }
    if (line === "DATA" && this.replies[this.replies.length - 1]?.code === 354) {
      this.inData = true;
      // Whatever followed DATA in the same write is content.
      if (this.pendingText) {
        const rest = this.pendingText;
        this.pendingText = "";
        void this.write(rest, 0);
      }
    }
  }

  async readReply(timeoutMs: number): Promise<ServerReply> {
    this.timeouts.push(timeoutMs);
    const r = this.replies.shift();
    if (!r) throw new ClientError(this.closed ? "closed" : "timeout", "no reply");
    return r;
  }

  async startTls(): Promise<ClientTlsInfo> {
    this.tls = this.offerTls;
    this.ehlo = this.ehlo.filter((l) => !/STARTTLS/.test(l));
    return this.tls;
  }

  close(): void {
    this.closed = true;
  }
}

const FULL_EHLO = ["250-mx.remote.test", "250-PIPELINING", "250-SIZE 10000", "250-8BITMIME", "250-SMTPUTF8", "250-DSN", "250-ENHANCEDSTATUSCODES", "250-STARTTLS", "250 AUTH PLAIN LOGIN"];
const BASIC_EHLO = ["250-mx.remote.test", "250 ENHANCEDSTATUSCODES"];

const opts = (o: Partial<ClientOptions> = {}): ClientOptions => ({ hostname: "mx.petrel.test", starttls: "opportunistic", timeouts: RFC_CLIENT_TIMEOUTS, ...o });

const msg = (o: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  sender: "alice@petrel.test",
  recipients: [{ address: "bob@remote.test" }],
  body: Buffer.from("Subject: hi\r\n\r\nHello\r\n"),
  ...o,
});

describe("SmtpClient: session set-up", () => {
  test("EHLO with our name, STARTTLS when offered, EHLO again", async () => {
    const s = new ScriptedServer(FULL_EHLO);
    const c = await SmtpClient.open(s, opts());
    assert.deepEqual(s.lines, ["EHLO mx.petrel.test", "STARTTLS", "EHLO mx.petrel.test"]);
    assert.equal(c.tls?.version, "TLSv1.3");
    assert.equal(c.tls?.verified, false);
    // RFC 5321 4.5.3.2.1: the greeting is awaited for 5 minutes.
    assert.equal(s.timeouts[0], 5 * 60_000);
  });

  test("HELO when the server does not know EHLO", async () => {
    const s = new ScriptedServer([], (l) => (l.startsWith("EHLO") ? "502 5.5.1 Command not implemented" : undefined));
    const c = await SmtpClient.open(s, opts());
    assert.deepEqual(s.lines, ["EHLO mx.petrel.test", "HELO mx.petrel.test"]);
    assert.equal(c.caps.esmtp, false);
    // No ESMTP: plain MAIL FROM without parameters, one command at a time.
    await c.send(msg());
    assert.deepEqual(s.lines.slice(2), ["MAIL FROM:<alice@petrel.test>", "RCPT TO:<bob@remote.test>", "DATA"]);
  });

  test("a 4xx or 5xx greeting is a connection-level failure, with the reply", async () => {
    for (const g of ["421 4.3.2 Try later", "554 5.7.1 Go away"]) {
      const s = new ScriptedServer(FULL_EHLO, undefined, g);
      const e = await SmtpClient.open(s, opts()).then(() => null, (x: unknown) => x);
      assert.ok(e instanceof ClientError && e.kind === "reply", String(e));
      assert.equal(e.reply?.code, Number(g.slice(0, 3)));
      assert.equal(s.closed, true);
    }
  });

  test("STARTTLS required and not offered: no transaction", async () => {
    const s = new ScriptedServer(BASIC_EHLO);
    const e = await SmtpClient.open(s, opts({ starttls: "require" })).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof ClientError && e.kind === "tls");
    assert.ok(!s.lines.some((l) => l.startsWith("MAIL")));
  });

  test("STARTTLS never, even when offered", async () => {
    const s = new ScriptedServer(FULL_EHLO);
    const c = await SmtpClient.open(s, opts({ starttls: "none" }));
    assert.equal(c.tls, undefined);
    assert.deepEqual(s.lines, ["EHLO mx.petrel.test"]);
  });

  test("verify: an unverified certificate fails the connection", async () => {
    const s = new ScriptedServer(FULL_EHLO);
    const e = await SmtpClient.open(s, opts({ starttls: "require", verify: true })).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof ClientError && e.kind === "tls" && /DEPTH_ZERO_SELF_SIGNED_CERT/.test(e.message));
  });

  test("AUTH PLAIN with the initial response", async () => {
    const s = new ScriptedServer(FULL_EHLO, (l) => (l.startsWith("AUTH") ? "235 2.7.0 Authentication successful" : undefined));
    const c = await SmtpClient.open(s, opts({ auth: { user: "u@x", password: "pw" } }));
    assert.equal(c.authenticated, true);
    assert.equal(s.lines.at(-1), `AUTH PLAIN ${Buffer.from("\0u@x\0pw").toString("base64")}`);
  });

  test("AUTH LOGIN when PLAIN is not offered", async () => {
    const ehlo = FULL_EHLO.map((l) => (l.includes("AUTH") ? "250 AUTH LOGIN" : l));
    let stage = 0;
    const s = new ScriptedServer(ehlo, (l) => {
      if (l === "AUTH LOGIN") return "334 VXNlcm5hbWU6";
      if (stage === 0 && l === Buffer.from("u@x").toString("base64")) return (stage++, "334 UGFzc3dvcmQ6");
      if (stage === 1 && l === Buffer.from("pw").toString("base64")) return "235 2.7.0 ok";
      return undefined;
    });
    const c = await SmtpClient.open(s, opts({ auth: { user: "u@x", password: "pw" } }));
    assert.equal(c.authenticated, true);
  });

  test("refused credentials are an auth failure with the server's reply", async () => {
    const s = new ScriptedServer(FULL_EHLO, (l) => (l.startsWith("AUTH") ? "535 5.7.8 Authentication credentials invalid" : undefined));
    const e = await SmtpClient.open(s, opts({ auth: { user: "u", password: "p" } })).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof ClientError && e.kind === "auth" && e.reply?.code === 535);
  });

  test("no credentials in plain text when STARTTLS is not offered", async () => {
    const s = new ScriptedServer([...BASIC_EHLO.slice(0, -1), "250 AUTH PLAIN"]);
    const e = await SmtpClient.open(s, opts({ auth: { user: "u", password: "p" } })).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof ClientError && e.kind === "tls");
    assert.ok(!s.lines.some((l) => l.startsWith("AUTH")));
  });
});

describe("SmtpClient: transactions", () => {
  test("PIPELINING: MAIL, RCPTs and DATA in one write; per-recipient replies", async () => {
    const s = new ScriptedServer(FULL_EHLO, (l) => {
      if (l.startsWith("RCPT TO:<nobody@")) return "550 5.1.1 <nobody@remote.test>: no such user";
      if (l.startsWith("RCPT TO:<full@")) return ["452-4.2.2 <full@remote.test>: mailbox full", "452 4.2.2 try again later"];
      return undefined;
    });
    const c = await SmtpClient.open(s, opts());
    const writesBefore = s.writes.length;
    const res = await c.send(msg({ recipients: [{ address: "bob@remote.test" }, { address: "nobody@remote.test" }, { address: "full@remote.test" }] }));
    assert.equal(s.writes[writesBefore], "MAIL FROM:<alice@petrel.test> SIZE=22\r\nRCPT TO:<bob@remote.test>\r\nRCPT TO:<nobody@remote.test>\r\nRCPT TO:<full@remote.test>\r\nDATA\r\n");
    assert.deepEqual(res, [
      { address: "bob@remote.test", status: "delivered", reply: "250 2.0.0 Ok: queued as X1", fromServer: true, dsnPassedOn: true },
      { address: "nobody@remote.test", status: "failed", reply: "550 5.1.1 <nobody@remote.test>: no such user", fromServer: true },
      { address: "full@remote.test", status: "retry", reply: "452 4.2.2 <full@remote.test>: mailbox full / try again later", fromServer: true },
    ]);
  });

  test("without PIPELINING: one command at a time, and no DATA when every RCPT failed", async () => {
    const s = new ScriptedServer(BASIC_EHLO, (l) => (l.startsWith("RCPT") ? "550 5.1.1 no such user" : undefined));
    const c = await SmtpClient.open(s, opts());
    const n = s.writes.length;
    const res = await c.send(msg());
    assert.deepEqual(s.writes.slice(n), ["MAIL FROM:<alice@petrel.test>\r\n", "RCPT TO:<bob@remote.test>\r\n"]);
    assert.deepEqual(res.map((r) => r.status), ["failed"]);
  });

  test("PIPELINING: all RCPTs refused, DATA refused: nothing sent", async () => {
    const s = new ScriptedServer(FULL_EHLO, (l) => (l.startsWith("RCPT") ? "550 5.1.1 no" : l === "DATA" ? "554 5.5.1 No valid recipients" : undefined));
    const c = await SmtpClient.open(s, opts());
    const res = await c.send(msg());
    assert.deepEqual(res, [{ address: "bob@remote.test", status: "failed", reply: "550 5.1.1 no", fromServer: true }]);
    assert.equal(s.messages.length, 0);
  });

  test("a refused MAIL fails (5xx) or defers (4xx) every recipient", async () => {
    for (const [reply, status] of [["550 5.7.1 Sender refused", "failed"], ["451 4.7.1 Greylisted", "retry"]] as const) {
      const s = new ScriptedServer(FULL_EHLO, (l) => (l.startsWith("MAIL") ? reply : l.startsWith("RCPT") ? "503 5.5.1 need MAIL" : l === "DATA" ? "503 5.5.1 need RCPT" : undefined));
      const c = await SmtpClient.open(s, opts());
      const res = await c.send(msg({ recipients: [{ address: "a@remote.test" }, { address: "b@remote.test" }] }));
      assert.deepEqual(res.map((r) => [r.status, r.reply]), [[status, reply], [status, reply]]);
    }
  });

  test("the final reply decides for every accepted recipient", async () => {
    const s = new ScriptedServer(FULL_EHLO);
    s.dataReply = "554 5.7.1 Message rejected as spam";
    const c = await SmtpClient.open(s, opts());
    const res = await c.send(msg());
    assert.deepEqual(res, [{ address: "bob@remote.test", status: "failed", reply: "554 5.7.1 Message rejected as spam", fromServer: true }]);
  });

  test("dot-stuffing on the wire, and CRLF . CRLF at the end", async () => {
    const s = new ScriptedServer(FULL_EHLO);
    const c = await SmtpClient.open(s, opts());
    await c.send(msg({ body: Buffer.from(".first\r\nmiddle\r\n.\r\n..two\r\nlast") }));
    assert.equal(s.messages[0]!.toString(), "..first\r\nmiddle\r\n..\r\n...two\r\nlast\r\n.\r\n");
  });

  test("DSN parameters when the server has DSN, and none when it has not", async () => {
    const m = msg({ ret: "HDRS", envid: "id+1 x", recipients: [{ address: "bob@remote.test", notify: ["SUCCESS", "FAILURE"], orcpt: { type: "rfc822", address: "bob+tag@remote.test" } }] });
    const s = new ScriptedServer(FULL_EHLO);
    await (await SmtpClient.open(s, opts())).send(m);
    assert.ok(s.lines.includes("MAIL FROM:<alice@petrel.test> SIZE=22 RET=HDRS ENVID=id+2B1+20x"), s.lines.join("|"));
    assert.ok(s.lines.includes("RCPT TO:<bob@remote.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Btag@remote.test"));
    const plain = new ScriptedServer(BASIC_EHLO);
    await (await SmtpClient.open(plain, opts())).send(m);
    assert.ok(plain.lines.includes("MAIL FROM:<alice@petrel.test>"));
    assert.ok(plain.lines.includes("RCPT TO:<bob@remote.test>"));
  });

  test("8-bit content: BODY=8BITMIME, or 5.6.3 without sending when the server lacks 8BITMIME", async () => {
    const body = Buffer.from("Subject: x\r\n\r\nGrüße\r\n");
    const s = new ScriptedServer(FULL_EHLO);
    await (await SmtpClient.open(s, opts())).send(msg({ body }));
    assert.match(s.lines.find((l) => l.startsWith("MAIL"))!, / BODY=8BITMIME$/);
    const old = new ScriptedServer(BASIC_EHLO);
    const res = await (await SmtpClient.open(old, opts())).send(msg({ body }));
    assert.equal(res[0]!.status, "failed");
    assert.match(res[0]!.reply, /^554 5\.6\.3 /);
    assert.ok(!old.lines.some((l) => l.startsWith("MAIL")));
  });

  test("SMTPUTF8: used when an address needs it; without it, only that recipient fails with 5.6.7", async () => {
    const recipients = [{ address: "jürgen@bücher.example" }, { address: "bob@remote.test" }];
    const s = new ScriptedServer(FULL_EHLO);
    await (await SmtpClient.open(s, opts())).send(msg({ recipients }));
    assert.match(s.lines.find((l) => l.startsWith("MAIL"))!, / SMTPUTF8$/);
    const old = new ScriptedServer([...BASIC_EHLO.slice(0, -1), "250 8BITMIME"]);
    const res = await (await SmtpClient.open(old, opts())).send(msg({ recipients }));
    assert.equal(res[0]!.status, "failed");
    assert.match(res[0]!.reply, /^553 5\.6\.7 /);
    assert.equal(res[1]!.status, "delivered");
    assert.ok(!old.lines.some((l) => l.includes("jürgen")));
  });

  test("without SMTPUTF8, an IDN domain goes as A-labels (RFC 5890), only a UTF-8 local part fails", async () => {
    const old = new ScriptedServer([...BASIC_EHLO.slice(0, -1), "250 8BITMIME"]);
    const res = await (await SmtpClient.open(old, opts())).send(msg({ sender: "anna@bücher.example", recipients: [{ address: "bob@bücher.example" }] }));
    assert.equal(res[0]!.status, "delivered");
    assert.ok(old.lines.includes("MAIL FROM:<anna@xn--bcher-kva.example>"), old.lines.join("|"));
    assert.ok(old.lines.includes("RCPT TO:<bob@xn--bcher-kva.example>"));
  });

  test("SMTPUTF8: a UTF-8 sender or UTF-8 header fields fail every recipient without it", async () => {
    const old = new ScriptedServer([...BASIC_EHLO.slice(0, -1), "250 8BITMIME"]);
    const c = await SmtpClient.open(old, opts());
    const a = await c.send(msg({ sender: "jürgen@bücher.example" }));
    assert.match(a[0]!.reply, /^553 5\.6\.7 /);
    const b = await c.send(msg({ smtputf8: true, body: Buffer.from("Subject: Grüße\r\n\r\nx\r\n") }));
    assert.match(b[0]!.reply, /^553 5\.6\.7 /);
    // The same 8-bit header without SMTPUTF8 at intake is plain 8BITMIME content.
    const d = await c.send(msg({ body: Buffer.from("Subject: Grüße\r\n\r\nx\r\n") }));
    assert.equal(d[0]!.status, "delivered");
  });

  test("SIZE: a message larger than the server's limit fails with 5.3.4 before MAIL", async () => {
    const s = new ScriptedServer(FULL_EHLO);
    const res = await (await SmtpClient.open(s, opts())).send(msg({ body: Buffer.alloc(20_000, 0x61) }));
    assert.match(res[0]!.reply, /^552 5\.3\.4 /);
    assert.ok(!s.lines.some((l) => l.startsWith("MAIL")));
  });

  test("a reused connection says RSET before the next transaction", async () => {
    const s = new ScriptedServer(FULL_EHLO);
    const c = await SmtpClient.open(s, opts());
    await c.send(msg());
    await c.send(msg());
    const cmds = s.lines.filter((l) => !l.startsWith("EHLO") && l !== "STARTTLS").map((l) => l.split(/[ :]/)[0]);
    assert.deepEqual(cmds, ["MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA"]);
    assert.equal(s.messages.length, 2);
  });

  test("a failed RSET marks the error stale: nothing of the message was sent", async () => {
    const s = new ScriptedServer(FULL_EHLO, (l) => (l === "RSET" ? "421 4.4.2 idle too long" : undefined));
    const c = await SmtpClient.open(s, opts());
    await c.send(msg());
    const e = await c.send(msg()).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof ClientError && e.stale);
    assert.equal(c.usable, false);
  });

  test("a silent server: the timeout of the step, as RFC 5321 4.5.3.2 gives it", async () => {
    const s = new ScriptedServer(FULL_EHLO);
    const c = await SmtpClient.open(s, opts());
    s.dataReply = "";
    const body = Buffer.from("x\r\n");
    const fake = s as unknown as { say: (...l: string[]) => void };
    fake.say = () => undefined; // nothing more from the server
    const e = await c.send(msg({ body })).then(() => null, (x: unknown) => x);
    assert.ok(e instanceof ClientError && e.kind === "timeout" && /MAIL FROM/.test(e.message), String(e));
    // MAIL, RCPT: 5 minutes each; DATA: 2 minutes.
    assert.ok(s.timeouts.includes(RFC_CLIENT_TIMEOUTS.mail));
  });
});

describe("ReplyReader", () => {
  test("multi-line replies, split anywhere, with enhanced codes on every line", () => {
    const r = new ReplyReader();
    const text = "250-mx.remote.test\r\n250-PIPELINING\r\n250 SIZE 100\r\n550-5.1.1 no such\r\n550 5.1.1 user\r\n";
    const out: ServerReply[] = [];
    for (const ch of text) out.push(...r.push(Buffer.from(ch)));
    assert.deepEqual(out, [
      { code: 250, lines: ["mx.remote.test", "PIPELINING", "SIZE 100"] },
      { code: 550, enhanced: "5.1.1", lines: ["no such", "user"] },
    ]);
    assert.equal(r.buffered, false);
  });

  test("garbage and over-long lines are errors, not buffers", () => {
    assert.throws(() => new ReplyReader().push(Buffer.from("hello\r\n")));
    assert.throws(() => new ReplyReader().push(Buffer.from("250-a\r\n251 b\r\n")));
    assert.throws(() => new ReplyReader().push(Buffer.alloc(10_000, 0x32)));
  });

  test("any bytes: no crash beyond ReplySyntaxError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        try {
          new ReplyReader().push(Buffer.from(bytes));
        } catch (e) {
          assert.equal((e as Error).name, "ReplySyntaxError");
        }
      }),
    );
  });

  test("EHLO keywords, SIZE and AUTH (also the old AUTH= form)", () => {
    const caps = parseCapabilities({ code: 250, lines: ["x", "SIZE 5000", "AUTH=LOGIN", "auth plain cram-md5", "8bitmime"] });
    assert.equal(caps.maxSize, 5000);
    assert.ok(caps.has("8BITMIME"));
    assert.deepEqual([...caps.auth].sort(), ["CRAM-MD5", "LOGIN", "PLAIN"]);
  });
});

describe("dotStuff", () => {
  test("RFC 5321 4.5.2 transparency, round trip", () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[.a]{0,4}$/), { maxLength: 8 }), (lines) => {
        const body = Buffer.from(lines.map((l) => l + "\r\n").join(""));
        const wire = dotStuff(body).toString();
        assert.ok(wire.endsWith(".\r\n"));
        // Undo: drop the terminator, then one leading dot of every line.
        const content = wire.slice(0, -3);
        const undone = content.split("\r\n").map((l) => (l.startsWith(".") ? l.slice(1) : l)).join("\r\n");
        assert.equal(undone, body.length ? body.toString() : "");
      }),
    );
  });
});
