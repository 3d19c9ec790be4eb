import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startDnsServer, type TestDnsServer } from "../../test/helpers/dns-server.js";
import { DnsResolver } from "../dns/resolver.js";
import { fcrdns, heloFindings } from "./client-checks.js";

let dns: TestDnsServer;
before(async () => {
  dns = await startDnsServer({
    "10.2.0.192.in-addr.arpa": { PTR: ["mail.good.test"] },
    "mail.good.test": { A: ["192.0.2.10"] },
    "11.2.0.192.in-addr.arpa": { PTR: ["forged.test"] },
    "forged.test": { A: ["198.51.100.1"] },
    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa": { PTR: ["v6.good.test"] },
    "v6.good.test": { AAAA: ["2001:db8:0::1"] },
  });
  dns.fail("12.2.0.192.in-addr.arpa", "SERVFAIL");
});
after(() => dns.close());

const r = () => new DnsResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 });

test("FCrDNS: pass, fail, none, temperror", async () => {
  assert.deepEqual(await fcrdns(r(), "192.0.2.10"), { status: "pass", names: ["mail.good.test"] });
  assert.deepEqual(await fcrdns(r(), "::ffff:192.0.2.10"), { status: "pass", names: ["mail.good.test"] });
  assert.deepEqual(await fcrdns(r(), "192.0.2.11"), { status: "fail", names: ["forged.test"] });
  assert.deepEqual(await fcrdns(r(), "192.0.2.13"), { status: "none", names: [] });
  assert.deepEqual(await fcrdns(r(), "192.0.2.12"), { status: "temperror", names: [] });
  assert.deepEqual(await fcrdns(r(), "2001:db8::1"), { status: "pass", names: ["v6.good.test"] });
});

test("HELO findings", async () => {
  const ours = (n: string) => n === "mx.petrel.test" || n === "petrel.test";
  assert.deepEqual(await heloFindings("mail.good.test", "192.0.2.10", ours), []);
  assert.deepEqual(await heloFindings("[192.0.2.10]", "192.0.2.10", ours), []);
  assert.deepEqual(await heloFindings("[IPv6:2001:db8::1]", "2001:db8:0:0::1", ours), []);
  assert.deepEqual(await heloFindings("[192.0.2.99]", "192.0.2.10", ours), ["ip-literal-mismatch"]);
  assert.deepEqual(await heloFindings("DESKTOP-1234", "192.0.2.10", ours), ["bare-name"]);
  assert.deepEqual(await heloFindings("petrel.test.", "192.0.2.10", ours), ["ours"]);
  assert.deepEqual(await heloFindings("MX.Petrel.Test", "192.0.2.10", ours), ["ours"]);
});
