/** SPF for the greylisting whitelist, against a loopback DNS server with the domain's policy. */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDnsServer, type TestDnsServer } from "../../test/helpers/dns-server.js";
import { DnsResolver } from "../dns/resolver.js";
import { spfPassChecker } from "./spf-whitelist.js";

let dns: TestDnsServer;
before(async () => {
  dns = await startDnsServer({ "big.test": { TXT: ["v=spf1 ip4:192.0.2.0/24 -all"] }, "soft.test": { TXT: ["v=spf1 ~all"] } });
  dns.fail("broken.test", "SERVFAIL");
});
after(() => dns.close());

test("only an SPF pass counts", async () => {
  const pass = spfPassChecker(new DnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 }), "mx.petrel.test");
  assert.equal(await pass("192.0.2.7", "mail.big.test", "news@big.test"), true);
  assert.equal(await pass("::ffff:192.0.2.7", "mail.big.test", "news@big.test"), true);
  assert.equal(await pass("198.51.100.7", "mail.big.test", "news@big.test"), false, "fail");
  assert.equal(await pass("192.0.2.7", "x", "a@soft.test"), false, "softfail");
  assert.equal(await pass("192.0.2.7", "x", "a@broken.test"), false, "temperror");
  assert.equal(await pass("192.0.2.7", "x", "a@none.test"), false, "none");
});
