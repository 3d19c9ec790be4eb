/**
 * The spam filter against a real rspamd (test/helpers/rspamd.ts): SMTP into the MX listener,
 * rspamd's /checkv2 at end of data, and the outcome read back from the mailbox. GTUBE is
 * refused with rspamd's text (550 5.7.1), a clean message is delivered to INBOX with
 * X-Spamd-Result, rspamd's "add header" and "rewrite subject" test patterns go to Junk with
 * X-Spam: Yes (and the new Subject), a spooled (large) message is sent from its spool file.
 * rspamd down: onError accept delivers, onError tempfail answers 451 4.7.1; rspamd too slow
 * (a local HTTP server that never answers, standing in for a hung rspamd): the timeout applies.
 * Skipped when rspamd is not installed (.ci/run installs it).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { startServer, CATCH_ALL_ACCOUNT, type TestServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { waitFor } from "../helpers/wait.js";
import { GTUBE, freePort, rspamdBinary, startRspamd, type TestRspamd } from "../helpers/rspamd.js";
import type { ConfigInput } from "../../src/config/schema.js";

const RCPT = `${CATCH_ALL_ACCOUNT}@petrel.test`;

function message(subject: string, body: string): Buffer {
  return Buffer.from(
    `From: Sender <alice@client.test>\r\nTo: <${RCPT}>\r\nSubject: ${subject}\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W+/g, "-")}@client.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${body}\r\n`,
    "latin1",
  );
}

async function send(port: number, data: Buffer): Promise<{ code: number; enhanced?: string; text: string }> {
  const c = await SmtpClient.open(port);
  try {
    await c.expect("EHLO client.test", 250);
    await c.expect("MAIL FROM:<alice@client.test>", 250);
    await c.expect(`RCPT TO:<${RCPT}>`, 250);
    await c.expect("DATA", 354);
    c.write(Buffer.concat([data, Buffer.from(".\r\n")]));
    const r = await c.reply(30_000);
    await c.quit();
    return { code: r.code, enhanced: r.enhanced, text: r.lines.join(" ") };
  } finally {
    c.destroy();
  }
}

async function mailbox(server: TestServer, name: string): Promise<string[]> {
  const account = (await server.petrel.store.directory.getAccount(RCPT))!;
  const box = await server.petrel.store.mailstore.getMailbox(account.id, name);
  if (!box) return [];
  const out: string[] = [];
  for (const m of await server.petrel.store.mailstore.listMessages(box.id)) out.push(Buffer.concat([m.prefix, (await server.petrel.store.mailstore.blob(m.blobId))!]).toString("latin1"));
  return out;
}

const delivered = (server: TestServer, marker: string, box: string) => waitFor(`${marker} in ${box}`, async () => (await mailbox(server, box)).find((t) => t.includes(marker)));
const header = (text: string) => text.split("\r\n\r\n")[0]!.replace(/\r\n[ \t]+/g, " ");

const spamFilter = (extra: Record<string, unknown>): Partial<ConfigInput> => ({ spamFilter: { enabled: true, ...extra } as ConfigInput["spamFilter"] });

const haveRspamd = rspamdBinary() !== null;

describe("spam filter with a real rspamd", { skip: haveRspamd ? false : "rspamd is not installed" }, () => {
  let rspamd: TestRspamd;
  let server: TestServer;

  before(async () => {
    rspamd = await startRspamd();
    // Messages over 2 KiB go to a spool file (smtp.inlineMaxSize), so both ways of reading are used.
    server = await startServer({ overrides: { ...spamFilter({ url: rspamd.url, timeout: "30s", onError: "tempfail" }), smtp: { inlineMaxSize: 2048 } }, deliver: true });
  });
  after(async () => {
    await server?.stop();
    await rspamd?.stop();
  });

  test("GTUBE: 550 5.7.1 with rspamd's message; nothing queued", async () => {
    const r = await send(server.port("smtp"), message("gtube", `This is spam.\r\n${GTUBE}`));
    assert.equal(r.code, 550, r.text);
    assert.equal(r.enhanced, "5.7.1");
    assert.match(r.text, /gtube/i);
    assert.equal(await server.petrel.store.queue.count(), 0);
  });

  test("a clean message: accepted, delivered to INBOX with X-Spamd-Result and without X-Spam", async () => {
    const r = await send(server.port("smtp"), message("clean one", "Hello Bob,\r\nsee you at lunch tomorrow.\r\nAlice"));
    assert.equal(r.code, 250, r.text);
    const text = await delivered(server, "Subject: clean one\r\n", "INBOX");
    const h = header(text);
    assert.match(h, /^X-Spamd-Result: default: False \[-?\d+\.\d\d \/ 15\.00\]/m);
    assert.doesNotMatch(h, /^X-Spam: /m);
    assert.ok(text.endsWith("see you at lunch tomorrow.\r\nAlice\r\n"));
  });

  test("rspamd's add header action: X-Spam: Yes and delivery to Junk", async () => {
    const r = await send(server.port("smtp"), message("add header", `Cheap pills.\r\n${GTUBE.replace(/^X/, "Y")}`));
    assert.equal(r.code, 250, r.text);
    const text = await delivered(server, "Subject: add header\r\n", "Junk");
    assert.match(header(text), /^X-Spam: Yes$/m);
    assert.match(header(text), /^X-Spamd-Result: default: True \[6\.00 \/ 15\.00\]; GTUBE\(0\.00\)/m);
    assert.equal((await mailbox(server, "INBOX")).filter((t) => t.includes("Subject: add header")).length, 0);
  });

  test("rspamd's rewrite subject action: rspamd's Subject replaces the old one, delivery to Junk", async () => {
    const r = await send(server.port("smtp"), message("rewrite me", `Cheap pills.\r\n${GTUBE.replace(/^X/, "Z")}`));
    assert.equal(r.code, 250, r.text);
    const text = await delivered(server, "*** SPAM *** rewrite me", "Junk");
    const subjects = header(text).split("\r\n").filter((l) => /^subject:/i.test(l));
    assert.deepEqual(subjects, ["Subject: *** SPAM *** rewrite me"]);
    assert.match(header(text), /^X-Spam: Yes$/m);
    assert.match(header(text), /^Message-ID: <rewrite-me@client\.test>$/m);
  });

  test("a large message (spooled to a file) is sent from the spool: GTUBE at its end is found", async () => {
    const filler = Array.from({ length: 100 }, (_, i) => `line ${i} of a long and boring but harmless text`).join("\r\n");
    const r = await send(server.port("smtp"), message("big spam", `${filler}\r\n${GTUBE}`));
    assert.equal(r.code, 550, r.text);
    const ok = await send(server.port("smtp"), message("big ham", filler));
    assert.equal(ok.code, 250, ok.text);
    const text = await delivered(server, "Subject: big ham\r\n", "INBOX");
    assert.ok(text.includes("line 99 of a long"));
    assert.match(header(text), /^X-Spamd-Result: /m);
    // A Subject rewrite of a spooled message: the header block is replaced in the file.
    const rw = await send(server.port("smtp"), message("big rewrite", `${filler}\r\n${GTUBE.replace(/^X/, "Z")}`));
    assert.equal(rw.code, 250, rw.text);
    const junk = await delivered(server, "*** SPAM *** big rewrite", "Junk");
    assert.equal(header(junk).split("\r\n").filter((l) => /^subject:/i.test(l)).length, 1);
    assert.ok(junk.includes("\r\n\r\nline 0 of a long") && junk.includes("line 99 of a long"));
  });
});

describe("spam filter when rspamd does not answer", () => {
  let closedUrl: string;
  let hung: Server;
  let hungUrl: string;
  const servers: TestServer[] = [];

  before(async () => {
    closedUrl = `http://127.0.0.1:${await freePort()}`;
    // Stand-in for a hung rspamd: reads the request, never answers.
    hung = createServer((req) => req.resume());
    await new Promise<void>((r) => hung.listen(0, "127.0.0.1", () => r()));
    hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
  });
  after(async () => {
    for (const s of servers) await s.stop();
    hung.closeAllConnections();
    await new Promise((r) => hung.close(r));
  });

  test("rspamd down, onError accept: the message is accepted and delivered without spam headers", async () => {
    const server = await startServer({ overrides: spamFilter({ url: closedUrl, onError: "accept" }), deliver: true });
    servers.push(server);
    const r = await send(server.port("smtp"), message("down accept", "Hello."));
    assert.equal(r.code, 250, r.text);
    const text = await delivered(server, "Subject: down accept\r\n", "INBOX");
    assert.doesNotMatch(header(text), /^X-Spam/m);
  });

  test("rspamd down, onError tempfail: 451 4.7.1, nothing queued", async () => {
    const server = await startServer({ overrides: spamFilter({ url: closedUrl, onError: "tempfail" }) });
    servers.push(server);
    const r = await send(server.port("smtp"), message("down tempfail", "Hello."));
    assert.equal(r.code, 451, r.text);
    assert.equal(r.enhanced, "4.7.1");
    assert.equal(await server.petrel.store.queue.count(), 0);
  });

  test("rspamd hangs: the timeout ends the wait and onError applies", async () => {
    const server = await startServer({ overrides: spamFilter({ url: hungUrl, onError: "tempfail", timeout: "300ms" }) });
    servers.push(server);
    const r = await send(server.port("smtp"), message("hung", "Hello."));
    assert.equal(r.code, 451, r.text);
    assert.equal(r.enhanced, "4.7.1");
  });
});
