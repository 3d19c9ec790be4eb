import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { envelopeSenderVerdict, headerSenderVerdict, headerSenders, mayUseSender, type SenderDirectory, type SenderIdentity } from "./sender.js";

/** alice (1) and bob (2) at example.com; aliases: info -> alice, team -> (info, bob), list -> ext, catch-all -> alice. */
const accounts: Record<string, number> = { "alice@example.com": 1, "bob@example.com": 2 };
const aliases: Record<string, string[]> = {
  "info@example.com": ["alice@example.com"],
  "team@example.com": ["info@example.com", "bob@example.com"],
  "ext@example.com": ["someone@elsewhere.test"],
  "loop1@example.com": ["loop2@example.com"],
  "loop2@example.com": ["loop1@example.com"],
  "@example.com": ["alice@example.com"],
};
const dir: SenderDirectory = {
  async getAlias(a) {
    return aliases[a.toLowerCase()] ?? null;
  },
  async getAccount(a) {
    const id = accounts[a.toLowerCase()];
    return id === undefined ? null : { id };
  },
};
const alice: SenderIdentity = { accountId: 1, address: "alice@example.com", sendAs: ["boss@example.net", "@shared.example"] };
const opts = { separator: "+" };
const may = (a: string, id = alice) => mayUseSender(a, id, dir, opts);

describe("sender policy: who may use which address", () => {
  const cases: [string, boolean][] = [
    ["alice@example.com", true],
    ["ALICE@Example.COM", true],
    ["alice+news@example.com", true],
    ["info@example.com", true],
    ["info+x@example.com", true],
    ["team@example.com", true],
    ["boss@example.net", true],
    ["Boss@EXAMPLE.net", true],
    ["anyone@shared.example", true],
    ["bob@example.com", false],
    ["bob+alice@example.com", false],
    ["nobody@example.com", false], // only the catch-all leads to alice: not enough
    ["ext@example.com", false],
    ["loop1@example.com", false],
    ["alice@example.org", false],
    ["alice", false],
    ["boss2@example.net", false],
    ["x@sub.shared.example", false],
  ];
  for (const [address, allowed] of cases) test(`${address}: ${allowed ? "allowed" : "refused"}`, async () => assert.equal(await may(address), allowed));

  test("with sub-addressing off, a +tag is a different address", async () => {
    assert.equal(await mayUseSender("alice+x@example.com", alice, dir, { separator: "" }), false);
  });

  test("MAIL FROM: 553 5.7.1 for another's address, the null reverse-path passes", async () => {
    assert.equal(await envelopeSenderVerdict(null, alice, dir, opts), undefined);
    assert.equal(await envelopeSenderVerdict("alice@example.com", alice, dir, opts), undefined);
    const r = await envelopeSenderVerdict("bob@example.com", alice, dir, opts);
    assert.equal(r?.code, 553);
    assert.equal(r?.enhanced, "5.7.1");
  });
});

describe("sender policy: From: and Sender: headers", () => {
  const h = (text: string) => Buffer.from(text.replace(/\n/g, "\r\n"));

  test("every address of every From: and Sender: field, groups skipped", () => {
    const got = headerSenders(h('Subject: x\nFrom: "Alice" <alice@example.com>, bob@example.com\nfrom: =?utf-8?q?A?= <info@example.com>\nSender: undisclosed:;\nTo: z@example.org\n'));
    assert.deepEqual(got, [
      { field: "from", address: "alice@example.com" },
      { field: "from", address: "bob@example.com" },
      { field: "from", address: "info@example.com" },
    ]);
  });

  test("folded fields are read whole", () => {
    assert.deepEqual(headerSenders(h("From: Alice\n <bob@example.com>\n")), [{ field: "from", address: "bob@example.com" }]);
  });

  test("own From: passes; a forged one is 550 5.7.1 naming it; Sender: is checked too", async () => {
    assert.equal(await headerSenderVerdict(h("From: Alice <alice+x@example.com>\nSender: info@example.com\n"), alice, dir, opts), undefined);
    const forged = await headerSenderVerdict(h("From: Bob <bob@example.com>\n"), alice, dir, opts);
    assert.deepEqual([forged?.code, forged?.enhanced], [550, "5.7.1"]);
    assert.match(forged!.lines[0]!, /From: .*bob@example\.com/);
    const second = await headerSenderVerdict(h("From: alice@example.com, bob@example.com\nSender: alice@example.com\n"), alice, dir, opts);
    assert.equal(second?.code, 550);
    const sender = await headerSenderVerdict(h("From: alice@example.com\nSender: bob@example.com\n"), alice, dir, opts);
    assert.match(sender!.lines[0]!, /^Sender: /);
  });

  test("no From: at all is left to other checks; an unreadable one is refused", async () => {
    assert.equal(await headerSenderVerdict(h("Subject: hi\n"), alice, dir, opts), undefined);
    const r = await headerSenderVerdict(h("From: alice\n"), alice, dir, opts);
    assert.equal(r?.code, 550);
  });

  test("reply text is one printable line", async () => {
    const r = await headerSenderVerdict(h("From: =?utf-8?b?w6k=?= <\u00e9v\u00e9@example.com>\n"), alice, dir, opts);
    assert.equal(r?.code, 550);
    assert.match(r!.lines[0]!, /^[\x20-\x7e]+$/);
  });
});
