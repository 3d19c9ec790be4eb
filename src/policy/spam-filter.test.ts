import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCheckv2, rewriteSubject, spamDecision, spamErrorDecision, spamdResultField, type SpamFilterPolicy } from "./spam-filter.js";

const P: SpamFilterPolicy = { onError: "accept", rejectScore: null, addHeaders: true };
const answer = (action: string, extra: Record<string, unknown> = {}) =>
  parseCheckv2({ action, score: 7.5, required_score: 15, symbols: { B: { name: "B", score: 1 }, A: { name: "A", score: 6.5 } }, messages: { smtp_message: "Spam\r\nhere\u00e9" }, ...extra });

test("parseCheckv2: actions, symbols by score, bad answers throw", () => {
  const r = answer("add header");
  assert.deepEqual(r.symbols.map((s) => s.name), ["A", "B"]);
  assert.equal(r.requiredScore, 15);
  assert.throws(() => parseCheckv2({ score: 1 }), /no action/);
  assert.throws(() => parseCheckv2({ action: "explode" }), /unknown action/);
  assert.throws(() => parseCheckv2(null));
});

test("spamDecision: each rspamd action", () => {
  const table: [string, string, string?][] = [
    ["reject", "550 5.7.1"],
    ["soft reject", "451 4.7.1"],
    ["greylist", "451 4.7.1"],
  ];
  for (const [action, code] of table) {
    const d = spamDecision(answer(action), P);
    assert.equal(d.action, "refuse");
    if (d.action === "refuse") {
      assert.equal(`${d.reply.code} ${d.reply.enhanced}`, code);
      assert.equal(d.reply.lines[0], "Spam here?");
    }
  }
  const add = spamDecision(answer("add header"), P);
  assert.ok(add.action === "accept" && add.junk && add.header.startsWith("X-Spam: Yes\r\nX-Spamd-Result: default: True [7.50 / 15.00];\r\n\tA(6.50);\r\n\tB(1.00)\r\n"));
  const rw = spamDecision(answer("rewrite subject", { subject: "[SPAM] hi" }), P);
  assert.ok(rw.action === "accept" && rw.subject === "[SPAM] hi" && rw.junk);
  const ok = spamDecision(answer("no action"), P);
  assert.ok(ok.action === "accept" && !ok.junk && ok.header.startsWith("X-Spamd-Result: default: False"));
  const quiet = spamDecision(answer("add header"), { ...P, addHeaders: false });
  assert.ok(quiet.action === "accept" && quiet.header === "" && quiet.junk);
});

test("spamDecision: rejectScore overrides rspamd's milder action", () => {
  const d = spamDecision(answer("no action"), { ...P, rejectScore: 7 });
  assert.equal(d.action, "refuse");
  assert.equal(spamDecision(answer("no action"), { ...P, rejectScore: 8 }).action, "accept");
});

test("spamErrorDecision: onError accept or tempfail", () => {
  assert.deepEqual(spamErrorDecision(P), { action: "accept", header: "" });
  const d = spamErrorDecision({ ...P, onError: "tempfail" });
  assert.ok(d.action === "refuse" && d.reply.code === 451 && d.reply.enhanced === "4.7.1");
});

test("spamdResultField: symbol names cannot break the header", () => {
  const f = spamdResultField({ action: "no action", score: 0, requiredScore: 15, symbols: [{ name: "X\r\nBcc: a@b", score: 1 }] });
  assert.ok(!/\r\n[^\t]/.test(f.slice(0, -2)));
});

test("rewriteSubject: folded Subject replaced, missing one added, non-ASCII encoded", () => {
  const h = Buffer.from("From: a@b\r\nSubject: old\r\n continued\r\nTo: c@d\r\n\r\n");
  assert.equal(rewriteSubject(h, "*** SPAM *** old continued").toString(), "From: a@b\r\nSubject: *** SPAM *** old continued\r\nTo: c@d\r\n\r\n");
  assert.equal(rewriteSubject(Buffer.from("From: a@b\r\n\r\n"), "new").toString(), "From: a@b\r\nSubject: new\r\n\r\n");
  assert.match(rewriteSubject(Buffer.from("Subject: x\r\n\r\n"), "*** SPAM *** café").toString(), /^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=\r\n\r\n$/);
});
