/** MAIL FROM / RCPT TO lines with their ESMTP parameters: tables of valid and invalid lines. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ParamError, parseMailFrom, parseRcptTo } from "./path-params.js";
import { decodeUtf8AddrXtext, decodeXtext, encodeXtext } from "./xtext.js";

type Kind = ParamError["kind"];

function rejects(fn: () => unknown, kind: Kind, line: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ParamError, `${line}: expected a ParamError, got ${String(e)}`);
    assert.equal(e.kind, kind, `${line}: ${e.message}`);
    return true;
  });
}

const mail = (arg: string, tls = false) => parseMailFrom(arg, { tls });

describe("MAIL FROM", () => {
  const valid: [string, Record<string, unknown>][] = [
    ["FROM:<a@b.test>", { address: { local: "a", domain: "b.test", quoted: false, utf8: false }, smtputf8: false, requireTls: false, dsn: {} }],
    ["FROM:<>", { address: null }],
    ["from:<A@B.Test>", { address: { local: "A", domain: "b.test", quoted: false, utf8: false } }],
    ["FROM: <a@b.test>", { address: { local: "a", domain: "b.test", quoted: false, utf8: false } }],
    ["FROM:<a@b.test> SIZE=12345", { declaredSize: 12345 }],
    ["FROM:<a@b.test> size=0", { declaredSize: 0 }],
    ["FROM:<> SIZE=100 BODY=8bitmime", { address: null, declaredSize: 100, body: "8BITMIME" }],
    ["FROM:<a@b.test> BODY=7BIT", { body: "7BIT" }],
    ["FROM:<a@b.test> SMTPUTF8", { smtputf8: true }],
    ["FROM:<üser@exämple.test> SMTPUTF8", { address: { local: "üser", domain: "exämple.test", quoted: false, utf8: true }, smtputf8: true }],
    ["FROM:<a@b.test> RET=FULL", { dsn: { ret: "FULL" } }],
    ["FROM:<a@b.test> RET=hdrs ENVID=abc+2Bdef", { dsn: { ret: "HDRS", envid: "abc+def" } }],
    ["FROM:<a@b.test> ENVID=" + "x".repeat(100), { dsn: { envid: "x".repeat(100) } }],
    ["FROM:<a@b.test> AUTH=<>", { auth: "<>" }],
    ["FROM:<a@b.test> AUTH=user+40example.com", { auth: "user+40example.com" }],
    ["FROM:<a@b.test>  SIZE=1  BODY=7BIT ", { declaredSize: 1, body: "7BIT" }],
    ["FROM:<@relay.test:a@b.test>", { address: { local: "a", domain: "b.test", quoted: false, utf8: false } }],
    ['FROM:<"john smith"@b.test>', { address: { local: "john smith", domain: "b.test", quoted: true, utf8: false } }],
    ['FROM:<"a>b"@b.test> SIZE=5', { address: { local: "a>b", domain: "b.test", quoted: true, utf8: false }, declaredSize: 5 }],
    ['FROM:<"a\\"b"@b.test>', { address: { local: 'a"b', domain: "b.test", quoted: true, utf8: false } }],
    ["FROM:<a@[192.0.2.1]>", { address: { local: "a", domain: "[192.0.2.1]", quoted: false, utf8: false } }],
    ["FROM:<a@[IPv6:2001:db8::1]>", { address: { local: "a", domain: "[IPv6:2001:db8::1]", quoted: false, utf8: false } }],
  ];
  for (const [line, want] of valid) {
    test(`valid: ${line}`, () => {
      const got = mail(line) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${k} of ${line}`);
    });
  }

  test("REQUIRETLS only inside TLS (RFC 8689 4.1)", () => {
    assert.equal(mail("FROM:<a@b.test> REQUIRETLS", true).requireTls, true);
    rejects(() => mail("FROM:<a@b.test> REQUIRETLS", false), "unknown-param", "REQUIRETLS without TLS");
    rejects(() => mail("FROM:<a@b.test> REQUIRETLS=yes", true), "bad-param", "REQUIRETLS=yes");
  });

  const invalid: [string, Kind][] = [
    ["FROM:a@b.test", "path"],
    ["FROM<a@b.test>", "path"],
    ["TO:<a@b.test>", "path"],
    ["FROM:<a@b.test", "path"],
    ["FROM:<a@b.test>SIZE=1", "path"],
    ["FROM:<a@b.test>\tSIZE=1", "path"],
    ["FROM:<a>", "path"],
    ["FROM:<@b.test>", "path"],
    ["FROM:<a@>", "path"],
    ["FROM:<a@b.test.>", "path"],
    ["FROM:<a@-b.test>", "path"],
    ["FROM:<a@b_c.test>", "path"],
    ["FROM:<a..b@c.test>", "path"],
    ["FROM:<.a@c.test>", "path"],
    ["FROM:<a.@c.test>", "path"],
    ["FROM:<a b@c.test>", "path"],
    ['FROM:<a"b@c.test>', "path"],
    ['FROM:<"a\\\u00e9"@c.test>', "path"],
    ['FROM:<"unterminated@c.test>', "path"],
    ["FROM:<" + "a".repeat(65) + "@b.test>", "path"],
    ["FROM:<a@" + "b".repeat(64) + ".test>", "path"],
    ["FROM:<a@[300.1.1.1]>", "path"],
    ["FROM:<a@[IPv6:1::2::3]>", "path"],
    ["FROM:<a@[tag:content]>", "path"],
    ["FROM:<@bad..route:a@b.test>", "path"],
    ["FROM:<a@b.test> SIZE", "bad-param"],
    ["FROM:<a@b.test> SIZE=x", "bad-param"],
    ["FROM:<a@b.test> SIZE=-1", "bad-param"],
    ["FROM:<a@b.test> SIZE=123456789012345678901", "bad-param"],
    ["FROM:<a@b.test> SIZE=1 SIZE=2", "bad-param"],
    ["FROM:<a@b.test> BODY=foo", "bad-param"],
    ["FROM:<a@b.test> BODY", "bad-param"],
    ["FROM:<a@b.test> BODY=BINARYMIME", "unknown-param"],
    ["FROM:<a@b.test> SMTPUTF8=yes", "bad-param"],
    ["FROM:<a@b.test> RET=X", "bad-param"],
    ["FROM:<a@b.test> RET", "bad-param"],
    ["FROM:<a@b.test> ENVID", "bad-param"],
    ["FROM:<a@b.test> ENVID=a+zz", "bad-param"],
    ["FROM:<a@b.test> ENVID=a+2b", "bad-param"],
    ["FROM:<a@b.test> ENVID=a=b", "bad-param"],
    ["FROM:<a@b.test> ENVID=a+0D+0ABcc:+20x", "bad-param"],
    ["FROM:<a@b.test> ENVID=" + "x".repeat(101), "bad-param"],
    ["FROM:<a@b.test> AUTH", "bad-param"],
    ["FROM:<a@b.test> =x", "bad-param"],
    ["FROM:<a@b.test> SI_ZE=1", "bad-param"],
    ["FROM:<a@b.test> XFOO=1", "unknown-param"],
    ["FROM:<a@b.test> MT-PRIORITY=3", "unknown-param"],
    ["FROM:<a@b.test> NOTIFY=NEVER", "unknown-param"],
  ];
  for (const [line, kind] of invalid) {
    test(`invalid (${kind}): ${line.slice(0, 80)}`, () => rejects(() => mail(line), kind, line));
  }
});

describe("RCPT TO", () => {
  const valid: [string, Record<string, unknown>][] = [
    ["TO:<a@b.test>", { address: { local: "a", domain: "b.test", quoted: false, utf8: false }, dsn: {} }],
    ["to:<a@B.TEST>", { address: { local: "a", domain: "b.test", quoted: false, utf8: false } }],
    ["TO:<Postmaster>", { address: { local: "postmaster", domain: "", quoted: false, utf8: false } }],
    ["TO:<POSTMASTER>", { address: { local: "postmaster", domain: "", quoted: false, utf8: false } }],
    ["TO:<postmaster@b.test>", { address: { local: "postmaster", domain: "b.test", quoted: false, utf8: false } }],
    ["TO:<@a.test,@b.test:u@c.test>", { address: { local: "u", domain: "c.test", quoted: false, utf8: false } }],
    ['TO:<"a b"@c.test>', { address: { local: "a b", domain: "c.test", quoted: true, utf8: false } }],
    ['TO:<"a@b"@c.test>', { address: { local: "a@b", domain: "c.test", quoted: true, utf8: false } }],
    ["TO:<u@[127.0.0.1]>", { address: { local: "u", domain: "[127.0.0.1]", quoted: false, utf8: false } }],
    ["TO:<u@[IPv6:::1]>", { address: { local: "u", domain: "[IPv6:::1]", quoted: false, utf8: false } }],
    ["TO:<u@[IPv6:::ffff:192.0.2.1]>", { address: { local: "u", domain: "[IPv6:::ffff:192.0.2.1]", quoted: false, utf8: false } }],
    ["TO:<用户@例子.测试>", { address: { local: "用户", domain: "例子.测试", quoted: false, utf8: true } }],
    ["TO:<a@b.test> NOTIFY=NEVER", { dsn: { notify: ["NEVER"] } }],
    ["TO:<a@b.test> NOTIFY=success,FAILURE,delay", { dsn: { notify: ["SUCCESS", "FAILURE", "DELAY"] } }],
    ["TO:<a@b.test> ORCPT=rfc822;a@b.test", { dsn: { orcpt: { type: "rfc822", address: "a@b.test" } } }],
    ["TO:<a@b.test> ORCPT=RFC822;a+2Bx@b.test", { dsn: { orcpt: { type: "rfc822", address: "a+x@b.test" } } }],
    ["TO:<a@b.test> NOTIFY=FAILURE ORCPT=rfc822;a@b.test", { dsn: { notify: ["FAILURE"], orcpt: { type: "rfc822", address: "a@b.test" } } }],
    // RFC 6533 3: utf-8-addr-xtext and utf-8-addr-unitext.
    ["TO:<a@b.test> ORCPT=utf-8;j\\x{E9}r\\x{F4}me@example.com", { dsn: { orcpt: { type: "utf-8", address: "jérôme@example.com" } } }],
    ["TO:<a@b.test> ORCPT=utf-8;jérôme@example.com", { dsn: { orcpt: { type: "utf-8", address: "jérôme@example.com" } } }],
    ["TO:<a@b.test> ORCPT=utf-8;a\\x{2B}b@example.com", { dsn: { orcpt: { type: "utf-8", address: "a+b@example.com" } } }],
    ["TO:<a@b.test> ORCPT=utf-8;a\\x{3D}b@example.com", { dsn: { orcpt: { type: "utf-8", address: "a=b@example.com" } } }],
    ["TO:<a@b.test> ORCPT=utf-8;\\x{1F600}@example.com", { dsn: { orcpt: { type: "utf-8", address: "😀@example.com" } } }],
    ["TO:<a@b.test> ORCPT=utf-8;a+2Bb@example.com", { dsn: { orcpt: { type: "utf-8", address: "a+b@example.com" } } }],
    ["TO:<a@b.test> ORCPT=utf-8;j+C3+A9rome@example.com", { dsn: { orcpt: { type: "utf-8", address: "jérome@example.com" } } }],
  ];
  for (const [line, want] of valid) {
    test(`valid: ${line}`, () => {
      const got = parseRcptTo(line) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k], v, `${k} of ${line}`);
    });
  }

  const invalid: [string, Kind][] = [
    ["TO:<>", "path"],
    ["TO:a@b.test", "path"],
    ["FROM:<a@b.test>", "path"],
    ["TO:<a@b.test>NOTIFY=NEVER", "path"],
    ["TO:<Postmaster@>", "path"],
    ["TO:<@a..test:u@c.test>", "path"],
    ["TO:<a,b:u@c.test>", "path"],
    ["TO:<u@[IPv6:zz]>", "path"],
    ["TO:<a@b.test> NOTIFY", "bad-param"],
    ["TO:<a@b.test> NOTIFY=foo", "bad-param"],
    ["TO:<a@b.test> NOTIFY=NEVER,SUCCESS", "bad-param"],
    ["TO:<a@b.test> NOTIFY=SUCCESS,SUCCESS", "bad-param"],
    ["TO:<a@b.test> NOTIFY=", "bad-param"],
    ["TO:<a@b.test> ORCPT", "bad-param"],
    ["TO:<a@b.test> ORCPT=rfc822", "bad-param"],
    ["TO:<a@b.test> ORCPT=;a@b.test", "bad-param"],
    ["TO:<a@b.test> ORCPT=rfc822;", "bad-param"],
    ["TO:<a@b.test> ORCPT=rfc 822;a", "bad-param"],
    ["TO:<a@b.test> ORCPT=rfc822;a+zzb", "bad-param"],
    ["TO:<a@b.test> ORCPT=rfc822;" + "a".repeat(500), "bad-param"],
    ["TO:<a@b.test> ORCPT=utf-8;a\\x{0}b", "bad-param"],
    ["TO:<a@b.test> ORCPT=utf-8;a\\x{D800}b", "bad-param"],
    ["TO:<a@b.test> ORCPT=utf-8;a\\x{FFFFFF}b", "bad-param"],
    ["TO:<a@b.test> ORCPT=utf-8;a\\b", "bad-param"],
    ["TO:<a@b.test> ORCPT=utf-8;a=b", "bad-param"],
    ["TO:<a@b.test> ORCPT=utf-8;a+FFb", "bad-param"],
    ["TO:<a@b.test> ORCPT=utf-8;a+0D+0Ab", "bad-param"],
    ["TO:<a@b.test> ORCPT=rfc822;a+0D+0Ab", "bad-param"],
    ["TO:<a@b.test> ORCPT=rfc822;a@b.test ORCPT=rfc822;c@d.test", "bad-param"],
    ["TO:<a@b.test> SIZE=10", "unknown-param"],
    ["TO:<a@b.test> FOO", "unknown-param"],
  ];
  for (const [line, kind] of invalid) {
    test(`invalid (${kind}): ${line.slice(0, 80)}`, () => rejects(() => parseRcptTo(line), kind, line));
  }
});

describe("xtext (RFC 3461 4)", () => {
  test("round trip", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary-ascii" }), (s) => {
        assert.equal(decodeXtext(encodeXtext(s)), s);
      }),
    );
  });

  test("utf-8-addr-xtext never throws and never yields control characters", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "grapheme" }), fc.string().map((s) => s.replace(/[a-f]/g, "\\x{$&0}"))), (s) => {
        const r = decodeUtf8AddrXtext(s);
        if (r !== null) assert.ok(!/[\x00-\x1f\x7f]/.test(r));
      }),
    );
  });
});

describe("path and parameter parsing never throws anything but ParamError", () => {
  test("random MAIL and RCPT arguments", () => {
    const piece = fc.oneof(
      fc.constantFrom("FROM:", "TO:", "<", ">", "@", '"', "\\", " ", "=", ";", ",", ":", "[", "]", "IPv6:", "+", "\\x{", "}", ".", "SIZE=", "BODY=", "NOTIFY=", "ORCPT=utf-8;", "ORCPT=rfc822;", "ENVID=", "RET=", "AUTH=", "SMTPUTF8", "REQUIRETLS", "postmaster", "a", "b.test", "ü", "D800", "FFFFFF"),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), fc.boolean(), (parts, tls) => {
        const arg = parts.join("");
        for (const fn of [() => parseMailFrom(arg, { tls }), () => parseRcptTo(arg)]) {
          try {
            fn();
          } catch (e) {
            assert.ok(e instanceof ParamError, `${JSON.stringify(arg)} threw ${String(e)}`);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });
});
