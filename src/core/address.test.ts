/** Envelope addresses (RFC 5321 4.1.2, RFC 6531 3.3): tables, limits and a round-trip property. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AddressSyntaxError, formatAddress, isValidDomain, parseMailbox, stripSourceRoute, type Address } from "./address.js";

describe("parseMailbox", () => {
  const valid: [string, Address][] = [
    ["user@example.com", { local: "user", domain: "example.com", quoted: false, utf8: false }],
    ["User.Name+tag@Example.COM", { local: "User.Name+tag", domain: "example.com", quoted: false, utf8: false }],
    ["!#$%&'*+-/=?^_`{|}~@x.test", { local: "!#$%&'*+-/=?^_`{|}~", domain: "x.test", quoted: false, utf8: false }],
    ["a@localhost", { local: "a", domain: "localhost", quoted: false, utf8: false }],
    ["a@xn--bcher-kva.example", { local: "a", domain: "xn--bcher-kva.example", quoted: false, utf8: false }],
    ["a@1.2.3.example", { local: "a", domain: "1.2.3.example", quoted: false, utf8: false }],
    ['"john smith"@x.test', { local: "john smith", domain: "x.test", quoted: true, utf8: false }],
    ['"a@b"@x.test', { local: "a@b", domain: "x.test", quoted: true, utf8: false }],
    ['"a\\"b\\\\c"@x.test', { local: 'a"b\\c', domain: "x.test", quoted: true, utf8: false }],
    ['"a.."@x.test', { local: "a..", domain: "x.test", quoted: true, utf8: false }],
    ["a@[192.0.2.1]", { local: "a", domain: "[192.0.2.1]", quoted: false, utf8: false }],
    ["a@[IPv6:2001:db8::1]", { local: "a", domain: "[IPv6:2001:db8::1]", quoted: false, utf8: false }],
    ["a@[IPv6:1:2:3:4:5:6:7:8]", { local: "a", domain: "[IPv6:1:2:3:4:5:6:7:8]", quoted: false, utf8: false }],
    ["a@[IPv6:::ffff:192.0.2.1]", { local: "a", domain: "[IPv6:::ffff:192.0.2.1]", quoted: false, utf8: false }],
    ["a@[IPv6:::]", { local: "a", domain: "[IPv6:::]", quoted: false, utf8: false }],
    ["jérôme@exämple.test", { local: "jérôme", domain: "exämple.test", quoted: false, utf8: true }],
    ["用户@例子.测试", { local: "用户", domain: "例子.测试", quoted: false, utf8: true }],
    ["a@ÄBC.test", { local: "a", domain: "äbc.test", quoted: false, utf8: true }],
    ["x".repeat(64) + "@x.test", { local: "x".repeat(64), domain: "x.test", quoted: false, utf8: false }],
  ];
  for (const [text, want] of valid) {
    test(`valid: ${text}`, () => assert.deepEqual(parseMailbox(text), want));
  }

  const invalid: [string, RegExp][] = [
    ["", /local-part@domain/],
    ["user", /local-part@domain/],
    ["@x.test", /local-part@domain/],
    ["user@", /invalid domain/],
    ["a@b@x.test", /local part/],
    ["a..b@x.test", /local part/],
    [".a@x.test", /local part/],
    ["a.@x.test", /local part/],
    ["a b@x.test", /local part/],
    ["a(comment)@x.test", /local part/],
    ['""@x.test', /empty local part/],
    ['"abc@x.test', /unterminated/],
    ['"abc"x@x.test', /missing @/],
    ['"a\\\u0001"@x.test', /quoted-pair/],
    ['"a\u0001"@x.test', /control/],
    ['"a\\', /quoted-pair/],
    ["x".repeat(65) + "@x.test", /local part too long/],
    ["é".repeat(33) + "@x.test", /local part too long/], // 66 octets in UTF-8
    ["a@" + "b".repeat(250) + ".test", /address too long|invalid domain/],
    ["a@" + "b".repeat(64) + ".test", /invalid domain/],
    ["a@x.test.", /invalid domain/],
    ["a@.x.test", /invalid domain/],
    ["a@x..test", /invalid domain/],
    ["a@-x.test", /invalid domain/],
    ["a@x-.test", /invalid domain/],
    ["a@x_y.test", /invalid domain/],
    ["a@[192.0.2.256]", /invalid domain/],
    ["a@[192.0.2]", /invalid domain/],
    ["a@[01.2.3.4]", /invalid domain/],
    ["a@[IPv6:1::2::3]", /invalid domain/],
    ["a@[IPv6:1:2:3:4:5:6:7:8:9]", /invalid domain/],
    ["a@[IPv6:12345::]", /invalid domain/],
    ["a@[IPv6:1.2.3.4]", /invalid domain/],
    ["a@[IPv6:::1.2.3.999]", /invalid domain/],
    ["a@[tag:content]", /invalid domain/],
    ["a@[192.0.2.1", /invalid domain/],
  ];
  for (const [text, reason] of invalid) {
    test(`invalid: ${JSON.stringify(text).slice(0, 60)}`, () => {
      assert.throws(
        () => parseMailbox(text),
        (e: unknown) => e instanceof AddressSyntaxError && reason.test(e.reason),
      );
    });
  }
});

describe("isValidDomain", () => {
  test("labels and lengths (RFC 1035, RFC 5321 4.5.3.1.2)", () => {
    assert.equal(isValidDomain("a"), true);
    assert.equal(isValidDomain("a-b.c"), true);
    assert.equal(isValidDomain("x".repeat(63) + ".test"), true);
    assert.equal(isValidDomain("x".repeat(64) + ".test"), false);
    const long = Array.from({ length: 64 }, () => "abc").join("."); // 255 octets
    assert.equal(long.length, 255);
    assert.equal(isValidDomain(long), true);
    assert.equal(isValidDomain(long + "d"), false);
    assert.equal(isValidDomain(""), false);
    assert.equal(isValidDomain("[127.0.0.1]"), true);
    assert.equal(isValidDomain("[IPv6:fe80::1]"), true);
    assert.equal(isValidDomain("[ipv6:FE80::1]"), true);
  });
});

describe("stripSourceRoute (RFC 5321 4.1.2: ignored)", () => {
  test("a route is removed, a bad route is an error", () => {
    assert.equal(stripSourceRoute("@a.test,@b.test:u@c.test"), "u@c.test");
    assert.equal(stripSourceRoute("@a.test:u@c.test"), "u@c.test");
    assert.equal(stripSourceRoute("u@c.test"), "u@c.test");
    assert.equal(stripSourceRoute('@a.test:"x:y"@c.test'), '"x:y"@c.test');
    assert.throws(() => stripSourceRoute("@a..test:u@c.test"), AddressSyntaxError);
    assert.throws(() => stripSourceRoute("@a.test,b.test:u@c.test"), AddressSyntaxError);
    assert.throws(() => stripSourceRoute("@:u@c.test"), AddressSyntaxError);
  });
});

describe("formatAddress", () => {
  test("quotes the local part only when needed", () => {
    assert.equal(formatAddress(parseMailbox("a.b@x.test")), "a.b@x.test");
    assert.equal(formatAddress(parseMailbox('"a b"@x.test')), '"a b"@x.test');
    assert.equal(formatAddress(parseMailbox('"ab"@x.test')), "ab@x.test");
    assert.equal(formatAddress(parseMailbox('"a\\"b"@x.test')), '"a\\"b"@x.test');
    assert.equal(formatAddress(parseMailbox('"a\\\\b"@x.test')), '"a\\\\b"@x.test');
    assert.equal(formatAddress(parseMailbox("a@[192.0.2.1]")), "a@[192.0.2.1]");
  });

  test("parse(format(a)) gives back the same address", () => {
    const localChar = fc.constantFrom(..."abcXYZ09.!#$%&'*+-/=?^_`{|}~ \"\\@(),:;<>[]é");
    const local = fc.array(localChar, { minLength: 1, maxLength: 30 }).map((a) => a.join(""));
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const domain = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join("."));
    fc.assert(
      fc.property(local, domain, (l, d) => {
        const text = formatAddress({ local: l, domain: d, quoted: false, utf8: false });
        const a = parseMailbox(text);
        assert.equal(a.local, l);
        assert.equal(a.domain, d);
        assert.equal(formatAddress(a), text);
      }),
      { numRuns: 500 },
    );
  });

  test("parseMailbox never throws anything but AddressSyntaxError", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-ascii", maxLength: 80 }), (s) => {
        try {
          parseMailbox(s);
        } catch (e) {
          assert.ok(e instanceof AddressSyntaxError, String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
