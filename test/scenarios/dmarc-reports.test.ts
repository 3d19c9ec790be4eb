/**
 * DMARC aggregate reports end to end (RFC 7489 7.2).
 * Receiving: a realistic report (test/fixtures/dmarc, as Google sends them) arrives by SMTP at
 * dmarc.reportAddress as a gzip attachment, a zip attachment (made by Python's zipfile) and
 * plain XML; after local delivery each is parsed and stored, a repeat is not stored twice, and
 * `petrel dmarc reports --json` lists them.
 * Sending: messages from sender.test (loopback DNS: SPF, DMARC p=quarantine with
 * rua=mailto:reports@remote.test, and remote.test's authorisation record) pass and fail DMARC;
 * `petrel dmarc send-reports` queues one report to reports@remote.test whose gzipped XML is
 * read back and checked field by field. A domain whose rua= is not authorised gets nothing.
 * SQLite, and PostgreSQL when available.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, gunzipSync } from "node:zlib";
import { stringify } from "yaml";
import { startServer, postgresStorage, POSTGRES_URL, CLI, testConfig, CATCH_ALL_ACCOUNT, type TestServer } from "../helpers/server.js";
import { startDnsServer, type TestDnsServer } from "../helpers/dns-server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { waitFor } from "../helpers/wait.js";
import { runPython } from "../helpers/python.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { parseMessage, walkParts } from "../../src/mime/index.js";
import { parseAggregateReport, parseXml } from "../../src/msgauth/dmarc-aggregate.js";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/dmarc");
const REPORT = readFileSync(join(FIXTURES, "google.com!petrel.test!1764460800!1764547199.xml"), "utf8");
const REPORT_ADDRESS = "dmarc-reports@petrel.test";

function cli(configFile: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.PETREL_CONFIG;
  delete env.PETREL_DATA_DIR;
  return new Promise((res, rej) =>
    execFile(process.execPath, [CLI, ...args, "--config", configFile], { env, timeout: 30_000, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return rej(err);
      res({ code: err ? (err.code as number) : 0, stdout, stderr });
    }),
  );
}

async function send(port: number, o: { from: string; to: string; data: Buffer }): Promise<number> {
  const c = await SmtpClient.open(port);
  try {
    await c.expect("EHLO client.test", 250);
    await c.expect(`MAIL FROM:<${o.from}>`, 250);
    await c.expect(`RCPT TO:<${o.to}>`, 250);
    await c.expect("DATA", 354);
    c.write(Buffer.concat([o.data, Buffer.from(".\r\n")]));
    const r = await c.reply(15_000);
    await c.quit();
    return r.code;
  } finally {
    c.destroy();
  }
}

const b64 = (b: Buffer) => b.toString("base64").replace(/.{1,76}/g, "$&\r\n");

/** A report message as report senders write it: text part plus the attachment. */
function reportMail(subjectId: string, attachment: { type: string; name: string; data: Buffer } | null, plainXml?: string): Buffer {
  const head = `From: noreply-dmarc-support@google.com\r\nTo: ${REPORT_ADDRESS}\r\nSubject: Report domain: petrel.test Submitter: google.com Report-ID: ${subjectId}\r\nDate: Mon, 30 Nov 2026 08:00:00 +0000\r\nMessage-ID: <${subjectId}@google.com>\r\nMIME-Version: 1.0\r\n`;
  if (plainXml !== undefined) return Buffer.from(`${head}Content-Type: text/xml; charset=utf-8\r\nContent-Disposition: attachment; filename="google.com!petrel.test!1764460800!1764547199.xml"\r\n\r\n${plainXml.replace(/\r?\n/g, "\r\n")}`);
  const a = attachment!;
  return Buffer.from(
    `${head}Content-Type: multipart/mixed; boundary="000000000000b1f2"\r\n\r\n--000000000000b1f2\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\nThis is an aggregate report from google.com.\r\n\r\n--000000000000b1f2\r\nContent-Type: ${a.type}; name="${a.name}"\r\nContent-Disposition: attachment; filename="${a.name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64(a.data)}--000000000000b1f2--\r\n`,
  );
}

async function zipped(name: string, xml: string): Promise<Buffer> {
  const out = await runPython<{ zip: string }>(
    "import sys, io, json, zipfile, base64\n",
    `data = json.load(sys.stdin)
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(data["name"], data["xml"].encode())
out = {"zip": base64.b64encode(buf.getvalue()).decode()}`,
    { name, xml },
  );
  return Buffer.from(out.zip, "base64");
}

