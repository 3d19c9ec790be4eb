/**
 * DKIM signing checked by independent verifiers: dkimpy (Debian python3-dkim) and mailauth's
 * verifier, both fetching the public keys from a loopback DNS server.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import { startDnsServer, type TestDnsServer } from "../../test/helpers/dns-server.js";
import { dkimpyVerify } from "../../test/helpers/dkim-verify.js";
import { DnsResolver } from "../dns/resolver.js";
import { mailauthResolver } from "../dns/mailauth.js";
import { DkimSignStream, type DkimSigningKey } from "./dkim-sign.js";
import { dkimRecordName, dkimRecordValue, generateDkimKeyPair, zoneFileStrings } from "./dkim-keys.js";

let dns: TestDnsServer;
const rsa = generateDkimKeyPair("rsa");
const ed = generateDkimKeyPair("ed25519");
const RSA_KEY: DkimSigningKey = { domain: "example.test", selector: "petrel202611", algorithm: "rsa", privateKey: rsa.privateKey };
const ED_KEY: DkimSigningKey = { domain: "example.test", selector: "petrel202611ed", algorithm: "ed25519", privateKey: ed.privateKey };

before(async () => {
  dns = await startDnsServer({
    [dkimRecordName(RSA_KEY.selector, "example.test")]: { TXT: [dkimRecordValue("rsa", rsa.publicKey)] },
    [dkimRecordName(ED_KEY.selector, "example.test")]: { TXT: [dkimRecordValue("ed25519", ed.publicKey)] },
  });
});
after(() => dns.close());

const RECEIVED = "Received: from client.test ([192.0.2.1])\r\n\tby mx.petrel.test (Petrel) with ESMTPSA id Q1;\r\n\tMon, 30 Nov 2026 10:00:00 +0000\r\n";
const MESSAGE =
  "From: Alice <alice@example.test>\r\n" +
  "To: Bob <bob@elsewhere.test>, carol@elsewhere.test\r\n" +
  "Cc: dave@elsewhere.test\r\n" +
  "Subject: Hello\r\n   with a folded  subject\r\n" +
  "Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n" +
  "Message-ID: <q1@example.test>\r\n" +
  "MIME-Version: 1.0\r\n" +
  "Content-Type: text/plain; charset=utf-8\r\n" +
  "X-Mailer: test\r\n" +
  "\r\n" +
  "Hello Bob,  \r\n\r\nthis body has trailing spaces \t\r\nand empty lines at the end.\r\n\r\n\r\n";

/** Feed a message through the signer in chunks of `size` octets; return the signed message. */
function signed(message: string, keys: DkimSigningKey[], size = 7): Buffer {
  const raw = Buffer.from(message, "utf8");
  const s = new DkimSignStream();
  for (let i = 0; i < raw.length; i += size) s.update([raw.subarray(i, i + size)]);
  return Buffer.concat([s.sign(keys, new Date()), raw]);
}

test("RSA-SHA256 relaxed/relaxed verifies with dkimpy, From oversigned", async () => {
  const m = signed(RECEIVED + MESSAGE, [RSA_KEY]);
  const header = m.toString("latin1").split("\r\n\r\n")[0]!;
  assert.match(header, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.test;/);
  const h = /h=([^;]+);/.exec(header.replace(/\r\n\s/g, ""))![1]!.replace(/\s/g, "").split(":");
  assert.deepEqual(h.filter((x) => x === "From").length, 2, "From oversigned");
  for (const f of ["To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]) assert.ok(h.includes(f), f);
  assert.ok(!h.includes("Received") && !h.includes("X-Mailer"));
  assert.deepEqual(await dkimpyVerify(m, dns.server), [{ ok: true, domain: "example.test", selector: "petrel202611", algorithm: "rsa-sha256" }]);
});

test("RSA and Ed25519 (RFC 8463) signatures both verify with dkimpy and mailauth", async () => {
  const m = signed(RECEIVED + MESSAGE, [ED_KEY, RSA_KEY], 1);
  const verdicts = await dkimpyVerify(m, dns.server);
  assert.deepEqual(
    verdicts.map((v) => [v.algorithm, v.ok]),
    [
      ["rsa-sha256", true],
      ["ed25519-sha256", true],
    ],
  );
  const r = await dkimVerify(m, { resolver: mailauthResolver(new DnsResolver({ servers: [dns.server] })) as never });
  assert.deepEqual(
    r.results.map((x: { signingDomain: string; status: { result: string } }) => x.status.result),
    ["pass", "pass"],
  );
});

test("a message altered after signing fails", async () => {
  const m = signed(RECEIVED + MESSAGE, [RSA_KEY, ED_KEY]).toString("latin1");
  const body = Buffer.from(m.replace("Hello Bob,", "Hello Eve,"), "latin1");
  assert.deepEqual((await dkimpyVerify(body, dns.server)).map((v) => v.ok), [false, false]);
  const subject = Buffer.from(m.replace("Subject: Hello", "Subject: Jello"), "latin1");
  assert.deepEqual((await dkimpyVerify(subject, dns.server)).map((v) => v.ok), [false, false]);
  // A second From: added on top of a signed message breaks the signature (oversigning).
  const [head, ...rest] = m.split("From: Alice");
  const added = Buffer.from(`${head}From: Mallory <m@example.test>\r\nFrom: Alice${rest.join("From: Alice")}`, "latin1");
  assert.deepEqual((await dkimpyVerify(added, dns.server)).map((v) => v.ok), [false, false]);
  // Relaxed canonicalization: whitespace changes and an unsigned field do not matter.
  const relaxed = Buffer.from(m.replace("Subject: Hello", "Subject:   Hello").replace("X-Mailer: test", "X-Mailer: other"), "latin1");
  assert.deepEqual((await dkimpyVerify(relaxed, dns.server)).map((v) => v.ok), [true, true]);
});

test("a message with a large body is hashed as it streams; one with no body still signs", async () => {
  const big = RECEIVED + MESSAGE + "line of text that repeats\r\n".repeat(40_000);
  assert.deepEqual((await dkimpyVerify(signed(big, [RSA_KEY], 65_536), dns.server)).map((v) => v.ok), [true]);
  const noBody = RECEIVED + "From: alice@example.test\r\nSubject: none\r\n";
  assert.deepEqual((await dkimpyVerify(signed(noBody, [RSA_KEY]), dns.server)).map((v) => v.ok), [true]);
});

test("zone-file strings are at most 255 octets and join to the value", () => {
  const value = dkimRecordValue("rsa", rsa.publicKey);
  const strings = zoneFileStrings(value).match(/"([^"]*)"/g)!.map((q) => q.slice(1, -1));
  assert.ok(strings.length >= 2 && strings.every((x) => x.length <= 255));
  assert.equal(strings.join(""), value);
  assert.match(dkimRecordValue("ed25519", ed.publicKey), /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
});
