/** Directory: domains (IDN, case), accounts, aliases. */
import assert from "node:assert/strict";
import { blobOf, localDelivery, mailbox, newAccount, rejectsWith, sorted, type Case } from "./fixtures.js";

export function directoryCases(it: Case): void {
  it("addDomain keeps the Unicode name and matches IDN and case variants", async (s) => {
    const d = await s.directory.addDomain("Bücher.Example");
    assert.equal(d.name, "bücher.example");
    assert.equal(typeof d.createdAt, "number");
    for (const n of ["bücher.example", "BÜCHER.EXAMPLE", "xn--bcher-kva.example", "XN--BCHER-KVA.Example"]) assert.equal(await s.directory.isLocalDomain(n), true, n);
    assert.equal(await s.directory.isLocalDomain("buecher.example"), false);
    assert.deepEqual(await s.directory.addDomain("xn--bcher-kva.example"), d, "adding it again changes nothing");
    assert.deepEqual(await s.directory.listDomains(), [d]);
  });

  it("listDomains is sorted; removeDomain says whether the domain existed", async (s) => {
    await s.directory.addDomain("b.example");
    await s.directory.addDomain("A.example");
    assert.deepEqual((await s.directory.listDomains()).map((d) => d.name), ["a.example", "b.example"]);
    assert.equal(await s.directory.removeDomain("A.EXAMPLE"), true);
    assert.equal(await s.directory.removeDomain("a.example"), false);
    assert.equal(await s.directory.removeDomain("never.example"), false);
    assert.equal(await s.directory.isLocalDomain("a.example"), false);
    assert.deepEqual((await s.directory.listDomains()).map((d) => d.name), ["b.example"]);
  });

  it("removeDomain is refused while accounts or aliases use it, unless forced", async (s) => {
    const alice = await newAccount(s, "alice@example.com");
    const inbox = await mailbox(s, alice.id);
    await s.mailstore.deliver([localDelivery("Q1", 0, blobOf("hello"), [alice.id])]);
    await s.directory.addDomain("aliases.example");
    await s.directory.addAlias("info@aliases.example", ["alice@example.com"]);
    await rejectsWith(s.directory.removeDomain("example.com"), "IN_USE");
    await rejectsWith(s.directory.removeDomain("ALIASES.example"), "IN_USE");
    assert.equal(await s.directory.isLocalDomain("example.com"), true);
    assert.ok(await s.directory.getAccount("alice@example.com"), "a refused removal removes nothing");

    assert.equal(await s.directory.removeDomain("example.com", { force: true }), true);
    assert.equal(await s.directory.isLocalDomain("example.com"), false);
    assert.equal(await s.directory.getAccount("alice@example.com"), null);
    assert.equal(await s.directory.getAccountById(alice.id), null);
    assert.deepEqual(await s.mailstore.listMailboxes(alice.id), []);
    assert.deepEqual(await s.mailstore.listMessages(inbox.id), []);
    assert.equal(await s.directory.removeDomain("aliases.example", { force: true }), true);
    assert.equal(await s.directory.getAlias("info@aliases.example"), null);
  });

  it("addAccount creates the account and its INBOX", async (s) => {
    await s.directory.addDomain("example.com");
    const a = await s.directory.addAccount({ address: "Alice@Example.COM", displayName: "Alice", passwordHash: "h1" });
    assert.equal(typeof a.id, "number");
    assert.equal(typeof a.createdAt, "number");
    assert.deepEqual({ ...a, id: 0, createdAt: 0 }, { id: 0, address: "Alice@example.com", displayName: "Alice", quota: null, usedBytes: 0, enabled: true, createdAt: 0, sendAs: [], sendLimits: {} });
    const boxes = await s.mailstore.listMailboxes(a.id);
    assert.equal(boxes.length, 1);
    const inbox = boxes[0]!;
    assert.ok(inbox.uidValidity > 0);
    assert.deepEqual({ ...inbox, id: 0, uidValidity: 0, highestModseq: 0 }, { id: 0, accountId: a.id, name: "INBOX", specialUse: null, uidValidity: 0, uidNext: 1, highestModseq: 0, subscribed: true, messages: 0, unseen: 0, size: 0 });
    assert.deepEqual(await s.mailstore.getMailbox(a.id, "INBOX"), inbox);
    assert.equal(await s.mailstore.getMailbox(a.id, "Nope"), null);
  });

  it("accounts are found case-insensitively, by Unicode or ASCII domain", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    assert.deepEqual(await s.directory.getAccount("ALICE@EXAMPLE.COM"), a);
    assert.deepEqual(await s.directory.getAccountById(a.id), a);
    assert.equal(await s.directory.getAccount("bob@example.com"), null);
    assert.equal(await s.directory.getAccountById(a.id + 1000), null);
    await s.directory.addDomain("xn--bcher-kva.example");
    const u = await s.directory.addAccount({ address: "user@xn--bcher-kva.example", passwordHash: "h" });
    assert.equal(u.address, "user@bücher.example");
    assert.equal((await s.directory.getAccount("USER@BÜCHER.EXAMPLE"))?.id, u.id);
    assert.equal((await s.directory.getAccount("user@XN--BCHER-KVA.example"))?.id, u.id);
  });

  it("a UTF-8 local part is kept, and matched after NFC normalisation and case folding", async (s) => {
    const a = await newAccount(s, "jörg@example.com");
    assert.equal(a.address, "jörg@example.com");
    assert.equal((await s.directory.getAccount("JÖRG@example.com"))?.id, a.id);
    assert.equal((await s.directory.getAccount("jo\u0308rg@example.com"))?.id, a.id, "decomposed (NFD) spelling");
    assert.equal(await s.directory.getAccount("jorg@example.com"), null);
  });

  it("addAccount refuses duplicates (EXISTS) and unknown domains (NO_DOMAIN)", async (s) => {
    await newAccount(s, "alice@example.com");
    await rejectsWith(s.directory.addAccount({ address: "alice@example.com", passwordHash: "x" }), "EXISTS");
    await rejectsWith(s.directory.addAccount({ address: "ALICE@Example.com", passwordHash: "x" }), "EXISTS");
    await rejectsWith(s.directory.addAccount({ address: "bob@nowhere.example", passwordHash: "x" }), "NO_DOMAIN");
    assert.equal((await s.directory.listAccounts()).length, 1);
  });

  it("listAccounts lists every account, or those of one domain", async (s) => {
    await newAccount(s, "b@example.com");
    await newAccount(s, "a@example.com");
    await newAccount(s, "x@bücher.example");
    const addresses = async (d?: string) => (await s.directory.listAccounts(d)).map((a) => a.address);
    assert.deepEqual(sorted(await addresses()), ["a@example.com", "b@example.com", "x@bücher.example"]);
    assert.deepEqual(await addresses("EXAMPLE.com"), ["a@example.com", "b@example.com"]);
    assert.deepEqual(await addresses("xn--bcher-kva.example"), ["x@bücher.example"]);
    assert.deepEqual(await addresses("other.example"), []);
  });

  it("updateAccount changes only the fields of the patch", async (s) => {
    const a = await s.directory.addDomain("example.com").then(() => s.directory.addAccount({ address: "alice@example.com", displayName: "Alice", passwordHash: "h1" }));
    assert.equal(await s.directory.updateAccount("ALICE@example.com", { displayName: "A." }), true);
    assert.deepEqual(await s.directory.getAccount("alice@example.com"), { ...a, displayName: "A." });
    assert.equal(await s.directory.updateAccount("alice@example.com", { quota: 1000, enabled: false }), true);
    assert.deepEqual(await s.directory.getAccount("alice@example.com"), { ...a, displayName: "A.", quota: 1000, enabled: false });
    assert.equal(await s.directory.updateAccount("alice@example.com", { displayName: null, quota: null, enabled: true, passwordHash: "h2" }), true);
    assert.deepEqual(await s.directory.getAccount("alice@example.com"), { ...a, displayName: null });
    assert.equal((await s.directory.credentials("alice@example.com"))?.passwordHash, "h2");
    assert.equal(await s.directory.updateAccount("alice@example.com", {}), true, "an empty patch of an existing account");
    assert.equal(await s.directory.updateAccount("bob@example.com", {}), false);
    assert.equal(await s.directory.updateAccount("bob@example.com", { enabled: false }), false);
  });

  it("credentials returns the stored hash of an account, enabled or not", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    assert.deepEqual(await s.directory.credentials("Alice@Example.com"), { account: a, passwordHash: "hash-of-alice@example.com" });
    await s.directory.updateAccount("alice@example.com", { enabled: false });
    const c = await s.directory.credentials("alice@example.com");
    assert.equal(c?.account.enabled, false);
    assert.equal(c?.passwordHash, "hash-of-alice@example.com");
    assert.equal(await s.directory.credentials("bob@example.com"), null);
  });

  it("removeAccount removes the account with its mailboxes and messages; ids are not reused", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const inbox = await mailbox(s, a.id);
    await s.mailstore.deliver([localDelivery("Q1", 0, blobOf("hello"), [a.id]), localDelivery("Q2", 0, blobOf("junk"), [a.id], { mailbox: "Junk", specialUse: "\\Junk" })]);
    const junk = await mailbox(s, a.id, "Junk");
    assert.equal(await s.directory.removeAccount("ALICE@example.com"), true);
    assert.equal(await s.directory.removeAccount("alice@example.com"), false);
    assert.equal(await s.directory.getAccount("alice@example.com"), null);
    assert.equal(await s.directory.getAccountById(a.id), null);
    assert.equal(await s.directory.credentials("alice@example.com"), null);
    assert.deepEqual(await s.mailstore.listMailboxes(a.id), []);
    assert.deepEqual(await s.mailstore.listMessages(inbox.id), []);
    assert.deepEqual(await s.mailstore.listMessages(junk.id), []);
    // A session still holding the old ids must not reach the new account's mail.
    const again = await s.directory.addAccount({ address: "alice@example.com", passwordHash: "h" });
    assert.notEqual(again.id, a.id, "account id reused");
    const newInbox = await mailbox(s, again.id);
    assert.notEqual(newInbox.id, inbox.id, "mailbox id reused");
    assert.notEqual(newInbox.id, junk.id, "mailbox id reused");
    assert.equal(newInbox.messages, 0);
    const [r] = await s.mailstore.deliver([localDelivery("Q1", 0, blobOf("hello"), [again.id])]);
    assert.deepEqual(r, [{ accountId: again.id, status: "delivered", uid: 1 }], "the old account's deliveries are not the new one's");
  });

  it("addAlias creates an alias and merges further targets", async (s) => {
    await s.directory.addDomain("example.com");
    const a = await s.directory.addAlias("info@example.com", ["a@example.com", "b@remote.example"]);
    assert.equal(a.source, "info@example.com");
    assert.deepEqual(sorted(a.targets), ["a@example.com", "b@remote.example"]);
    const merged = await s.directory.addAlias("INFO@Example.com", ["b@remote.example", "c@example.com"]);
    assert.deepEqual(sorted(merged.targets), ["a@example.com", "b@remote.example", "c@example.com"]);
    assert.deepEqual(sorted((await s.directory.getAlias("info@EXAMPLE.COM")) ?? []), ["a@example.com", "b@remote.example", "c@example.com"]);
    const all = await s.directory.listAliases();
    assert.equal(all.length, 1, `one alias however its source was spelt: ${JSON.stringify(all)}`);
    assert.deepEqual(sorted(all[0]!.targets), ["a@example.com", "b@remote.example", "c@example.com"]);
    assert.equal(await s.directory.getAlias("other@example.com"), null);
  });

  it("a catch-all alias is @domain, matched by Unicode or ASCII domain", async (s) => {
    await s.directory.addDomain("example.com");
    await s.directory.addDomain("bücher.example");
    await s.directory.addAlias("@example.com", ["postmaster@example.com"]);
    await s.directory.addAlias("@bücher.example", ["x@example.com"]);
    assert.deepEqual(await s.directory.getAlias("@EXAMPLE.COM"), ["postmaster@example.com"]);
    assert.deepEqual(await s.directory.getAlias("@xn--bcher-kva.example"), ["x@example.com"]);
    assert.equal(await s.directory.getAlias("nobody@example.com"), null, "resolving a catch-all is the caller's job");
  });

  it("addAlias refuses unknown domains (NO_DOMAIN) and no targets (INVALID)", async (s) => {
    await s.directory.addDomain("example.com");
    await rejectsWith(s.directory.addAlias("info@nowhere.example", ["a@example.com"]), "NO_DOMAIN");
    await rejectsWith(s.directory.addAlias("info@example.com", []), "INVALID");
    assert.deepEqual(await s.directory.listAliases(), []);
  });

  it("removeAlias removes one target, or the whole alias", async (s) => {
    await s.directory.addDomain("example.com");
    await s.directory.addAlias("info@example.com", ["a@example.com", "b@example.com", "c@example.com"]);
    assert.equal(await s.directory.removeAlias("INFO@example.com", "b@example.com"), true);
    assert.equal(await s.directory.removeAlias("info@example.com", "b@example.com"), false);
    assert.equal(await s.directory.removeAlias("info@example.com", "nobody@example.com"), false);
    assert.deepEqual(sorted((await s.directory.getAlias("info@example.com")) ?? []), ["a@example.com", "c@example.com"]);
    assert.equal(await s.directory.removeAlias("info@example.com"), true);
    assert.equal(await s.directory.getAlias("info@example.com"), null);
    assert.equal(await s.directory.removeAlias("info@example.com"), false);
    await s.directory.addAlias("one@example.com", ["a@example.com"]);
    assert.equal(await s.directory.removeAlias("one@example.com", "a@example.com"), true);
    assert.equal(await s.directory.getAlias("one@example.com"), null, "an alias without targets is gone");
    assert.deepEqual(await s.directory.listAliases(), []);
  });

  it("listAliases lists every alias, or those of one domain", async (s) => {
    await s.directory.addDomain("example.com");
    await s.directory.addDomain("bücher.example");
    await s.directory.addAlias("info@example.com", ["a@example.com", "b@example.com"]);
    await s.directory.addAlias("@example.com", ["a@example.com"]);
    await s.directory.addAlias("info@bücher.example", ["x@example.com"]);
    const view = (as: { source: string; targets: string[] }[]) => as.map((a) => `${a.source} -> ${sorted(a.targets).join(",")}`).sort();
    assert.deepEqual(view(await s.directory.listAliases()), ["@example.com -> a@example.com", "info@bücher.example -> x@example.com", "info@example.com -> a@example.com,b@example.com"]);
    assert.deepEqual(view(await s.directory.listAliases("Example.COM")), ["@example.com -> a@example.com", "info@example.com -> a@example.com,b@example.com"]);
    assert.deepEqual(view(await s.directory.listAliases("xn--bcher-kva.example")), ["info@bücher.example -> x@example.com"]);
  });
}
