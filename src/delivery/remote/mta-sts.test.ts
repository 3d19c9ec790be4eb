import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MtaSts, mxMatches, parseStsPolicy, parseStsRecord, PolicyFetchError, StsPolicyError } from "./mta-sts.js";
import { resultTypeOf, TlsReportData } from "./tls-report.js";
import { DnsError, type Resolver } from "../../dns/types.js";
import { MemoryKeyValue } from "../../../test/helpers/memory-kv.js";
import { nullLogger } from "../../core/logger.js";

describe("MTA-STS parsing (RFC 8461 3)", () => {
  test("TXT record: exactly one v=STSv1 with an id", () => {
    assert.deepEqual(parseStsRecord(["v=STSv1; id=20160831085700Z;"]), { id: "20160831085700Z" });
    assert.deepEqual(parseStsRecord(["v=spf1 -all", "v=STSv1;id=abc"]), { id: "abc" });
    assert.equal(parseStsRecord(["v=STSv1; id=a", "v=STSv1; id=b"]), null);
    assert.equal(parseStsRecord(["v=STSv1; id=bad-id!"]), null);
    assert.equal(parseStsRecord(["v=STSv10; id=a"]), null);
    assert.equal(parseStsRecord([]), null);
  });

  test("policy: fields, CRLF or LF, max_age capped", () => {
    const p = parseStsPolicy("version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 9999999999\n", "x", 5);
    assert.equal(p.mode, "enforce");
    assert.deepEqual(p.mx, ["mail.example.com", "*.example.net"]);
    assert.equal(p.maxAge, 31_557_600);
    assert.equal(p.fetchedAt, 5);
    assert.equal(parseStsPolicy("version: STSv1\r\nmode: none\r\nmax_age: 10\r\n", "y", 0).mode, "none");
    for (const bad of ["mode: enforce\nmx: a\nmax_age: 1\n", "version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n", "version: STSv1\nmode: enforce\nmax_age: 1\n", "version: STSv1\nmode: testing\nmx: a\nmax_age: -1\n"]) {
      assert.throws(() => parseStsPolicy(bad, "z", 0), StsPolicyError, bad);
    }
  });

  test("MX patterns: exact, or a wildcard for exactly one label (RFC 8461 4.1)", () => {
    assert.ok(mxMatches("mail.example.com", ["mail.example.com"]));
    assert.ok(mxMatches("Mail.Example.com.", ["mail.example.com"]));
    assert.ok(mxMatches("mx1.example.net", ["*.example.net"]));
    assert.ok(!mxMatches("a.b.example.net", ["*.example.net"]));
    assert.ok(!mxMatches("example.net", ["*.example.net"]));
    assert.ok(!mxMatches("evilexample.net", ["*.example.net"]));
  });

  test("TLS failures as RFC 8460 result types", () => {
    assert.equal(resultTypeOf("TLS is required for this destination and the server does not offer STARTTLS"), "starttls-not-supported");
    assert.equal(resultTypeOf("the server's certificate is not valid: ERR_TLS_CERT_ALTNAME_INVALID"), "certificate-host-mismatch");
    assert.equal(resultTypeOf("the server's certificate is not valid: CERT_HAS_EXPIRED"), "certificate-expired");
    assert.equal(resultTypeOf("the server's certificate is not valid: DEPTH_ZERO_SELF_SIGNED_CERT"), "certificate-not-trusted");
    assert.equal(resultTypeOf("TLS handshake failed: wrong version"), "validation-failure");
  });
});

