import { test } from "node:test";
import assert from "node:assert/strict";
import { aggregate, dmarcTags, ruaAddresses, type DmarcEvent } from "./dmarc-reports.js";

test("dmarcTags and ruaAddresses (RFC 7489 6.3, 6.4)", () => {
  assert.equal(dmarcTags("v=spf1 -all"), null);
  const t = dmarcTags("v=DMARC1; p=reject; RUA=mailto:a@x.test!10m, https://x.test/r ,mailto:b%40c@y.test; pct=20")!;
  assert.equal(t.p, "reject");
  assert.equal(t.pct, "20");
  assert.deepEqual(ruaAddresses(t.rua), ["a@x.test"]);
  assert.deepEqual(ruaAddresses("mailto:dmarc@x.test,mailto:d2@y.test!5k"), ["dmarc@x.test", "d2@y.test"]);
  assert.deepEqual(ruaAddresses(undefined), []);
});

test("aggregate: one row per distinct evaluation, counted", () => {
  const e: DmarcEvent = { ip: "192.0.2.1", headerFrom: "a.test", orgDomain: "a.test", envelopeFrom: "a.test", envelopeTo: "p.test", disposition: "none", dkim: "pass", spf: "pass", reasons: [], authDkim: [{ domain: "a.test", selector: "s", result: "pass" }], authSpf: [{ domain: "a.test", scope: "mfrom", result: "pass" }] };
  const rows = aggregate([e, { ...e }, { ...e, ip: "192.0.2.2" }, { ...e, disposition: "quarantine", dkim: "fail", spf: "fail" }]);
  assert.deepEqual(rows.map((r) => [r.sourceIp, r.count, r.disposition]), [["192.0.2.1", 2, "none"], ["192.0.2.2", 1, "none"], ["192.0.2.1", 1, "quarantine"]]);
});
