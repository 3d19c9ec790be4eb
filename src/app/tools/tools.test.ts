/**
 * The pure parts of `petrel send`, `sendmail` and `import`: the transcript and its masking (over
 * an in-memory server), sendmail's input reading and header work, Maildir and mbox details.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { SmtpClient, RFC_CLIENT_TIMEOUTS } from "../../smtp/client/client.js";
import { ClientError, type ClientIo, type ClientTlsInfo } from "../../smtp/client/io.js";
import { ReplyReader, type ServerReply } from "../../smtp/client/reply-reader.js";
import { TranscriptIo, type Direction } from "./transcript-io.js";
import { EX, prepareMessage, readMessage, SendmailError } from "./sendmail.js";
import { fromLineDate, isFromLine, maildirFlags, maildirFolderName, mboxFlags, toCrlf } from "./mail-sources.js";
import { composeMessage, guessContentType } from "./compose.js";
import { targetName } from "./import.js";
import { parseServer } from "./send.js";

/** A server that answers from a table; AUTH LOGIN asks twice, then accepts. */
class FakeServer implements ClientIo {
  private replies: ServerReply[] = [];
  private reader = new ReplyReader();
  private inData = false;
  readonly lines: string[] = [];
  tls?: ClientTlsInfo;
  constructor(private readonly mechanisms = "PLAIN LOGIN") {
    this.say("220 fake ESMTP");
  }
  private say(...l: string[]) {
    this.replies.push(...this.reader.push(Buffer.from(l.map((x) => x + "\r\n").join(""))));
  }
  async write(data: Buffer | string): Promise<void> {
    const text = data.toString();
    if (this.inData) {
      if (text.endsWith("\r\n.\r\n")) (this.inData = false), this.say("250 2.0.0 Ok: queued as Q1");
      return;
    }
    for (const l of text.split("\r\n").filter((x) => x !== "")) {
      this.lines.push(l);
      if (l.startsWith("EHLO")) this.say("250-fake", "250-PIPELINING", `250 AUTH ${this.mechanisms}`);
      else if (l === "AUTH LOGIN") this.say("334 VXNlcm5hbWU6");
      else if (this.lines.at(-2) === "AUTH LOGIN") this.say("334 UGFzc3dvcmQ6");
      else if (this.lines.at(-3) === "AUTH LOGIN") this.say("235 2.7.0 ok");
      else if (l === "DATA") (this.inData = true), this.say("354 go");
      else if (l === "QUIT") this.say("221 bye");
      else this.say("250 2.1.0 ok");
    }
  }
  async readReply(): Promise<ServerReply> {
    return this.replies.shift()!;
  }
  async startTls(): Promise<ClientTlsInfo> {
    throw new Error("no TLS here");
  }
  close(): void {}
}

describe("petrel send: transcript", () => {
  test("forced AUTH LOGIN, secrets masked, data shown with a summary past the limit", async () => {
    const seen: [Direction, string][] = [];
    const server = new FakeServer();
    const io = new TranscriptIo(server, { onLine: (d, t) => seen.push([d, t]), started: performance.now(), maxBodyLines: 2 });
    const c = await SmtpClient.open(io, { hostname: "me.test", starttls: "none", auth: { user: "u@x", password: "pw", mechanism: "LOGIN" }, timeouts: RFC_CLIENT_TIMEOUTS });
    await c.send({ sender: "u@x", recipients: [{ address: "r@y" }], body: Buffer.from("Subject: s\r\n\r\n1\r\n2\r\n3\r\n.dot\r\n") });
    await c.quit();
    const text = seen.map(([d, t]) => `${d} ${t}`);
    assert.deepEqual(server.lines.slice(1, 4), ["AUTH LOGIN", Buffer.from("u@x").toString("base64"), Buffer.from("pw").toString("base64")]);
    assert.deepEqual(text.slice(text.indexOf("-> AUTH LOGIN"), text.indexOf("<- 235 2.7.0 ok") + 1), ["-> AUTH LOGIN", "<- 334 VXNlcm5hbWU6", "-> ********", "<- 334 UGFzc3dvcmQ6", "-> ********", "<- 235 2.7.0 ok"]);
    assert.ok(text.includes("-> MAIL FROM:<u@x>"));
    assert.deepEqual(text.slice(text.indexOf("<- 354 go") + 1, text.indexOf("<- 250 2.0.0 Ok: queued as Q1")), ["-> Subject: s", "-> ", "-> 1", "-> 2", "-> [... 2 more line(s), 10 octets]", "-> ."]);
  });

  test("a mechanism the server does not offer is an auth failure", async () => {
    const server = new FakeServer("LOGIN");
    const open = SmtpClient.open(server, { hostname: "me.test", starttls: "none", auth: { user: "u", password: "p", mechanism: "PLAIN" }, timeouts: RFC_CLIENT_TIMEOUTS });
    await assert.rejects(open, (e: unknown) => e instanceof ClientError && e.kind === "auth" && /does not offer AUTH PLAIN \(it offers LOGIN\)/.test(e.message));
    assert.ok(!server.lines.some((l) => l.startsWith("AUTH")));
  });

  test("--server forms", () => {
    assert.deepEqual(parseServer("mail.example.com", 25), { host: "mail.example.com", port: 25 });
    assert.deepEqual(parseServer("127.0.0.1:2587", 25), { host: "127.0.0.1", port: 2587 });
    assert.deepEqual(parseServer("[::1]:465", 25), { host: "::1", port: 465 });
    assert.deepEqual(parseServer("::1", 25), { host: "::1", port: 25 });
    assert.throws(() => parseServer("h:99999", 25), /invalid port/);
  });

  test("composed messages: content types by extension, CRLF, encoded subject", () => {
    assert.equal(guessContentType("a.pdf"), "application/pdf");
    assert.equal(guessContentType("a.unknownext"), "application/octet-stream");
    const m = composeMessage({ from: "a@b", to: ["c@d"], subject: "Grüße", body: "x\n", hostname: "h", headers: ["Subject: replaced"] }).toString();
    assert.match(m, /\r\nSubject: replaced\r\n/);
    assert.ok(!/[^\r]\n/.test(m), "CRLF only");
  });
});

