/**
 * Inbound authentication end to end: real SMTP (our raw client and swaks) into the MX listener,
 * a loopback DNS server with the SPF, DKIM and DMARC records of each test domain, messages
 * signed by dkimpy (RSA and Ed25519) or ARC-sealed by dkimpy, and the mailbox read back.
 * Outcomes: accept with Authentication-Results (INBOX), DMARC p=quarantine (Junk), SPF fail and
 * DMARC p=reject (550 5.7.1 with the reason), a temporary DNS failure (451), SPF on HELO, the
 * ARC override by a trusted sealer, and forged Authentication-Results removed. SQLite, and
 * PostgreSQL when available; the IPv6 loopback for one case.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startServer, postgresStorage, POSTGRES_URL, CATCH_ALL_ACCOUNT, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer, type DnsZone } from "../helpers/dns-server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { dkimpySign } from "../helpers/dkimpy-sign.js";
import { waitFor } from "../helpers/wait.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { sealMessage } from "mailauth";
import nodemailer from "nodemailer";
import { hashPassword } from "../../src/auth/password.js";

const run = promisify(execFile);
const VECTORS = resolve(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/msgauth-vectors/dkim-dkimpy");
const RSA_KEY = readFileSync(join(VECTORS, "test.private"), "utf8");
const RSA_RECORD = readFileSync(join(VECTORS, "test.txt"), "utf8").trim();
const ED_KEY = readFileSync(join(VECTORS, "ed25519test.key"), "utf8").trim();
const ED_RECORD = `v=DKIM1; ${readFileSync(join(VECTORS, "ed25519test.dns"), "utf8").trim()}`;
const RCPT = `${CATCH_ALL_ACCOUNT}@petrel.test`;

export const ZONE: DnsZone = {
  "good.test": { TXT: ["v=spf1 ip4:127.0.0.1 ip6:::1 -all"] },
  "_dmarc.good.test": { TXT: ["v=DMARC1; p=reject"] },
  "rsa._domainkey.good.test": { TXT: [RSA_RECORD] },
  "ed._domainkey.good.test": { TXT: [ED_RECORD] },
  "spffail.test": { TXT: ["v=spf1 -all"] },
  "other.test": { TXT: ["v=spf1 ?all"] },
  "reject.test": { TXT: ["v=spf1 ?all"] },
  "_dmarc.reject.test": { TXT: ["v=DMARC1; p=reject; rua=mailto:d@reject.test"] },
  "quar.test": { TXT: ["v=spf1 ?all"] },
  "_dmarc.quar.test": { TXT: ["v=DMARC1; p=quarantine"] },
  "mx.helofail.test": { TXT: ["v=spf1 -all"] },
  "mx.helopass.test": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
  "forwarder.test": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
  "arc._domainkey.forwarder.test": { TXT: [RSA_RECORD] },
  "sealer.test": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
  "arc._domainkey.sealer.test": { TXT: [RSA_RECORD] },
  "relaxed.test": { TXT: ["v=spf1 ?all"] },
  "_dmarc.relaxed.test": { TXT: ["v=DMARC1; p=reject"] },
};

function message(from: string, subject: string, extra = ""): Buffer {
  return Buffer.from(
    `${extra}From: Sender <${from}>\r\nTo: <${RCPT}>\r\nSubject: ${subject}\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W+/g, "-")}@client.test>\r\n\r\nHello,\r\nthis is ${subject}.\r\n`,
    "latin1",
  );
}

/** An ARC set (i=1, cv=none) by `domain` with selector arc, recording `authResults`. */
async function arcSeal(m: Buffer, domain: string, authResults: string): Promise<Buffer> {
  const set = await sealMessage(m, { signingDomain: domain, selector: "arc", privateKey: RSA_KEY, authResults, cv: "none" } as never);
  return Buffer.concat([set, m]);
}

const dkimRsa = (m: Buffer) => dkimpySign(m, { mode: "dkim", domain: "good.test", selector: "rsa", key: RSA_KEY });
const dkimEd = (m: Buffer) => dkimpySign(m, { mode: "dkim", domain: "good.test", selector: "ed", key: ED_KEY, algorithm: "ed25519-sha256" });

/** One SMTP transaction through our raw client; returns the final reply. */
async function send(port: number, o: { helo?: string; from: string; data: Buffer; host?: string }): Promise<{ code: number; enhanced?: string; text: string }> {
  const c = await SmtpClient.open(port);
  try {
    await c.expect(`EHLO ${o.helo ?? "client.test"}`, 250);
    await c.expect(`MAIL FROM:<${o.from}>`, 250);
    await c.expect(`RCPT TO:<${RCPT}>`, 250);
    await c.expect("DATA", 354);
    c.write(Buffer.concat([o.data, Buffer.from(".\r\n")]));
    const r = await c.reply(15_000);
    await c.quit();
    return { code: r.code, enhanced: r.enhanced, text: r.lines.join(" ") };
  } finally {
    c.destroy();
  }
}

