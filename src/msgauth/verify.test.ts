/**
 * MessageVerifier over a loopback DNS server: the message streams in (any chunking gives the
 * same results), SPF runs on both identities, a header-only message is still judged, and an
 * Authentication-Results field is built from the results.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { dkimSign } from "mailauth";
import { startDnsServer, type TestDnsServer } from "../../test/helpers/dns-server.js";
import { DnsResolver } from "../dns/resolver.js";
import { mailauthResolver } from "../dns/mailauth.js";
import { MessageVerifier, unmapIp } from "./verify.js";
import { authResultsField } from "./auth-results.js";
import { dkimRecordName, dkimRecordValue, generateDkimKeyPair } from "./dkim-keys.js";

let dns: TestDnsServer;
const key = generateDkimKeyPair("ed25519");
before(async () => {
  dns = await startDnsServer({
    "a.example": { TXT: ["v=spf1 ip4:192.0.2.0/24 -all"] },
    "_dmarc.a.example": { TXT: ["v=DMARC1; p=reject"] },
    [dkimRecordName("s1", "a.example")]: { TXT: [dkimRecordValue("ed25519", key.publicKey)] },
    "mx.b.example": { TXT: ["v=spf1 -all"] },
  });
});
after(async () => dns?.close());

const resolver = () => mailauthResolver(new DnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 }));

async function run(message: Buffer, chunk: number, o: { ip?: string; helo?: string; sender?: string } = {}) {
  const v = new MessageVerifier({ resolver: resolver(), ip: o.ip ?? "192.0.2.9", helo: o.helo ?? "mx.b.example", sender: o.sender ?? "x@a.example", hostname: "mx.test" });
  for (let i = 0; i < message.length; i += chunk) await v.write(message.subarray(i, i + chunk));
  return v.finish();
}

test("streamed in any chunking, the verdicts are the same; SPF on MAIL FROM and HELO", async () => {
  const plain = Buffer.from("From: <boss@a.example>\r\nTo: <y@z.example>\r\nSubject: hi\r\n\r\nbody line\r\n", "latin1");
  const { signatures } = await dkimSign(plain, { signatureData: [{ signingDomain: "a.example", selector: "s1", privateKey: key.privateKey, algorithm: "ed25519-sha256" }] } as never);
  const signed = Buffer.concat([Buffer.from(signatures, "latin1"), plain]);
  for (const chunk of [1, 5, 4096]) {
    const r = await run(signed, chunk);
    assert.equal(r.spf.status.result, "pass");
    assert.equal(r.helo?.status.result, "fail", "mx.b.example publishes -all");
    assert.deepEqual(r.dkim.map((d) => d.status.result), ["pass"]);
    assert.equal(r.dmarc?.status.result, "pass");
    const field = authResultsField("mx.test", r).toString();
    assert.match(field, /^Authentication-Results: mx\.test;\r\n\tspf=pass /);
    assert.match(field, /smtp\.mailfrom=x@a\.example;\r\n\tspf=fail .*smtp\.helo=mx\.b\.example;/s);
    assert.ok(field.split("\r\n").every((l) => l.length <= 100), field);
  }
});

test("a header-only message (no blank line) still has its From: judged by DMARC", async () => {
  const r = await run(Buffer.from("From: <boss@a.example>\r\nSubject: no body", "latin1"), 7, { ip: "198.51.100.1" });
  assert.deepEqual(r.headerFrom, ["boss@a.example"]);
  assert.equal(r.dmarc?.status.result, "fail");
});

test("an address-literal HELO is not checked; IPv4-mapped clients are IPv4", async () => {
  const r = await run(Buffer.from("From: <boss@a.example>\r\n\r\nx\r\n"), 64, { helo: "[192.0.2.9]", ip: "::ffff:192.0.2.9" });
  assert.equal(r.helo, null);
  assert.equal(r.spf.status.result, "pass");
  assert.equal(unmapIp("::FFFF:10.0.0.1"), "10.0.0.1");
  assert.equal(unmapIp("2001:db8::1"), "2001:db8::1");
});

test("abort() stops a verifier without waiting for the rest", async () => {
  const v = new MessageVerifier({ resolver: resolver(), ip: "192.0.2.9", helo: "", sender: "", hostname: "mx.test" });
  await v.write(Buffer.from("From: <a@a.example>\r\n"));
  v.abort();
  await v.write(Buffer.from("more"));
});