describe("petrel sendmail: input and header", () => {
  const read = async (chunks: string[], ignoreDots: boolean) => (await readMessage(Readable.from(chunks.map((c) => Buffer.from(c))), ignoreDots, 1e6)).toString();

  test("a lone dot ends the input, wherever the chunks split", async () => {
    const input = "a\n.b\n.\r\nc\n";
    for (let i = 0; i <= input.length; i++) assert.equal(await read([input.slice(0, i), input.slice(i)], false), "a\n.b\n", `split at ${i}`);
    assert.equal(await read([input], true), input);
    assert.equal(await read(["a\n."], false), "a\n");
  });

  test("too large: EX_DATAERR", async () => {
    await assert.rejects(readMessage(Readable.from([Buffer.alloc(5000, 0x61)]), true, 100), (e: unknown) => e instanceof SendmailError && e.exitCode === EX.DATAERR);
  });

  test("-t with folded fields and groups; a leading From_ line dropped", () => {
    const p = prepareMessage({ recipients: [], extract: true, user: { name: "u", uid: 1 }, message: Buffer.from("From u Mon Nov 30 10:00:00 2026\nTo: team: a@x.test,\n  b@x.test;\nBCC: c@x.test\nSubject: s\n\nbody\n") }, "d.test", "h.test");
    assert.deepEqual(p.recipients, ["a@x.test", "b@x.test", "c@x.test"]);
    const text = p.body.toString();
    assert.ok(text.startsWith("To: team: a@x.test,\r\n  b@x.test;\r\nSubject: s\r\n"), text);
    assert.ok(!/bcc/i.test(text));
    assert.equal(p.sender, "u@d.test");
    assert.throws(() => prepareMessage({ recipients: ["not an address@@"], extract: false, user: { name: "u", uid: 1 }, message: Buffer.from("x\n") }, "d", "h"), (e: unknown) => e instanceof SendmailError && e.exitCode === EX.USAGE);
  });

  test("-f <> is the null sender", () => {
    assert.equal(prepareMessage({ recipients: ["a@b.test"], extract: false, sender: "<>", user: { name: "u", uid: 1 }, message: Buffer.from("\nx\n") }, "d", "h").sender, "");
  });
});

describe("petrel import: sources", () => {
  test("Maildir flags and folder names", () => {
    assert.deepEqual(maildirFlags("1.M1.host:2,DFRST").sort(), ["\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Seen"]);
    assert.deepEqual(maildirFlags("1.M1.host!2,S"), ["\\Seen"]);
    assert.deepEqual(maildirFlags("1.M1.host:2,ab"), []);
    assert.deepEqual(maildirFlags("1.M1.host"), []);
    assert.equal(maildirFolderName(".Sub.Folder"), "Sub/Folder");
    assert.equal(maildirFolderName(".Entw&APw-rfe"), "Entwürfe");
    assert.equal(targetName("", undefined), "INBOX");
    assert.equal(targetName("Sub", undefined), "Sub");
    assert.equal(targetName("", "Old"), "Old");
    assert.equal(targetName("Sub", "Old"), "Old/Sub");
  });

  test("From_ lines and their dates; Status flags; CRLF", () => {
    assert.equal(fromLineDate("From a@b Sat Jan  3 01:05:34 1996"), Date.UTC(1996, 0, 3, 1, 5, 34));
    assert.equal(fromLineDate("From a@b Sat Jan  3 01:05:34 1996 +0200"), Date.UTC(1996, 0, 2, 23, 5, 34));
    assert.equal(fromLineDate("From MAILER-DAEMON Mon Nov 30 10:27 2026"), Date.UTC(2026, 10, 30, 10, 27));
    assert.equal(isFromLine("From here we go to the beach"), false);
    assert.deepEqual(mboxFlags("Status: RO\nX-Status: ADT").sort(), ["\\Answered", "\\Deleted", "\\Draft", "\\Seen"]);
    assert.equal(toCrlf(Buffer.from("a\nb\r\nc\n")).toString(), "a\r\nb\r\nc\r\n");
  });
});
