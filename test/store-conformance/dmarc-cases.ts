/** DMARC aggregate reports: received reports with their rows (stored once), and our evaluations. */
import assert from "node:assert/strict";
import { T0, type Case } from "./fixtures.js";
import type { NewDmarcReport } from "../../src/store/types.js";

const report = (reportId: string, domain = "petrel.test", end = 1764547199): NewDmarcReport => ({
  orgName: "google.com",
  reportId,
  email: "noreply-dmarc-support@google.com",
  domain,
  begin: end - 86399,
  end,
  policy: { p: "quarantine", sp: "quarantine", pct: 100, adkim: "r", aspf: "r" },
  source: "Q1",
  records: [
    { sourceIp: "192.0.2.1", count: 14, disposition: "none", dkim: "pass", spf: "pass", headerFrom: domain, details: { reasons: [] } },
    { sourceIp: "2001:db8::1", count: 2, disposition: "quarantine", dkim: "fail", spf: "fail", headerFrom: domain, details: { reasons: [{ type: "local_policy" }] } },
  ],
});

export function dmarcCases(it: Case): void {
  it("a report is stored with its rows in order, once per (org, report id), newest first", async (s) => {
    assert.equal(await s.dmarc.addReport(report("r1"), T0), true);
    assert.equal(await s.dmarc.addReport(report("r1"), T0 + 1), false);
    assert.equal(await s.dmarc.addReport(report("r2", "other.test", 1764633599), T0 + 2), true);
    const all = await s.dmarc.listReports();
    assert.deepEqual(all.map((r) => r.reportId), ["r2", "r1"]);
    const r1 = all[1]!;
    assert.equal(r1.receivedAt, T0);
    assert.deepEqual(r1.policy, report("r1").policy);
    assert.deepEqual(r1.records, report("r1").records);
    assert.deepEqual((await s.dmarc.listReports("OTHER.test")).map((r) => r.reportId), ["r2"]);
  });

  it("events: read before a time, deleted up to an id", async (s) => {
    await s.dmarc.addEvent(T0, "a.test", { n: 1 });
    await s.dmarc.addEvent(T0 + 10, "b.test", { n: 2 });
    await s.dmarc.addEvent(T0 + 20, "a.test", { n: 3 });
    const evs = await s.dmarc.events(T0 + 20);
    assert.deepEqual(evs.map((e) => [e.at, e.domain, e.data]), [[T0, "a.test", { n: 1 }], [T0 + 10, "b.test", { n: 2 }]]);
    assert.equal(await s.dmarc.deleteEvents(T0 + 20, evs[1]!.id), 2);
    assert.deepEqual((await s.dmarc.events(T0 + 100)).map((e) => e.data), [{ n: 3 }]);
  });
}