describe("MTA-STS discovery and cache (RFC 8461 5.1)", () => {
  const policyText = (mx: string) => `version: STSv1\nmode: enforce\nmx: ${mx}\nmax_age: 3600\n`;
  const setup = () => {
    let now = 1_000_000;
    const txt = new Map<string, string[][] | DnsError>();
    const resolver = {
      txt: async (n: string) => {
        const r = txt.get(n);
        if (r instanceof DnsError) throw r;
        if (!r) throw new DnsError("NXDOMAIN", n, "TXT");
        return r;
      },
    } as unknown as Resolver;
    const fetched: string[] = [];
    let body: string | Error = policyText("mx.a.test");
    const kv = new MemoryKeyValue();
    const sts = new MtaSts({
      resolver,
      kv,
      log: nullLogger,
      now: () => now,
      fetch: async (d) => {
        fetched.push(d);
        if (body instanceof Error) throw body;
        return body;
      },
    });
    return { sts, txt, fetched, kv, setBody: (b: string | Error) => (body = b), advance: (ms: number) => (now += ms) };
  };

  test("fetched once, then cached while the id stays; a new id fetches again", async () => {
    const t = setup();
    t.txt.set("_mta-sts.a.test", [["v=STSv1; id=1"]]);
    assert.deepEqual((await t.sts.lookup("a.test")).policy?.mx, ["mx.a.test"]);
    assert.equal((await t.sts.lookup("A.test")).policy?.id, "1");
    assert.deepEqual(t.fetched, ["a.test"]);
    t.txt.set("_mta-sts.a.test", [["v=STSv1; id=2"]]);
    t.setBody(policyText("mx2.a.test"));
    assert.deepEqual((await t.sts.lookup("a.test")).policy?.mx, ["mx2.a.test"]);
    assert.equal(t.fetched.length, 2);
  });

  test("no record, or a DNS failure: the cached policy holds until max_age", async () => {
    const t = setup();
    t.txt.set("_mta-sts.a.test", [["v=STSv1; id=1"]]);
    await t.sts.lookup("a.test");
    t.txt.delete("_mta-sts.a.test");
    assert.equal((await t.sts.lookup("a.test")).policy?.id, "1");
    t.txt.set("_mta-sts.a.test", new DnsError("SERVFAIL", "_mta-sts.a.test", "TXT"));
    assert.equal((await t.sts.lookup("a.test")).policy?.id, "1");
    t.advance(3601_000);
    assert.equal((await t.sts.lookup("a.test")).policy, null);
  });

  test("a failed fetch keeps the cached policy and reports the failure type", async () => {
    const t = setup();
    t.txt.set("_mta-sts.a.test", [["v=STSv1; id=1"]]);
    await t.sts.lookup("a.test");
    t.txt.set("_mta-sts.a.test", [["v=STSv1; id=2"]]);
    t.setBody(new PolicyFetchError("sts-webpki-invalid", "bad cert"));
    const r = await t.sts.lookup("a.test");
    assert.equal(r.policy?.id, "1");
    assert.equal(r.failure?.type, "sts-webpki-invalid");
    t.setBody("garbage");
    assert.equal((await t.sts.lookup("a.test")).failure?.type, "sts-policy-invalid");
  });

  test("no policy anywhere: none; mode none: none", async () => {
    const t = setup();
    assert.equal((await t.sts.lookup("b.test")).policy, null);
    t.txt.set("_mta-sts.c.test", [["v=STSv1; id=1"]]);
    t.setBody("version: STSv1\nmode: none\nmax_age: 100\n");
    assert.equal((await t.sts.lookup("c.test")).policy, null);
    assert.deepEqual(t.fetched, ["c.test"]);
  });

  test("TLS-RPT counts per day, domain and result type", async () => {
    const kv = new MemoryKeyValue();
    const r = new TlsReportData(kv, () => Date.UTC(2026, 10, 30, 12));
    await r.record("a.test", "sts", { ok: true });
    await r.record("a.test", "sts", { ok: true });
    await r.record("a.test", "sts", { ok: false, type: "certificate-expired" });
    await r.record("b.test", "no-policy-found", { ok: false, type: "starttls-not-supported" });
    assert.deepEqual(await r.domains("2026-11-30"), ["a.test", "b.test"]);
    const [a] = await r.summary("2026-11-30", "a.test");
    assert.deepEqual({ ...a, policy: null }, { domain: "a.test", policyType: "sts", success: 2, failure: 1, failures: { "certificate-expired": 1 }, policy: null });
    const [b] = await r.summary("2026-11-30", "b.test");
    assert.equal(b?.policyType, "no-policy-found");
    assert.equal(b?.failure, 1);
  });
});
