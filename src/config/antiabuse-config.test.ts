/** The anti-abuse keys of the config: defaults, durations, networks, refusals that name the key. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { configSchema } from "./schema.js";

test("defaults: greylisting and DNSBL off, loopback local, rate limits off, client checks on", () => {
  const c = configSchema.parse({});
  assert.deepEqual(c.greylist, { enabled: false, delay: 60_000, window: 86_400_000, passTtl: 35 * 86_400_000, whitelistAfter: 5, exemptNetworks: [], spfWhitelist: [] });
  assert.deepEqual(c.dnsbl, { zones: [], stage: "rcpt", scoreThreshold: null, onError: "accept", cacheTtl: 300_000 });
  assert.deepEqual(c.inbound.localNetworks, ["127.0.0.0/8", "::1/128"]);
  assert.equal(c.inbound.clientChecks, true);
  assert.deepEqual(c.inbound.rateLimits, { connectionsPerMinute: null, messagesPerMinutePerIp: null, messagesPerMinutePerSenderDomain: null });
});

test("values are parsed: durations, zones with their defaults", () => {
  const c = configSchema.parse({ greylist: { enabled: true, delay: "5m", window: "12h", exemptNetworks: ["192.0.2.0/24", "2001:db8::/32", "198.51.100.7"] }, dnsbl: { zones: [{ zone: "zen.spamhaus.org", codes: ["127.0.0.2"] }, { zone: "bl.example", action: "score", weight: 2 }] } });
  assert.equal(c.greylist.delay, 300_000);
  assert.deepEqual(c.dnsbl.zones, [
    { zone: "zen.spamhaus.org", codes: ["127.0.0.2"], action: "reject", weight: 1 },
    { zone: "bl.example", action: "score", weight: 2 },
  ]);
});

test("bad values are refused, naming the key", () => {
  const issue = (input: unknown) => {
    const r = configSchema.safeParse(input);
    assert.ok(!r.success);
    return `${r.error.issues[0]!.path.join(".")}: ${r.error.issues[0]!.message}`;
  };
  assert.match(issue({ greylist: { exemptNetworks: ["10.0.0.0/40"] } }), /^greylist\.exemptNetworks\.0: must be an IP network/);
  assert.match(issue({ inbound: { localNetworks: ["localhost"] } }), /^inbound\.localNetworks\.0: must be an IP network/);
  assert.match(issue({ greylist: { delay: "2d" } }), /^greylist\.delay: greylist\.delay must be shorter/);
  assert.match(issue({ dnsbl: { zones: [{ zone: "bl.example", codes: ["2001:db8::1"] }] } }), /^dnsbl\.zones\.0\.codes\.0/);
  assert.match(issue({ dnsbl: { stage: "data" } }), /^dnsbl\.stage/);
  assert.match(issue({ inbound: { rateLimits: { connectionsPerMinute: 0 } } }), /^inbound\.rateLimits\.connectionsPerMinute/);
  assert.match(issue({ greylist: { typo: 1 } }), /^greylist/);
});
