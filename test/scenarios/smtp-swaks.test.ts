/**
 * Petrel's SMTP listeners driven by swaks, the Swiss Army Knife for SMTP: plain, STARTTLS,
 * implicit TLS, pipelining, HELO-only SMTP, 8-bit and large bodies. Each accepted message is
 * read back from the queue: our Received: header followed by exactly the bytes swaks sent.
 *
 * swaks has no way to add MAIL/RCPT parameters (DSN, SMTPUTF8) and does not speak BDAT: those
 * are covered by smtp-python.test.ts, smtp-nodemailer.test.ts and smtp-limits.test.ts.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, type TestServer } from "../helpers/server.js";
import { queueIdOf } from "../helpers/smtp-client.js";
import { assertStored, sessionFacts } from "../helpers/stored.js";

interface SwaksResult {
  code: number | null;
  out: string;
}

function swaks(args: string[]): Promise<SwaksResult> {
  return new Promise((resolve, reject) => {
    const p = spawn("swaks", ["--server", "127.0.0.1", "--ehlo", "client.test", "--timeout", "10", ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out }));
  });
}

/** swaks' transcript lines (sent "->", received "<-"; "~>"/"<~" inside TLS) without the prefix. */
function transcript(out: string, dir: "sent" | "received"): string[] {
  // An unexpected reply is marked "<**" (or "<~*" inside TLS).
  const re = dir === "sent" ? /^ [-~*]> (.*)$/ : /^<[-~*]\*? +(.*)$/;
  return out
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .map((l) => re.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
}

/** The DATA content swaks sent, rebuilt from its transcript (dot-stuffing undone, CRLF line ends). */
function sentData(out: string): string {
  const lines = out.split("\n").map((l) => l.replace(/\r$/, ""));
  const start = lines.findIndex((l) => /^<[-~] +354 /.test(l));
  assert.ok(start >= 0, "swaks got 354");
  const data: string[] = [];
  for (const l of lines.slice(start + 1)) {
    const m = /^ [-~]> (.*)$/.exec(l);
    if (!m) continue;
    if (m[1] === ".") break;
    data.push(m[1]!.startsWith(".") ? m[1]!.slice(1) : m[1]!);
  }
  return data.map((l) => l + "\r\n").join("");
}

function queuedId(out: string): string {
  return queueIdOf(out);
}

describe("swaks", () => {
  let server: TestServer;
  let dir: string;
  before(async () => {
    server = await startServer({ overrides: { smtp: { submissionRequiresAuth: false } } });
    dir = server.dataDir;
  });
  after(async () => {
    await server.stop();
  });

  /** A DATA file for --data @file --no-data-fixup: swaks sends it as is, then CRLF. */
  function dataFile(name: string, message: Buffer): string {
    const f = join(dir, name);
    // With --no-data-fixup swaks adds nothing but the CRLF after the last line: we end with ".".
    writeFileSync(f, Buffer.concat([message, Buffer.from(".")]));
    return "@" + f;
  }

  test("plain send to a local address: the message swaks wrote is stored after our Received:", async () => {
    const r = await swaks(["--port", String(server.port("smtp")), "--from", "alice@client.test", "--to", "bob@petrel.test", "--h-Subject", "swaks plain", "--body", "Hello from swaks\n.leading dot line"]);
    assert.equal(r.code, 0, r.out);
    const id = queuedId(r.out);
    const content = sentData(r.out);
    assert.match(content, /^Date: /);
    assert.match(content, /\r\nSubject: swaks plain\r\n/);
    assert.match(content, /\r\n\.leading dot line\r\n/);
    const m = await assertStored(server, id, { content, protocol: "ESMTP", sender: "alice@client.test", recipients: ["bob@petrel.test"] });
    assert.match(m.received, /^Received: from client\.test \(\[127\.0\.0\.1\]\)/);
    assert.match(m.received, /\tfor <bob@petrel\.test>;/);
    assert.equal(sessionFacts(m.entry).listener, "smtp");
    assert.equal(sessionFacts(m.entry).helo, "client.test");
  });

  test("exact bytes with --no-data-fixup: dot-stuffing is undone, everything else is kept", async () => {
    const onWire = Buffer.from("Subject: exact\r\nX-Tab:\tvalue \r\n\r\n..starts with a dot\r\n...two dots\r\n \r\ntrailing spaces   \r\n", "latin1");
    const stored = Buffer.from("Subject: exact\r\nX-Tab:\tvalue \r\n\r\n.starts with a dot\r\n..two dots\r\n \r\ntrailing spaces   \r\n", "latin1");
    const r = await swaks(["--port", String(server.port("smtp")), "--from", "a@client.test", "--to", "u@petrel.test", "--data", dataFile("exact.eml", onWire), "--no-data-fixup"]);
    assert.equal(r.code, 0, r.out);
    await assertStored(server, queuedId(r.out), { content: stored, recipients: ["u@petrel.test"] });
  });

  test("8-bit body (UTF-8 and Latin-1 octets) is stored byte for byte", async () => {
    const msg = Buffer.concat([
      Buffer.from("Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n", "latin1"),
      Buffer.from("Grüße, 日本語, emoji \u{1F426}\r\n", "utf8"),
      Buffer.from([0xe9, 0x74, 0xe9, 0x0d, 0x0a, 0x80, 0xff, 0xfe, 0x0d, 0x0a]),
    ]);
    const r = await swaks(["--port", String(server.port("smtp")), "--from", "a@client.test", "--to", "u@petrel.test", "--data", dataFile("8bit.eml", msg), "--no-data-fixup"]);
    assert.equal(r.code, 0, r.out);
    await assertStored(server, queuedId(r.out), { content: msg });
  });

  test("STARTTLS (--tls): the session is upgraded and the Received: header says ESMTPS", async () => {
    const msg = Buffer.from("Subject: over tls\r\n\r\nsecret\r\n");
    const r = await swaks(["--port", String(server.port("smtp")), "--tls", "--from", "a@client.test", "--to", "u@petrel.test", "--data", dataFile("tls.eml", msg), "--no-data-fixup"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /=== TLS started with cipher TLSv1\.[23]/);
    // After STARTTLS swaks sends EHLO again, and STARTTLS is no longer offered.
    const afterTls = transcript(r.out.slice(r.out.indexOf("=== TLS started")), "received");
    assert.ok(!afterTls.some((l) => /STARTTLS/.test(l)), afterTls.join("\n"));
    assert.ok(afterTls.some((l) => /^250-REQUIRETLS/.test(l)));
    const m = await assertStored(server, queuedId(r.out), { content: msg, protocol: "ESMTPS" });
    assert.match(m.received, /\(using TLSv1\.[23] with cipher /);
    assert.match(String((sessionFacts(m.entry).tls as { version: string }).version), /^TLSv1\.[23]$/);
  });

  test("implicit TLS (--tlsc) on the submissions port", async () => {
    const msg = Buffer.from("Subject: implicit tls\r\n\r\nhi\r\n");
    const r = await swaks(["--port", String(server.port("submissions")), "--tlsc", "--from", "a@client.test", "--to", "u@petrel.test", "--data", dataFile("tlsc.eml", msg), "--no-data-fixup"]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /=== TLS started with cipher/);
    const m = await assertStored(server, queuedId(r.out), { content: msg, protocol: "ESMTPS" });
    assert.equal(sessionFacts(m.entry).listener, "submissions");
  });

  test("relay control still applies on submissions without AUTH: 554 5.7.1, nothing queued", async () => {
    const before = await server.petrel.store.queue.count();
    const r = await swaks(["--port", String(server.port("submissions")), "--tlsc", "--from", "a@client.test", "--to", "u@elsewhere.test"]);
    assert.equal(r.code, 24, r.out); // swaks: no RCPTs accepted
    assert.ok(transcript(r.out, "received").some((l) => l.startsWith("554 5.7.1")), r.out);
    assert.equal(await server.petrel.store.queue.count(), before);
  });

  test("--pipeline: MAIL, RCPTs and DATA in one go, replies in order; two recipients stored", async () => {
    const msg = Buffer.from("Subject: pipelined\r\n\r\nto two people\r\n");
    const r = await swaks(["--port", String(server.port("smtp")), "--pipeline", "--from", "a@client.test", "--to", "one@petrel.test,two@petrel.test", "--data", dataFile("pipe.eml", msg), "--no-data-fixup"]);
    assert.equal(r.code, 0, r.out);
    // swaks sent MAIL, RCPT, RCPT, DATA before reading any of their replies.
    const lines = r.out.split("\n");
    const mailAt = lines.findIndex((l) => /^ -> MAIL FROM:/.test(l));
    const next4 = lines.slice(mailAt, mailAt + 4).map((l) => l.replace(/^ -> /, "").split(":")[0]);
    assert.deepEqual(next4, ["MAIL FROM", "RCPT TO", "RCPT TO", "DATA"]);
    const replies = lines.slice(mailAt + 4, mailAt + 8).map((l) => l.replace(/^<- +/, "").slice(0, 9));
    assert.deepEqual(replies, ["250 2.1.0", "250 2.1.5", "250 2.1.5", "354 End d"]);
    const m = await assertStored(server, queuedId(r.out), { content: msg, recipients: ["one@petrel.test", "two@petrel.test"] });
    // With two recipients the Received: header names neither (Bcc privacy).
    assert.doesNotMatch(m.received, /\tfor </);
  });

  test("--protocol SMTP (HELO): the Received: header says SMTP", async () => {
    const msg = Buffer.from("Subject: helo\r\n\r\nold school\r\n");
    const r = await swaks(["--port", String(server.port("smtp")), "--protocol", "SMTP", "--from", "a@client.test", "--to", "u@petrel.test", "--data", dataFile("helo.eml", msg), "--no-data-fixup"]);
    assert.equal(r.code, 0, r.out);
    assert.ok(transcript(r.out, "sent").includes("HELO client.test"), r.out);
    await assertStored(server, queuedId(r.out), { content: msg, protocol: "SMTP" });
  });

  test("a 300 KiB message goes to a spool file and comes back byte for byte", async () => {
    const line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
    const msg = Buffer.from("Subject: big\r\n\r\n" + line.repeat(Math.ceil((300 * 1024) / line.length)));
    const r = await swaks(["--port", String(server.port("smtp")), "--from", "a@client.test", "--to", "u@petrel.test", "--data", dataFile("big.eml", msg), "--no-data-fixup", "--hide-send"]);
    assert.equal(r.code, 0, r.out);
    const m = await assertStored(server, queuedId(r.out), { content: msg });
    assert.equal(m.entry.spooled, true, "larger than smtp.inlineMaxSize: spooled to a file");
  });

  test("--quit-after RCPT: the transaction is abandoned and nothing is queued", async () => {
    const before = await server.petrel.store.queue.count();
    const r = await swaks(["--port", String(server.port("smtp")), "--from", "a@client.test", "--to", "u@petrel.test", "--quit-after", "RCPT"]);
    assert.equal(r.code, 0, r.out);
    const got = transcript(r.out, "received").map((l) => l.slice(0, 9));
    assert.ok(got.includes("250 2.1.5"), r.out);
    assert.equal(got[got.length - 1], "221 2.0.0");
    assert.equal(await server.petrel.store.queue.count(), before);
  });

  test("a refused recipient on the MX port: 554 5.7.1 and swaks exits 24", async () => {
    const before = await server.petrel.store.queue.count();
    const r = await swaks(["--port", String(server.port("smtp")), "--from", "a@client.test", "--to", "victim@elsewhere.test"]);
    assert.equal(r.code, 24, r.out);
    assert.ok(transcript(r.out, "received").some((l) => l.startsWith("554 5.7.1")), r.out);
    assert.equal(await server.petrel.store.queue.count(), before);
  });
});
