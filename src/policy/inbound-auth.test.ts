/** The inbound authentication verdict as a table: facts + policy -> action and reply. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { inboundDecision, mergePolicy, strictest, type AuthFacts, type InboundAuthPolicy } from "./inbound-auth.js";

const POLICY: InboundAuthPolicy = {
  spf: { failAction: "reject", softfailAction: "accept" },
  dmarc: { rejectAction: "reject", quarantineAction: "quarantine" },
  arc: { trustedSealers: ["lists.example"] },
};

function facts(o: { spf?: string; helo?: string | null; dkim?: string[]; arc?: [string, string | null, string | null]; dmarc?: [string, string | null, number?] | null } = {}): AuthFacts {
  return {
    ip: "192.0.2.7",
    spf: { result: o.spf ?? "none", domain: "sender.example" },
    helo: o.helo === undefined || o.helo === null ? null : { result: o.helo, domain: "mx.sender.example" },
    dkim: (o.dkim ?? []).map((result) => ({ result, domain: "from.example" })),
    arc: { result: o.arc?.[0] ?? "none", sealer: o.arc?.[1] ?? null, dmarcRecorded: o.arc?.[2] ?? null },
    dmarc: o.dmarc === null ? null : o.dmarc ? { result: o.dmarc[0], domain: "from.example", fromDomain: "from.example", policy: o.dmarc[1], pct: o.dmarc[2] ?? 100 } : { result: "none", domain: "from.example", fromDomain: "from.example", policy: null, pct: 100 },
  };
}

test("decision table", () => {
  const rows: [string, AuthFacts, string, string?][] = [
    ["nothing published", facts(), "accept"],
    ["SPF pass", facts({ spf: "pass" }), "accept"],
    ["SPF fail", facts({ spf: "fail" }), "reject", "550 5.7.1"],
    ["SPF fail on HELO", facts({ helo: "fail" }), "reject", "550 5.7.1"],
    ["SPF softfail", facts({ spf: "softfail" }), "accept"],
    ["SPF permerror", facts({ spf: "permerror" }), "accept"],
    ["SPF fail but DMARC pass (DKIM aligned)", facts({ spf: "fail", dkim: ["pass"], dmarc: ["pass", "reject"] }), "accept"],
    ["DMARC fail p=reject", facts({ dmarc: ["fail", "reject"] }), "reject", "550 5.7.1"],
    ["DMARC fail p=quarantine", facts({ dmarc: ["fail", "quarantine"] }), "quarantine"],
    ["DMARC fail p=none", facts({ dmarc: ["fail", "none"] }), "accept"],
    ["DMARC fail, unknown p=", facts({ dmarc: ["fail", "bogus"] }), "accept"],
    ["DMARC pass p=reject", facts({ dmarc: ["pass", "reject"] }), "accept"],
    ["DMARC fail p=reject, SPF temperror: defer", facts({ spf: "temperror", dmarc: ["fail", "reject"] }), "defer", "451 4.7.0"],
    ["DMARC fail p=reject, DKIM temperror: defer", facts({ dkim: ["temperror"], dmarc: ["fail", "reject"] }), "defer", "451 4.7.0"],
    ["SPF fail with DMARC temperror: defer with SPF's code", facts({ spf: "fail", dmarc: ["temperror", null] }), "defer", "451 4.4.3"],
    ["DMARC temperror alone: accept", facts({ dmarc: ["temperror", null] }), "accept"],
    ["SPF temperror alone: accept", facts({ spf: "temperror" }), "accept"],
    ["DMARC fail p=quarantine, SPF temperror: quarantine", facts({ spf: "temperror", dmarc: ["fail", "quarantine"] }), "quarantine"],
    ["trusted ARC sealer recorded dmarc=pass", facts({ arc: ["pass", "lists.example", "pass"], dmarc: ["fail", "reject"] }), "accept"],
    ["trusted ARC sealer, also over SPF fail", facts({ spf: "fail", arc: ["pass", "LISTS.example.", "pass"], dmarc: ["fail", "reject"] }), "accept"],
    ["untrusted ARC sealer", facts({ arc: ["pass", "other.example", "pass"], dmarc: ["fail", "reject"] }), "reject"],
    ["trusted sealer, chain broken", facts({ arc: ["fail", "lists.example", "pass"], dmarc: ["fail", "reject"] }), "reject"],
    ["trusted sealer recorded dmarc=fail", facts({ arc: ["pass", "lists.example", "fail"], dmarc: ["fail", "reject"] }), "reject"],
    ["no single author domain (null dmarc)", facts({ dmarc: null }), "accept"],
  ];
  for (const [name, f, action, reply] of rows) {
    const d = inboundDecision(f, POLICY, () => 0);
    assert.equal(d.action, action, name);
    if (reply) assert.equal("reply" in d ? `${d.reply.code} ${d.reply.enhanced}` : "", reply, name);
  }
});

test("actions are configurable, and per-domain overrides merge over the global policy", () => {
  const lax = mergePolicy(POLICY, { spf: { failAction: "quarantine" }, dmarc: { rejectAction: "accept" } });
  assert.deepEqual(lax.dmarc, { rejectAction: "accept", quarantineAction: "quarantine" });
  assert.equal(inboundDecision(facts({ spf: "fail" }), lax).action, "quarantine");
  assert.equal(inboundDecision(facts({ dmarc: ["fail", "reject"] }), lax).action, "accept");
  const strict = mergePolicy(POLICY, { spf: { softfailAction: "reject" } });
  assert.equal(inboundDecision(facts({ spf: "softfail" }), strict).action, "reject");
  assert.equal(mergePolicy(POLICY, undefined), POLICY);
});

test("pct= sampling (RFC 7489 6.6.4): outside the sample, reject becomes quarantine and quarantine none", () => {
  const f = facts({ dmarc: ["fail", "reject", 20] });
  assert.equal(inboundDecision(f, POLICY, () => 0.1).action, "reject", "10 < 20: sampled");
  assert.equal(inboundDecision(f, POLICY, () => 0.5).action, "quarantine", "50 >= 20: next less strict");
  assert.equal(inboundDecision(facts({ dmarc: ["fail", "quarantine", 0] }), POLICY, () => 0).action, "accept", "pct=0: never");
  assert.equal(inboundDecision(facts({ dmarc: ["fail", "reject", 100] }), POLICY, () => 0.999).action, "reject");
});

test("the reason names the domain and the client, printable ASCII only", () => {
  const d = inboundDecision(facts({ spf: "fail" }), POLICY);
  assert.ok(d.action === "reject");
  assert.equal(d.reply.lines[0], "SPF: sender.example does not allow 192.0.2.7 to send its mail (MAIL FROM)");
  const f = facts({ dmarc: ["fail", "reject"] });
  f.dmarc!.fromDomain = "bad\r\n550 x.example";
  const r = inboundDecision(f, POLICY);
  assert.ok(r.action === "reject");
  assert.doesNotMatch(r.reply.lines.join(""), /[\r\n]/);
});

test("several recipient domains: the strictest verdict stands; an ARC note survives", () => {
  assert.equal(strictest([{ action: "accept" }, { action: "quarantine", reason: "q" }]).action, "quarantine");
  assert.equal(strictest([]).action, "accept");
  const note = strictest([{ action: "accept" }, { action: "accept", note: "arc" }]);
  assert.ok(note.action === "accept" && note.note === "arc");
});
