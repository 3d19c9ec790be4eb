import { test } from "node:test";
import assert from "node:assert/strict";
import { clientNetwork, dnsblQueryName, NetworkList, plainIp } from "./net.js";

test("client networks: /24 for IPv4, /64 for IPv6, IPv4-mapped unwrapped", () => {
  assert.equal(clientNetwork("192.0.2.77"), "192.0.2.0/24");
  assert.equal(clientNetwork("::ffff:192.0.2.77"), "192.0.2.0/24");
  assert.equal(clientNetwork("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(clientNetwork("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(plainIp("::FFFF:10.1.2.3"), "10.1.2.3");
  assert.equal(plainIp("::1"), "::1");
});

test("DNSBL query names (RFC 5782 2.1, 2.4)", () => {
  assert.equal(dnsblQueryName("192.0.2.99", "bl.example"), "99.2.0.192.bl.example");
  assert.equal(dnsblQueryName("::ffff:127.0.0.1", "bl.example."), "1.0.0.127.bl.example");
  // The RFC's own example
  assert.equal(dnsblQueryName("2001:db8:1:2:3:4:567:89ab", "ugly.example.com"), "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com");
  assert.equal(dnsblQueryName("::1", "z"), `1.${"0.".repeat(31)}z`);
});

test("network lists: CIDR blocks and single addresses, both families", () => {
  const l = new NetworkList(["10.0.0.0/8", "192.0.2.5", "2001:db8::/32"]);
  assert.ok(l.has("10.200.1.1"));
  assert.ok(l.has("::ffff:10.0.0.1"));
  assert.ok(l.has("192.0.2.5"));
  assert.ok(!l.has("192.0.2.6"));
  assert.ok(l.has("2001:db8:ffff::1"));
  assert.ok(!l.has("2001:db9::1"));
  assert.ok(!l.has("not an ip"));
  assert.ok(!new NetworkList([]).has("127.0.0.1"));
  assert.throws(() => new NetworkList(["10.0.0.0/33"]));
  assert.throws(() => new NetworkList(["example.com"]));
});