async function mailbox(server: TestServer, name: string): Promise<Buffer[]> {
  const account = (await server.petrel.store.directory.getAccount(RCPT))!;
  const box = await server.petrel.store.mailstore.getMailbox(account.id, name);
  if (!box) return [];
  const out: Buffer[] = [];
  for (const m of await server.petrel.store.mailstore.listMessages(box.id)) out.push(Buffer.concat([m.prefix, (await server.petrel.store.mailstore.blob(m.blobId))!]));
  return out;
}

/** The delivered message whose Subject is `subject`, in `box`. */
async function delivered(server: TestServer, subject: string, box = "INBOX"): Promise<string> {
  return waitFor(`"${subject}" in ${box}`, async () => (await mailbox(server, box)).map((b) => b.toString("latin1")).find((t) => t.includes(`Subject: ${subject}\r\n`)));
}

/** Our Authentication-Results field, unfolded. */
function ourResults(text: string): string[] {
  const header = text.split("\r\n\r\n")[0]!.replace(/\r\n[ \t]+/g, " ");
  return header.split("\r\n").filter((l) => /^Authentication-Results:\s*mx\.petrel\.test;/i.test(l));
}

function inboundConfig(dns: TestDnsServer, extra: Partial<ConfigInput> = {}): Partial<ConfigInput> {
  // The tests' clients are on loopback, which inbound.localNetworks exempts by default.
  return { dns: { servers: [dns.server] }, inbound: { authentication: true, localNetworks: [], arc: { trustedSealers: ["forwarder.test"] }, perDomain: { "lax.test": { dmarc: { rejectAction: "accept" }, spf: { failAction: "accept" } } } }, ...extra };
}

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`inbound SPF, DKIM, DMARC, ARC (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL not set" : false }, () => {
    let server: TestServer;
    let dns: TestDnsServer;

    before(async () => {
      dns = await startDnsServer(ZONE);
      server = await startServer({ overrides: { ...(backend === "postgres" ? postgresStorage() : {}), ...inboundConfig(dns) }, domains: ["petrel.test", "lax.test"], deliver: true });
    });
    after(async () => {
      await server?.stop();
      await dns?.close();
    });

    test("RSA and Ed25519 signatures by dkimpy pass; SPF and DMARC pass; one Authentication-Results on top", async (t) => {
      const signed = await dkimEd(await dkimRsa(message("alice@good.test", "signed twice")));
      const r = await send(server.port("smtp"), { from: "alice@good.test", data: signed });
      assert.equal(r.code, 250, r.text);
      const text = await delivered(server, "signed twice");
      const [ar, ...more] = ourResults(text);
      assert.equal(more.length, 0);
      t.diagnostic(text.split("\r\n\r\n")[0]!);
      assert.match(ar!, /\bspf=pass\b[^;]*smtp\.mailfrom=alice@good\.test/);
      assert.match(ar!, /\bdkim=pass\b[^;]*header\.i=@good\.test[^;]*header\.s=rsa/);
      assert.match(ar!, /\bdkim=pass\b[^;]*header\.s=ed[^;]*header\.a=ed25519-sha256/);
      assert.match(ar!, /\bdmarc=pass\b[^;]*header\.from=good\.test/);
      assert.match(ar!, /\bspf=pass\b[^;]*smtp\.helo=client\.test|spf=none[^;]*smtp\.helo=client\.test/);
      // Authentication-Results is the first field of the stored message (after delivery's own).
      assert.match(text, /^Return-Path: [^\r]*\r\nDelivered-To: [^\r]*\r\nAuthentication-Results: mx\.petrel\.test;/);
    });

    test("an altered message fails DKIM; without aligned SPF, DMARC p=reject refuses it with 550 5.7.1", async () => {
      const signed = await dkimRsa(message("alice@good.test", "altered"));
      const altered = Buffer.from(signed.toString("latin1").replace("this is altered", "this is ALTERED"), "latin1");
      const r = await send(server.port("smtp"), { from: "bounces@other.test", data: altered });
      assert.equal(r.code, 550, r.text);
      assert.equal(r.enhanced, "5.7.1");
      assert.match(r.text, /DMARC: good\.test publishes p=reject/);
      // The same message unaltered, same envelope: DKIM alone authenticates it.
      const ok = await send(server.port("smtp"), { from: "bounces@other.test", data: await dkimRsa(message("alice@good.test", "unaltered")) });
      assert.equal(ok.code, 250, ok.text);
      assert.match(ourResults(await delivered(server, "unaltered"))[0]!, /dkim=pass.*dmarc=pass/);
    });

    test("SPF fail on MAIL FROM: 550 5.7.1 naming the domain and the client", async () => {
      const r = await send(server.port("smtp"), { from: "x@spffail.test", data: message("x@spffail.test", "spf fail") });
      assert.equal(r.code, 550);
      assert.equal(r.enhanced, "5.7.1");
      assert.match(r.text, /SPF: spffail\.test does not allow 127\.0\.0\.1/);
    });

    test("SPF on HELO: a failing HELO name is refused; a passing one is recorded as smtp.helo", async () => {
      const bad = await send(server.port("smtp"), { helo: "mx.helofail.test", from: "x@other.test", data: message("x@other.test", "helo fail") });
      assert.equal(bad.code, 550);
      assert.match(bad.text, /SPF: mx\.helofail\.test .*\(HELO\)/);
      const good = await send(server.port("smtp"), { helo: "mx.helopass.test", from: "", data: message("x@other.test", "helo pass null sender") });
      assert.equal(good.code, 250, good.text);
      const ar = ourResults(await delivered(server, "helo pass null sender"))[0]!;
      assert.match(ar, /spf=pass[^;]*smtp\.helo=mx\.helopass\.test/);
      // Null reverse-path: the MAIL FROM check uses postmaster@HELO (RFC 7208 2.4).
      assert.match(ar, /spf=pass[^;]*smtp\.mailfrom=postmaster@mx\.helopass\.test/);
    });

    test("DMARC p=quarantine: accepted and delivered to Junk (\\Junk), not INBOX", async () => {
      const r = await send(server.port("smtp"), { from: "x@other.test", data: message("boss@quar.test", "quarantined") });
      assert.equal(r.code, 250, r.text);
      const text = await delivered(server, "quarantined", "Junk");
      assert.match(ourResults(text)[0]!, /dmarc=fail[^;]*p=QUARANTINE/);
      const account = (await server.petrel.store.directory.getAccount(RCPT))!;
      const junk = await server.petrel.store.mailstore.getMailbox(account.id, "Junk");
      assert.equal(junk?.specialUse, "\\Junk");
      assert.ok(!(await mailbox(server, "INBOX")).some((b) => b.toString("latin1").includes("Subject: quarantined\r\n")));
    });

    test("DMARC p=reject from a domain without signatures: 550 5.7.1 with the reason; a per-domain policy accepts it", async () => {
      const r = await send(server.port("smtp"), { from: "x@other.test", data: message("ceo@reject.test", "spoofed") });
      assert.equal(r.code, 550);
      assert.equal(r.enhanced, "5.7.1");
      assert.match(r.text, /DMARC: reject\.test publishes p=reject and neither SPF nor DKIM authenticated it/);
      // lax.test's policy (inbound.perDomain) accepts what would be refused.
      const c = await SmtpClient.open(server.port("smtp"));
      await c.expect("EHLO client.test", 250);
      await c.expect("MAIL FROM:<x@spffail.test>", 250);
      await c.expect(`RCPT TO:<someone@lax.test>`, 250);
      await c.expect("DATA", 354);
      c.write(Buffer.concat([message("ceo@reject.test", "lax"), Buffer.from(".\r\n")]));
      const lax = await c.reply(15_000);
      assert.equal(lax.code, 250, lax.raw);
      await c.quit();
    });

    test("a temporary DNS failure defers (451) a message that would otherwise be refused", async () => {
      dns.set("tempdns.test", { TXT: ["v=spf1 ?all"] });
      dns.fail("tempdns.test", "SERVFAIL");
      const r = await send(server.port("smtp"), { from: "x@tempdns.test", data: message("ceo@reject.test", "temperror") });
      assert.equal(r.code, 451, r.text);
      assert.equal(r.enhanced, "4.7.0");
      // A temperror that changes nothing (DMARC would pass via DKIM anyway) is only recorded.
      const ok = await send(server.port("smtp"), { from: "x@tempdns.test", data: await dkimRsa(message("alice@good.test", "temperror harmless")) });
      assert.equal(ok.code, 250, ok.text);
      assert.match(ourResults(await delivered(server, "temperror harmless"))[0]!, /spf=temperror.*dmarc=pass/);
    });

    test("ARC: a trusted sealer's dmarc=pass overrides the DMARC failure; an untrusted one does not", async () => {
      // The forwarder's view: DMARC passed when it received the message; it then changed the
      // body (a list footer) and sealed (mailauth's sealer; dkimpy's needs python3-authres, and
      // the ARC vectors of arc-valimail check the verifier independently).
      const original = message("ceo@reject.test", "via list");
      const footer = Buffer.concat([original, Buffer.from("-- \r\nlist footer\r\n")]);
      const sealed = await arcSeal(footer, "forwarder.test", "forwarder.test; dmarc=pass header.from=reject.test; spf=pass smtp.mailfrom=reject.test");
      const r = await send(server.port("smtp"), { from: "list-bounces@forwarder.test", data: sealed });
      assert.equal(r.code, 250, r.text);
      const ar = ourResults(await delivered(server, "via list"))[0]!;
      assert.match(ar, /arc=pass/);
      assert.match(ar, /dmarc=fail[^;]*trusted ARC sealer forwarder\.test/);

      const sealed2 = await arcSeal(message("ceo@reject.test", "via untrusted"), "sealer.test", "sealer.test; dmarc=pass header.from=reject.test");
      const r2 = await send(server.port("smtp"), { from: "list@sealer.test", data: sealed2 });
      assert.equal(r2.code, 550, r2.text);
      assert.match(r2.text, /DMARC: reject\.test/);
    });

    test("forged Authentication-Results with our authserv-id are removed; others' are kept", async () => {
      const forged = "Authentication-Results: mx.petrel.test; dkim=pass header.d=bank.example\r\nAuthentication-Results: (comment) MX.Petrel.Test;\r\n\tdmarc=pass header.from=bank.example\r\nAuthentication-Results: \"mx.petrel.test\" 1; spf=pass\r\nAuthentication-Results: elsewhere.example; spf=pass smtp.mailfrom=x@other.test\r\n";
      const r = await send(server.port("smtp"), { from: "x@other.test", data: message("x@other.test", "forged", forged) });
      assert.equal(r.code, 250, r.text);
      const text = await delivered(server, "forged");
      const header = text.split("\r\n\r\n")[0]!;
      assert.equal(header.match(/^Authentication-Results:/gim)?.length, 2, header);
      assert.equal(ourResults(text).length, 1);
      assert.doesNotMatch(header, /bank\.example/);
      assert.match(header, /Authentication-Results: elsewhere\.example; spf=pass/);
    });

    test("no way around DMARC: a header-only message, and a From: with several author domains, are judged too", async () => {
      // No blank line at all (RFC 5322 allows a message without a body).
      const headerOnly = Buffer.from(`From: <ceo@reject.test>\r\nTo: <${RCPT}>\r\nSubject: header only\r\n`, "latin1");
      const r = await send(server.port("smtp"), { from: "x@other.test", data: headerOnly });
      assert.equal(r.code, 550, r.text);
      assert.match(r.text, /DMARC: reject\.test/);
      // A harmless author first, the spoofed one second: the least favourable domain decides.
      const two = Buffer.from(`From: <x@other.test>, <ceo@reject.test>\r\nTo: <${RCPT}>\r\nSubject: two authors\r\n\r\nx\r\n`, "latin1");
      const r2 = await send(server.port("smtp"), { from: "x@other.test", data: two });
      assert.equal(r2.code, 550, r2.text);
      assert.match(r2.text, /DMARC: reject\.test/);
    });

    test("a large message (spooled, not held in memory) verifies, and gets its Authentication-Results in the spool file", async () => {
      const line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
      const big = Buffer.concat([message("alice@good.test", "big one"), Buffer.from(line.repeat(40_000))]); // about 3 MB
      const signed = await dkimRsa(big);
      const r = await send(server.port("smtp"), { from: "alice@good.test", data: signed });
      assert.equal(r.code, 250, r.text);
      const text = await delivered(server, "big one");
      assert.match(ourResults(text)[0]!, /dkim=pass.*dmarc=pass/);
      assert.ok(text.endsWith(line.repeat(3)), "the body arrived whole");
    });

    test("authenticated submission is not checked: no Authentication-Results from us", async () => {
      await server.petrel.store.directory.addAccount({ address: "sub@petrel.test", passwordHash: await hashPassword("pw-for-sub", { ln: 10, r: 8, p: 1 }) });
      const t = nodemailer.createTransport({ host: "127.0.0.1", port: server.port("submissions"), secure: true, tls: { rejectUnauthorized: false }, auth: { user: "sub@petrel.test", pass: "pw-for-sub" } });
      try {
        await t.sendMail({ envelope: { from: "sub@petrel.test", to: [RCPT] }, raw: message("sub@petrel.test", "submitted") });
      } finally {
        t.close();
      }
      const text = await delivered(server, "submitted");
      assert.equal(ourResults(text).length, 0);
    });

    test("BDAT (CHUNKING): the same checks over chunks; the refusal answers the LAST chunk", async () => {
      const data = message("ceo@reject.test", "by bdat");
      const c = await SmtpClient.open(server.port("smtp"));
      try {
        await c.expect("EHLO client.test", 250);
        await c.expect("MAIL FROM:<x@other.test>", 250);
        await c.expect(`RCPT TO:<${RCPT}>`, 250);
        const half = Math.floor(data.length / 2);
        c.write(Buffer.concat([Buffer.from(`BDAT ${half}\r\n`), data.subarray(0, half)]));
        assert.equal((await c.reply()).code, 250);
        c.write(Buffer.concat([Buffer.from(`BDAT ${data.length - half} LAST\r\n`), data.subarray(half)]));
        const r = await c.reply(15_000);
        assert.equal(r.code, 550, r.raw);
        assert.match(r.lines.join(" "), /DMARC: reject\.test/);
        await c.quit();
      } finally {
        c.destroy();
      }
    });

    test("swaks: a plain message from an unauthenticated domain is accepted with spf/dkim/dmarc none", async () => {
      const file = join(tmpdir(), `petrel-inbound-${process.pid}.eml`);
      writeFileSync(file, message("x@nowhere.test", "swaks plain"));
      try {
        const { stdout } = await run("swaks", ["--server", `127.0.0.1:${server.port("smtp")}`, "--helo", "client.test", "--from", "x@nowhere.test", "--to", RCPT, "--data", file, "--hide-informational"]);
        assert.match(stdout, /250 2\.0\.0 Ok: queued/);
      } finally {
        rmSync(file, { force: true });
      }
      const ar = ourResults(await delivered(server, "swaks plain"))[0]!;
      assert.match(ar, /spf=none/);
      assert.match(ar, /dkim=none/);
      assert.match(ar, /dmarc=none/);
    });
  });
}

describe("inbound authentication over IPv6 (::1)", () => {
  let server: TestServer;
  let dns: TestDnsServer;
  before(async () => {
    dns = await startDnsServer(ZONE);
    server = await startServer({ overrides: { ...inboundConfig(dns), listen: { smtp: "[::1]:0" } }, deliver: true });
  });
  after(async () => {
    await server?.stop();
    await dns?.close();
  });

  test("SPF ip6 matches the client ::1; swaks over IPv6", async () => {
    const file = join(tmpdir(), `petrel-inbound6-${process.pid}.eml`);
    writeFileSync(file, await dkimRsa(message("alice@good.test", "over ipv6")));
    try {
      const { stdout } = await run("swaks", ["--server", "::1", "--port", String(server.port("smtp")), "-6", "--helo", "client.test", "--from", "alice@good.test", "--to", RCPT, "--data", file, "--hide-informational"]);
      assert.match(stdout, /250 2\.0\.0 Ok: queued/);
    } finally {
      rmSync(file, { force: true });
    }
    const ar = ourResults(await delivered(server, "over ipv6"))[0]!;
    assert.match(ar, /spf=pass[^;]*designates ::1 as permitted sender/);
    assert.match(ar, /dmarc=pass/);
  });
});

describe("inbound authentication and inbound.localNetworks", () => {
  let server: TestServer;
  let dns: TestDnsServer;
  before(async () => {
    dns = await startDnsServer(ZONE);
    const c = inboundConfig(dns);
    server = await startServer({ overrides: { ...c, inbound: { ...c.inbound, localNetworks: ["127.0.0.0/8", "::1/128"] } }, deliver: true });
  });
  after(async () => {
    await server?.stop();
    await dns?.close();
  });

  test("from inbound.localNetworks: not checked (like submission); a filter's own Authentication-Results are kept", async () => {
    const file = join(tmpdir(), `petrel-inbound6l-${process.pid}.eml`);
    writeFileSync(file, message("ceo@reject.test", "local spoof", "Authentication-Results: mx.petrel.test; dmarc=fail (added by our content filter)\r\n"));
    try {
      const { stdout } = await run("swaks", ["--server", `127.0.0.1:${server.port("smtp")}`, "--from", "x@spffail.test", "--to", RCPT, "--data", file, "--hide-informational"]);
      assert.match(stdout, /250 2\.0\.0 Ok: queued/);
    } finally {
      rmSync(file, { force: true });
    }
    const ars = ourResults(await delivered(server, "local spoof"));
    assert.equal(ars.length, 1);
    assert.match(ars[0]!, /added by our content filter/);
  });
});