for (const backend of ["sqlite", "postgres"] as const) {
  describe(`DMARC aggregate reports (${backend})`, { skip: backend === "postgres" && !POSTGRES_URL ? "PETREL_TEST_POSTGRES_URL not set" : false }, () => {
    let server: TestServer;
    let dns: TestDnsServer;
    let configFile: string;

    before(async () => {
      dns = await startDnsServer({
        "sender.test": { TXT: ["v=spf1 ip4:127.0.0.1 ip6:::1 -all"] },
        "_dmarc.sender.test": { TXT: ["v=DMARC1; p=quarantine; rua=mailto:reports@remote.test!10m; adkim=s"] },
        "sender.test._report._dmarc.remote.test": { TXT: ["v=DMARC1"] },
        "other.test": { TXT: ["v=spf1 ?all"] },
        "noauth.test": { TXT: ["v=spf1 ip4:127.0.0.1 -all"] },
        "_dmarc.noauth.test": { TXT: ["v=DMARC1; p=none; rua=mailto:reports@elsewhere.test"] },
      });
      const overrides: Partial<ConfigInput> = {
        ...(backend === "postgres" ? postgresStorage() : {}),
        dns: { servers: [dns.server] },
        inbound: { authentication: true, localNetworks: [] },
        dmarc: { reportAddress: REPORT_ADDRESS, sendReports: true, reportFrom: "dmarc@petrel.test" },
      };
      server = await startServer({ overrides, deliver: true });
      configFile = join(server.dataDir, "petrel.yaml");
      writeFileSync(configFile, stringify(testConfig(server.dataDir, overrides)));
    });
    after(async () => {
      await server?.stop();
      await dns?.close();
    });

    test("reports arriving as gzip, zip and plain XML are parsed, stored once, and listed", async () => {
      const port = server.port("smtp");
      const gz = REPORT.replace("12219870946733486311", "gzip-1");
      const zip = REPORT.replace("12219870946733486311", "zip-2");
      const from = "noreply-dmarc-support@google.com";
      assert.equal(await send(port, { from, to: REPORT_ADDRESS, data: reportMail("gzip-1", { type: "application/gzip", name: "google.com!petrel.test!1764460800!1764547199.xml.gz", data: gzipSync(gz) }) }), 250);
      assert.equal(await send(port, { from, to: REPORT_ADDRESS, data: reportMail("zip-2", { type: "application/zip", name: "google.com!petrel.test!1764460800!1764547199.zip", data: await zipped("google.com!petrel.test!1764460800!1764547199.xml", zip) }) }), 250);
      assert.equal(await send(port, { from, to: REPORT_ADDRESS, data: reportMail("plain-3", null, REPORT) }), 250);
      // The same report again (a resend): delivered, not stored twice.
      assert.equal(await send(port, { from, to: REPORT_ADDRESS, data: reportMail("plain-3-again", null, REPORT) }), 250);
      await waitFor("3 reports stored", async () => (await server.petrel.store.dmarc.listReports()).length === 3 && (await server.petrel.store.queue.count()) === 0);
      // The messages are also in the mailbox (the report address is an ordinary address).
      const account = (await server.petrel.store.directory.getAccount(`${CATCH_ALL_ACCOUNT}@petrel.test`))!;
      const inbox = await server.petrel.store.mailstore.getMailbox(account.id, "INBOX");
      assert.equal((await server.petrel.store.mailstore.listMessages(inbox!.id)).length, 4);

      const r = await cli(configFile, ["dmarc", "reports", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const list = JSON.parse(r.stdout) as { org: string; reportId: string; domain: string; begin: string; end: string; policy: { p: string; pct: number }; messages: number; records: { sourceIp: string; count: number; disposition: string; dkim: string; spf: string; headerFrom: string; reasons: { type: string }[]; authDkim: { selector?: string }[] }[] }[];
      assert.deepEqual(list.map((x) => x.reportId).sort(), ["12219870946733486311", "gzip-1", "zip-2"]);
      for (const rep of list) {
        assert.equal(rep.org, "google.com");
        assert.equal(rep.domain, "petrel.test");
        assert.equal(rep.begin, "2025-11-30T00:00:00Z");
        assert.equal(rep.end, "2025-11-30T23:59:59Z");
        assert.equal(rep.policy.p, "quarantine");
        assert.equal(rep.messages, 19);
        assert.deepEqual(
          rep.records.map((x) => [x.sourceIp, x.count, x.disposition, x.dkim, x.spf]),
          [
            ["192.0.2.25", 14, "none", "pass", "pass"],
            ["2001:db8::25", 3, "none", "pass", "fail"],
            ["203.0.113.66", 2, "quarantine", "fail", "fail"],
          ],
        );
        assert.equal(rep.records[1]!.reasons[0]!.type, "forwarded");
        assert.equal(rep.records[0]!.authDkim[0]!.selector, "p2026");
      }
      const text = await cli(configFile, ["dmarc", "reports"]);
      assert.match(text.stdout, /petrel\.test {2}google\.com {2}zip-2 .* p=quarantine {2}19 message\(s\), 2 failing DMARC/);
    });

    test("send-reports: evaluations of mail from sender.test become one report to its rua=, which parses back", async () => {
      const port = server.port("smtp");
      const msg = (from: string, subject: string) => Buffer.from(`From: <${from}>\r\nTo: <someone@petrel.test>\r\nSubject: ${subject}\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, "")}@sender.test>\r\n\r\nHi.\r\n`);
      // Two that pass (SPF aligned), one that fails DMARC (MAIL FROM elsewhere, no DKIM): Junk.
      assert.equal(await send(port, { from: "alice@sender.test", to: "someone@petrel.test", data: msg("alice@sender.test", "pass one") }), 250);
      assert.equal(await send(port, { from: "alice@sender.test", to: "someone@petrel.test", data: msg("alice@sender.test", "pass two") }), 250);
      assert.equal(await send(port, { from: "mallory@other.test", to: "someone@petrel.test", data: msg("ceo@sender.test", "spoofed") }), 250);
      // rua= at a domain that did not authorise it (RFC 7489 7.1): recorded, never sent.
      assert.equal(await send(port, { from: "bob@noauth.test", to: "someone@petrel.test", data: msg("bob@noauth.test", "noauth") }), 250);
      await waitFor("4 evaluations recorded", async () => (await server.petrel.store.dmarc.events(Date.now() + 1)).length === 4);

      const r = await cli(configFile, ["dmarc", "send-reports", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const sent = JSON.parse(r.stdout) as { domain: string; to: string[]; queueId: string; records: number; messages: number; reportId: string }[];
      assert.equal(sent.length, 1, r.stdout);
      const [s] = sent;
      assert.equal(s!.domain, "sender.test");
      assert.deepEqual(s!.to, ["reports@remote.test"]);
      assert.equal(s!.messages, 3);
      assert.equal(s!.records, 2);

      const entry = await server.petrel.store.queue.get(s!.queueId);
      assert.ok(entry, "the report is in the queue");
      assert.equal(entry.sender, "dmarc@petrel.test");
      assert.deepEqual(entry.recipients.map((x) => x.address), ["reports@remote.test"]);
      const body = (await server.petrel.queue.body(s!.queueId))!;
      const header = body.subarray(0, body.indexOf("\r\n\r\n")).toString("latin1");
      assert.match(header, new RegExp(`^Subject: Report Domain: sender\\.test Submitter: mx\\.petrel\\.test Report-ID: <${s!.reportId.replace(/\./g, "\\.")}>$`, "m"));
      const parsed = parseMessage(body);
      const part = [...walkParts(parsed.root)].find((p) => p.type === "application" && p.subtype === "gzip");
      assert.ok(part, "an application/gzip part");
      assert.match(part.disposition?.params.filename ?? "", /^mx\.petrel\.test!sender\.test!\d+!\d+\.xml\.gz$/);
      const xml = gunzipSync(Buffer.from(body.subarray(part.bodyStart, part.bodyEnd).toString("latin1"), "base64")).toString("utf8");

      // The structure of RFC 7489 Appendix C, in order.
      const feedback = parseXml(xml).children[0]!;
      assert.equal(feedback.name, "feedback");
      assert.deepEqual(feedback.children.map((c) => c.name), ["version", "report_metadata", "policy_published", "record", "record"]);
      assert.deepEqual(feedback.children[1]!.children.map((c) => c.name), ["org_name", "email", "report_id", "date_range"]);
      const rec = feedback.children[3]!;
      assert.deepEqual(rec.children.map((c) => c.name), ["row", "identifiers", "auth_results"]);
      assert.deepEqual(rec.children[0]!.children.map((c) => c.name), ["source_ip", "count", "policy_evaluated"]);

      const report = parseAggregateReport(xml);
      assert.equal(report.orgName, "mx.petrel.test");
      assert.equal(report.email, "dmarc@petrel.test");
      assert.equal(report.reportId, s!.reportId);
      assert.ok(report.begin <= report.end && report.end <= Date.now() / 1000 + 1);
      assert.deepEqual(report.policy, { domain: "sender.test", adkim: "s", aspf: "r", p: "quarantine", sp: "quarantine", pct: 100, fo: undefined });
      const byDisposition = Object.fromEntries(report.records.map((x) => [x.disposition, x]));
      assert.deepEqual(Object.keys(byDisposition).sort(), ["none", "quarantine"]);
      const pass = byDisposition.none!;
      assert.equal(pass.count, 2);
      assert.equal(pass.sourceIp, "127.0.0.1");
      assert.equal(pass.headerFrom, "sender.test");
      assert.equal(pass.envelopeFrom, "sender.test");
      assert.equal(pass.dkim, "fail");
      assert.equal(pass.spf, "pass");
      assert.deepEqual(pass.authSpf, [{ domain: "sender.test", scope: "mfrom", result: "pass" }]);
      const fail = byDisposition.quarantine!;
      assert.equal(fail.count, 1);
      assert.equal(fail.spf, "fail");
      assert.equal(fail.dkim, "fail");
      assert.equal(fail.envelopeFrom, "other.test");
      assert.deepEqual(fail.authSpf, [{ domain: "other.test", scope: "mfrom", result: "neutral" }]);

      // Everything recorded was reported (or dropped for want of an authorised address).
      assert.equal((await server.petrel.store.dmarc.events(Date.now() + 1)).length, 0);
      const again = await cli(configFile, ["dmarc", "send-reports"]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /no reports to send/);
    });
  });
}
