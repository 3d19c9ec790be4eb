/**
 * What IMAP needs of the mailstore: mailbox management, subscriptions, flags with modseqs
 * (CONDSTORE), the expunge history (QRESYNC), APPEND, COPY and MOVE (UIDPLUS), on every backend.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { blobOf, localDelivery, mailbox, newAccount, T0, type Case } from "./fixtures.js";
import { MailstoreError, type Store } from "../../src/store/types.js";
import { assertCounters } from "./counters-cases.js";

async function rejectsWith(p: Promise<unknown>, code: MailstoreError["code"]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof MailstoreError, `expected a MailstoreError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

async function append(s: Store, accountId: number, box: string, text: string, flags: string[] = [], internalDate = T0): Promise<number> {
  return (await s.mailstore.append({ accountId, mailbox: box, internalDate, flags, blob: blobOf(text) })).uid;
}

const names = async (s: Store, accountId: number): Promise<string[]> => (await s.mailstore.listMailboxes(accountId)).map((b) => b.name);
const used = async (s: Store, accountId: number): Promise<number> => (await s.directory.getAccountById(accountId))!.usedBytes;

export function imapCases(it: Case): void {
  it("createMailbox creates the missing superiors; EXISTS for an existing name; INBOX is case-insensitive", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const c = await s.mailstore.createMailbox(a.id, "a/b/c");
    assert.equal(c.name, "a/b/c");
    assert.deepEqual([c.messages, c.uidNext, c.size, c.subscribed, c.specialUse], [0, 1, 0, true, null]);
    assert.ok(c.uidValidity > 0);
    assert.deepEqual(await names(s, a.id), ["INBOX", "a", "a/b", "a/b/c"]);
    assert.deepEqual(await s.mailstore.getMailboxById(c.id), c);
    assert.equal(await s.mailstore.getMailboxById(c.id + 1000), null);
    await rejectsWith(s.mailstore.createMailbox(a.id, "a/b"), "EXISTS");
    await rejectsWith(s.mailstore.createMailbox(a.id, "inbox"), "EXISTS");
    await rejectsWith(s.mailstore.createMailbox(a.id, "INBOX"), "EXISTS");
    const sub = await s.mailstore.createMailbox(a.id, "Inbox/Sub");
    assert.equal(sub.name, "INBOX/Sub");
    assert.equal((await s.mailstore.getMailbox(a.id, "inbox"))?.name, "INBOX");
    assert.equal((await s.mailstore.getMailbox(a.id, "iNbOx/Sub"))?.id, sub.id);
    const sent = await s.mailstore.createMailbox(a.id, "Sent", "\\Sent");
    assert.equal(sent.specialUse, "\\Sent");
    await s.mailstore.createMailbox(a.id, "Grüße/日本");
    assert.deepEqual(await names(s, a.id), ["Grüße", "Grüße/日本", "INBOX", "INBOX/Sub", "Sent", "a", "a/b", "a/b/c"]);
  });

  it("createMailbox refuses invalid names", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    for (const bad of ["", "a//b", "/a", "a/", "/", "a\u0000b", "a\rb", "a\nb", "tab\there", "del\u007f", "c1\u0085"]) {
      await rejectsWith(s.mailstore.createMailbox(a.id, bad), "INVALID");
    }
    assert.deepEqual(await names(s, a.id), ["INBOX"]);
  });

  it("mailboxes of different accounts are separate; a missing account is NOT_FOUND", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const b = await newAccount(s, "bob@example.com");
    await s.mailstore.createMailbox(a.id, "Work");
    await s.mailstore.createMailbox(b.id, "Work");
    assert.deepEqual(await names(s, b.id), ["INBOX", "Work"]);
    await rejectsWith(s.mailstore.createMailbox(b.id + 1000, "Work"), "NOT_FOUND");
  });

  it("deleteMailbox removes the messages (usage drops), keeps inferiors and subscriptions; INBOX is CANNOT", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.createMailbox(a.id, "a/b");
    const box = (await mailbox(s, a.id, "a")).id;
    await append(s, a.id, "a", "Subject: one\r\n\r\n1\r\n");
    await append(s, a.id, "a", "Subject: two\r\n\r\n2\r\n");
    const kept = "Subject: kept\r\n\r\nk\r\n";
    await append(s, a.id, "a/b", kept);
    assert.ok((await used(s, a.id)) > kept.length);
    assert.equal(await s.mailstore.deleteMailbox(a.id, "a"), true);
    assert.deepEqual(await names(s, a.id), ["INBOX", "a/b"], "RFC 9051 6.3.4: the inferior stays");
    assert.equal(await s.mailstore.getMailboxById(box), null);
    assert.deepEqual(await s.mailstore.listMessages(box), []);
    assert.equal(await used(s, a.id), kept.length);
    assert.deepEqual(await s.mailstore.subscriptions(a.id), ["INBOX", "a", "a/b"], "subscriptions are names: they survive");
    assert.equal((await s.mailstore.listMailboxes(a.id)).find((b) => b.name === "a/b")?.subscribed, true);
    assert.equal(await s.mailstore.deleteMailbox(a.id, "a"), false);
    assert.equal(await s.mailstore.deleteMailbox(a.id, "nothing"), false);
    await rejectsWith(s.mailstore.deleteMailbox(a.id, "INBOX"), "CANNOT");
    await rejectsWith(s.mailstore.deleteMailbox(a.id, "inbox"), "CANNOT");
  });

  it("a mailbox deleted and created again has a new UIDVALIDITY", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const first = await s.mailstore.createMailbox(a.id, "Work");
    await append(s, a.id, "Work", "x");
    await s.mailstore.deleteMailbox(a.id, "Work");
    const again = await s.mailstore.createMailbox(a.id, "Work");
    assert.ok(again.uidValidity > first.uidValidity, "RFC 9051 2.3.1.1: greater");
    assert.equal(again.uidNext, 1);
    assert.equal(again.messages, 0);
    // The same when delivery creates the mailbox again.
    const junk = (q: string) => localDelivery(q, 0, blobOf(`spam ${q}`), [a.id], { mailbox: "Junk", specialUse: "\\Junk" });
    await s.mailstore.deliver([junk("Q1")]);
    const j1 = await mailbox(s, a.id, "Junk");
    await s.mailstore.deleteMailbox(a.id, "Junk");
    await s.mailstore.deliver([junk("Q2")]);
    const j2 = await mailbox(s, a.id, "Junk");
    assert.ok(j2.uidValidity > j1.uidValidity, `${j2.uidValidity} > ${j1.uidValidity}`);
    assert.equal(j2.subscribed, true);
  });

  it("deleting a mailbox keeps a blob another mailbox shares", async (s, be) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.createMailbox(a.id, "Copy");
    const b = blobOf(randomBytes(50_000));
    await s.mailstore.deliver([localDelivery("Q1", 0, b, [a.id])]);
    const inbox = await mailbox(s, a.id);
    await s.mailstore.copy(inbox.id, [1], (await mailbox(s, a.id, "Copy")).id);
    await s.mailstore.deleteMailbox(a.id, "Copy");
    assert.deepEqual(await s.mailstore.blob(b.id), b.data);
    assert.equal(await be.blobRows(b.id), 1);
    assert.equal(await used(s, a.id), (await mailbox(s, a.id)).size);
  });

  it("renameMailbox renames the inferiors and their subscriptions, keeps messages and UIDVALIDITY", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.createMailbox(a.id, "a/b/c");
    await s.mailstore.createMailbox(a.id, "ab");
    await s.mailstore.setSubscribed(a.id, "a/b/c", false);
    await append(s, a.id, "a/b", "Subject: in a/b\r\n\r\n");
    const before = await mailbox(s, a.id, "a/b");
    await s.mailstore.renameMailbox(a.id, "a", "x/y");
    assert.deepEqual(await names(s, a.id), ["INBOX", "ab", "x", "x/y", "x/y/b", "x/y/b/c"], "superiors of the new name are created; a sibling with the same prefix is not renamed");
    const after = await mailbox(s, a.id, "x/y/b");
    assert.equal(after.id, before.id);
    assert.equal(after.uidValidity, before.uidValidity);
    assert.deepEqual((await s.mailstore.listMessages(after.id)).map((m) => m.uid), [1]);
    assert.deepEqual(await s.mailstore.subscriptions(a.id), ["INBOX", "ab", "x", "x/y", "x/y/b"]);
  });

  it("renameMailbox: NOT_FOUND, EXISTS, INVALID", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.createMailbox(a.id, "a/b");
    await s.mailstore.createMailbox(a.id, "c/b");
    await s.mailstore.createMailbox(a.id, "c/x");
    await rejectsWith(s.mailstore.renameMailbox(a.id, "nothing", "z"), "NOT_FOUND");
    await rejectsWith(s.mailstore.renameMailbox(a.id, "a", "c"), "EXISTS");
    await rejectsWith(s.mailstore.renameMailbox(a.id, "a", "a"), "EXISTS");
    await rejectsWith(s.mailstore.renameMailbox(a.id, "a", "INBOX"), "EXISTS");
    await rejectsWith(s.mailstore.renameMailbox(a.id, "a", "inbox"), "EXISTS");
    await rejectsWith(s.mailstore.renameMailbox(a.id, "a", "a/b/c"), "INVALID");
    await rejectsWith(s.mailstore.renameMailbox(a.id, "a", "z//y"), "INVALID");
    await s.mailstore.createMailbox(a.id, "d/b");
    await s.mailstore.deleteMailbox(a.id, "d");
    await rejectsWith(s.mailstore.renameMailbox(a.id, "a", "d"), "EXISTS");
    assert.deepEqual(await names(s, a.id), ["INBOX", "a", "a/b", "c", "c/b", "c/x", "d/b"], "nothing renamed");
  });

  it("renaming INBOX moves its messages to a new mailbox and leaves INBOX empty (RFC 9051 6.3.6)", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.createMailbox(a.id, "INBOX/kept");
    await s.mailstore.deliver([1, 2, 3].map((i) => localDelivery(`Q${i}`, 0, blobOf(`m${i}`), [a.id], { flags: i === 2 ? ["\\Seen"] : [] })));
    const inbox = await mailbox(s, a.id);
    const usage = await used(s, a.id);
    await s.mailstore.renameMailbox(a.id, "inbox", "Old/Mail");
    const old = await mailbox(s, a.id, "Old/Mail");
    assert.notEqual(old.id, inbox.id);
    assert.notEqual(old.uidValidity, inbox.uidValidity, "a new mailbox, a new UIDVALIDITY");
    assert.deepEqual([old.messages, old.unseen, old.size], [3, 2, inbox.size]);
    const moved = await s.mailstore.listMessages(old.id);
    assert.deepEqual(moved.map((m) => m.flags), [[], ["\\Seen"], []]);
    assert.ok(old.uidNext > Math.max(...moved.map((m) => m.uid)));
    const empty = await mailbox(s, a.id);
    assert.equal(empty.id, inbox.id);
    assert.equal(empty.uidValidity, inbox.uidValidity);
    assert.equal(empty.messages, 0);
    assert.ok(empty.highestModseq > inbox.highestModseq);
    assert.deepEqual(await s.mailstore.expungedSince(inbox.id, inbox.highestModseq), [1, 2, 3], "INBOX's sessions see the messages expunged");
    assert.deepEqual(await names(s, a.id), ["INBOX", "INBOX/kept", "Old", "Old/Mail"], "INBOX's inferiors are not renamed");
    assert.equal(await used(s, a.id), usage);
    assert.equal(await append(s, a.id, "INBOX", "new"), 4, "INBOX's UIDs are not reused");
    await rejectsWith(s.mailstore.renameMailbox(a.id, "INBOX", "Old/Mail"), "EXISTS");
  });

  it("subscriptions are names: kept sorted, may name no mailbox, follow setSubscribed", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const b = await newAccount(s, "bob@example.com");
    assert.deepEqual(await s.mailstore.subscriptions(a.id), ["INBOX"]);
    assert.equal((await mailbox(s, a.id)).subscribed, true);
    await s.mailstore.createMailbox(a.id, "Work");
    await s.mailstore.setSubscribed(a.id, "Work", false);
    assert.equal((await mailbox(s, a.id, "Work")).subscribed, false);
    await s.mailstore.setSubscribed(a.id, "Work", false);
    await s.mailstore.setSubscribed(a.id, "Elsewhere/Shared", true);
    await s.mailstore.setSubscribed(a.id, "Elsewhere/Shared", true);
    await s.mailstore.setSubscribed(a.id, "inbox", false);
    assert.deepEqual(await s.mailstore.subscriptions(a.id), ["Elsewhere/Shared"]);
    assert.equal((await mailbox(s, a.id)).subscribed, false);
    await s.mailstore.setSubscribed(a.id, "Work", true);
    assert.equal((await mailbox(s, a.id, "Work")).subscribed, true);
    assert.deepEqual(await s.mailstore.subscriptions(a.id), ["Elsewhere/Shared", "Work"]);
    assert.deepEqual(await s.mailstore.subscriptions(b.id), ["INBOX"]);
    await rejectsWith(s.mailstore.setSubscribed(a.id, "a//b", true), "INVALID");
  });

  it("storeFlags adds, removes and replaces; system flags canonical, keywords as given, no duplicates, no \\Recent", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.deliver([1, 2, 3].map((i) => localDelivery(`Q${i}`, 0, blobOf(`m${i}`), [a.id], { flags: i === 1 ? ["\\Seen"] : [] })));
    const box = await mailbox(s, a.id);
    const r1 = await s.mailstore.storeFlags({ mailboxId: box.id, uids: [1, 2, 3, 99], op: "add", flags: ["\\seen", "\\FLAGGED", "$Label1", "$label1", "\\Recent"] });
    const m1 = box.highestModseq + 1;
    assert.deepEqual(r1, {
      updated: [
        { uid: 1, flags: ["\\Seen", "\\Flagged", "$Label1"], modseq: m1 },
        { uid: 2, flags: ["\\Seen", "\\Flagged", "$Label1"], modseq: m1 },
        { uid: 3, flags: ["\\Seen", "\\Flagged", "$Label1"], modseq: m1 },
      ],
      modified: [],
    });
    assert.equal((await mailbox(s, a.id)).highestModseq, m1, "one modseq per call");
    assert.equal((await mailbox(s, a.id)).unseen, 0);
    const r2 = await s.mailstore.storeFlags({ mailboxId: box.id, uids: [2, 3], op: "add", flags: ["\\Seen"] });
    assert.deepEqual(r2, { updated: [], modified: [] }, "no change: no new modseq");
    assert.equal((await mailbox(s, a.id)).highestModseq, m1);
    const r3 = await s.mailstore.storeFlags({ mailboxId: box.id, uids: [1, 2], op: "remove", flags: ["\\SEEN", "$LABEL1", "\\Deleted"] });
    assert.deepEqual(r3.updated, [
      { uid: 1, flags: ["\\Flagged"], modseq: m1 + 1 },
      { uid: 2, flags: ["\\Flagged"], modseq: m1 + 1 },
    ]);
    const r4 = await s.mailstore.storeFlags({ mailboxId: box.id, uids: [2, 3], op: "replace", flags: ["\\answered", "\\draft", "\\deleted", "Junk", "NonJunk", "junk"] });
    assert.deepEqual(r4.updated, [
      { uid: 2, flags: ["\\Answered", "\\Draft", "\\Deleted", "Junk", "NonJunk"], modseq: m1 + 2 },
      { uid: 3, flags: ["\\Answered", "\\Draft", "\\Deleted", "Junk", "NonJunk"], modseq: m1 + 2 },
    ]);
    const r5 = await s.mailstore.storeFlags({ mailboxId: box.id, uids: [2, 3], op: "replace", flags: ["NonJunk", "Junk", "\\Deleted", "\\Draft", "\\Answered"] });
    assert.deepEqual(r5.updated, [], "the same set in another order is no change");
    const r6 = await s.mailstore.storeFlags({ mailboxId: box.id, uids: [3], op: "replace", flags: [] });
    assert.deepEqual(r6.updated, [{ uid: 3, flags: [], modseq: m1 + 3 }]);
    const msgs = await s.mailstore.listMessages(box.id);
    assert.deepEqual(msgs.map((m) => [m.uid, m.flags, m.modseq]), [
      [1, ["\\Flagged"], m1 + 1],
      [2, ["\\Answered", "\\Draft", "\\Deleted", "Junk", "NonJunk"], m1 + 2],
      [3, [], m1 + 3],
    ]);
    const after = await mailbox(s, a.id);
    assert.equal(after.highestModseq, m1 + 3);
    assert.equal(after.unseen, 3);
    assert.deepEqual(await s.mailstore.storeFlags({ mailboxId: box.id, uids: [], op: "add", flags: ["\\Seen"] }), { updated: [], modified: [] });
    assert.deepEqual(await s.mailstore.storeFlags({ mailboxId: box.id + 1000, uids: [1], op: "add", flags: ["\\Seen"] }), { updated: [], modified: [] });
  });

  it("storeFlags with unchangedSince leaves messages changed since alone and names them (CONDSTORE)", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.deliver([1, 2, 3].map((i) => localDelivery(`Q${i}`, 0, blobOf(`m${i}`), [a.id])));
    const box = await mailbox(s, a.id);
    const [m1, m2] = await s.mailstore.listMessages(box.id);
    // Message 2 changes after the client last looked (at modseq m2.modseq).
    await s.mailstore.storeFlags({ mailboxId: box.id, uids: [2], op: "add", flags: ["$Other"] });
    const r = await s.mailstore.storeFlags({ mailboxId: box.id, uids: [1, 2, 3], op: "add", flags: ["\\Seen"], unchangedSince: m2!.modseq + 1 });
    assert.deepEqual(r.modified, [2]);
    assert.deepEqual(r.updated.map((u) => u.uid), [1, 3]);
    const msgs = await s.mailstore.listMessages(box.id);
    assert.deepEqual(msgs.map((m) => m.flags), [["\\Seen"], ["$Other"], ["\\Seen"]]);
    const z = await s.mailstore.storeFlags({ mailboxId: box.id, uids: [1], op: "remove", flags: ["\\Seen"], unchangedSince: 0 });
    assert.deepEqual(z, { updated: [], modified: [1] }, "UNCHANGEDSINCE 0 always fails");
    assert.ok(m1!.modseq > 0);
  });

  it("changedSince and expungedSince follow every change: delivery, flags, append, copy, move, expunge", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const other = await s.mailstore.createMailbox(a.id, "Other");
    await s.mailstore.deliver([1, 2, 3, 4].map((i) => localDelivery(`Q${i}`, 0, blobOf(`m${i}`), [a.id])));
    const box = await mailbox(s, a.id);
    const h0 = box.highestModseq;
    assert.deepEqual((await s.mailstore.changedSince(box.id, 0)).map((m) => m.uid), [1, 2, 3, 4]);
    assert.deepEqual(await s.mailstore.changedSince(box.id, h0), []);
    await s.mailstore.storeFlags({ mailboxId: box.id, uids: [3], op: "add", flags: ["\\Seen"] });
    const changed = await s.mailstore.changedSince(box.id, h0);
    assert.deepEqual(changed.map((m) => [m.uid, m.flags, m.modseq]), [[3, ["\\Seen"], h0 + 1]]);
    assert.deepEqual(changed[0], (await s.mailstore.listMessages(box.id))[2], "whole messages");
    const h1 = (await mailbox(s, a.id)).highestModseq;
    assert.deepEqual(await s.mailstore.expunge(box.id, [1, 4]), [1, 4]);
    const h2 = (await mailbox(s, a.id)).highestModseq;
    assert.equal(h2, h1 + 1);
    assert.deepEqual(await s.mailstore.expungedSince(box.id, h1), [1, 4]);
    assert.deepEqual(await s.mailstore.expungedSince(box.id, h2), []);
    assert.deepEqual(await s.mailstore.changedSince(box.id, h1), [], "an expunge changes no message");
    await append(s, a.id, "INBOX", "appended");
    assert.deepEqual((await s.mailstore.changedSince(box.id, h2)).map((m) => [m.uid, m.modseq]), [[5, h2 + 1]]);
    const o0 = (await s.mailstore.getMailboxById(other.id))!.highestModseq;
    await s.mailstore.copy(box.id, [2], other.id);
    assert.deepEqual((await s.mailstore.changedSince(other.id, o0)).map((m) => [m.uid, m.modseq]), [[1, o0 + 1]]);
    const h3 = (await mailbox(s, a.id)).highestModseq;
    assert.equal(h3, h2 + 1, "a copy out changes nothing in the source");
    await s.mailstore.move(box.id, [3], other.id);
    assert.deepEqual((await s.mailstore.changedSince(other.id, o0 + 1)).map((m) => [m.uid, m.flags, m.modseq]), [[2, ["\\Seen"], o0 + 2]]);
    assert.deepEqual(await s.mailstore.expungedSince(box.id, h3), [3]);
    assert.deepEqual(await s.mailstore.expungedSince(box.id, 0), [1, 3, 4]);
    assert.equal((await mailbox(s, a.id)).highestModseq, h3 + 1);
    assert.deepEqual(await s.mailstore.expungedSince(other.id, 0), []);
  });

  it("getMessages returns the messages that exist, in UID order", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.deliver([1, 2, 3].map((i) => localDelivery(`Q${i}`, 0, blobOf(`m${i}`), [a.id])));
    const box = await mailbox(s, a.id);
    const all = await s.mailstore.listMessages(box.id);
    assert.deepEqual(await s.mailstore.getMessages(box.id, [3, 1, 7]), [all[0], all[2]]);
    assert.deepEqual(await s.mailstore.getMessages(box.id, []), []);
  });

  it("append stores a message with its flags and date, and is NOT_FOUND or OVER_QUOTA", async (s, be) => {
    const a = await newAccount(s, "alice@example.com");
    const box = await mailbox(s, a.id);
    const b = blobOf("Subject: appended\r\n\r\nhello\r\n", { subject: "appended" });
    const r = await s.mailstore.append({ accountId: a.id, mailbox: "inbox", internalDate: T0 + 5, flags: ["\\seen", "$Sent", "\\Recent", "\\Seen"], blob: b });
    assert.deepEqual(r, { mailboxId: box.id, uidValidity: box.uidValidity, uid: 1 });
    const [m] = await s.mailstore.listMessages(box.id);
    assert.deepEqual(m, { mailboxId: box.id, uid: 1, modseq: box.highestModseq + 1, flags: ["\\Seen", "$Sent"], internalDate: T0 + 5, size: b.size, blobId: b.id, prefix: Buffer.alloc(0) });
    assert.deepEqual(await s.mailstore.blob(b.id), b.data);
    assert.deepEqual(await s.mailstore.parsed(b.id), { subject: "appended" });
    const after = await mailbox(s, a.id);
    assert.deepEqual([after.uidNext, after.highestModseq, after.messages, after.unseen, after.size], [2, m!.modseq, 1, 0, b.size]);
    assert.equal(await used(s, a.id), b.size);
    // The same content again (and delivered): one blob.
    assert.equal((await s.mailstore.append({ accountId: a.id, mailbox: "INBOX", internalDate: T0, flags: [], blob: b })).uid, 2);
    await s.mailstore.deliver([localDelivery("Q1", 0, b, [a.id])]);
    assert.equal(await be.blobRows(b.id), 1);
    await rejectsWith(s.mailstore.append({ accountId: a.id, mailbox: "Nothing", internalDate: T0, flags: [], blob: b }), "NOT_FOUND");
    await rejectsWith(s.mailstore.append({ accountId: a.id + 1000, mailbox: "INBOX", internalDate: T0, flags: [], blob: b }), "NOT_FOUND");
    const q = await newAccount(s, "quota@example.com", b.size * 2);
    await s.mailstore.append({ accountId: q.id, mailbox: "INBOX", internalDate: T0, flags: [], blob: b });
    await s.mailstore.append({ accountId: q.id, mailbox: "INBOX", internalDate: T0, flags: [], blob: b });
    await rejectsWith(s.mailstore.append({ accountId: q.id, mailbox: "INBOX", internalDate: T0, flags: [], blob: blobOf("x") }), "OVER_QUOTA");
    const qbox = await mailbox(s, q.id);
    assert.deepEqual([qbox.messages, qbox.uidNext], [2, 3], "nothing of the refused message is stored");
    assert.equal(await used(s, q.id), b.size * 2);
  });

  it("append of a large message round-trips", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.createMailbox(a.id, "Big");
    const b = blobOf(randomBytes(300_000));
    const r = await s.mailstore.append({ accountId: a.id, mailbox: "Big", internalDate: T0, flags: [], blob: b });
    assert.equal(r.uid, 1);
    assert.deepEqual(await s.mailstore.blob(b.id), b.data);
    const [m] = await s.mailstore.listMessages(r.mailboxId);
    assert.equal(m!.size, 300_000);
  });

  it("UIDs are never reused: expunge then append, delete then expunge everything", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const box = await mailbox(s, a.id);
    for (let i = 1; i <= 3; i++) assert.equal(await append(s, a.id, "INBOX", `m${i}`), i);
    await s.mailstore.expunge(box.id, [3]);
    assert.equal(await append(s, a.id, "INBOX", "m4"), 4);
    await s.mailstore.expunge(box.id, [1, 2, 4]);
    assert.equal((await mailbox(s, a.id)).messages, 0);
    assert.equal(await append(s, a.id, "INBOX", "m5"), 5);
    await s.mailstore.deliver([localDelivery("Q1", 0, blobOf("delivered"), [a.id])]);
    assert.deepEqual((await s.mailstore.listMessages(box.id)).map((m) => m.uid), [5, 6]);
    assert.equal((await mailbox(s, a.id)).uidNext, 7);
  });

  it("copy keeps flags and date, gives new UIDs in source UID order, skips gone messages (COPYUID)", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const dest = await s.mailstore.createMailbox(a.id, "Archive");
    await append(s, a.id, "Archive", "already there");
    for (let i = 1; i <= 4; i++) await append(s, a.id, "INBOX", `m${i}`, i % 2 ? ["\\Seen", "$K"] : [], T0 + i);
    const box = await mailbox(s, a.id);
    await s.mailstore.expunge(box.id, [2]);
    const usage = await used(s, a.id);
    const r = await s.mailstore.copy(box.id, [4, 1, 2, 3, 99], dest.id);
    assert.deepEqual(r, { uidValidity: dest.uidValidity, map: [[1, 2], [3, 3], [4, 4]] });
    const src = await s.mailstore.listMessages(box.id);
    const copies = (await s.mailstore.listMessages(dest.id)).slice(1);
    const d0 = (await s.mailstore.getMailboxById(dest.id))!;
    assert.deepEqual(copies.map((m) => [m.uid, m.flags, m.internalDate, m.size, m.blobId, m.modseq]), src.map((m, i) => [i + 2, m.flags, m.internalDate, m.size, m.blobId, d0.highestModseq]));
    assert.deepEqual([d0.uidNext, d0.messages], [5, 4]);
    assert.equal(await used(s, a.id), usage + src.reduce((n, m) => n + m.size, 0), "a copy takes room");
    assert.deepEqual(await s.mailstore.listMessages(box.id), src, "the source is unchanged");
    // The copies hold their own references: expunging the originals keeps the content.
    await s.mailstore.expunge(box.id, [1, 3, 4]);
    for (const m of copies) assert.ok(await s.mailstore.blob(m.blobId));
    assert.deepEqual(await s.mailstore.copy(box.id, [1, 3], dest.id), { uidValidity: dest.uidValidity, map: [] });
    await rejectsWith(s.mailstore.copy(box.id, [1], dest.id + 1000), "NOT_FOUND");
  });

  it("copy checks the quota for the whole copy", async (s) => {
    const text = "0123456789".repeat(10);
    const a = await newAccount(s, "alice@example.com", text.length * 5);
    const dest = await s.mailstore.createMailbox(a.id, "Copies");
    for (let i = 0; i < 3; i++) await append(s, a.id, "INBOX", `${text.slice(1)}${i}`);
    const box = await mailbox(s, a.id);
    await rejectsWith(s.mailstore.copy(box.id, [1, 2, 3], dest.id), "OVER_QUOTA");
    assert.equal((await s.mailstore.getMailboxById(dest.id))!.messages, 0, "nothing copied");
    assert.equal((await s.mailstore.getMailboxById(dest.id))!.uidNext, 1);
    assert.equal(await used(s, a.id), text.length * 3);
    assert.deepEqual((await s.mailstore.copy(box.id, [1, 2], dest.id)).map, [[1, 1], [2, 2]], "up to the quota exactly");
    assert.equal(await used(s, a.id), text.length * 5);
  });

  it("move is copy and expunge in one: UIDs, flags, usage, blobs; a full account can still move", async (s) => {
    const text = "0123456789".repeat(10);
    const a = await newAccount(s, "alice@example.com", text.length * 3);
    const dest = await s.mailstore.createMailbox(a.id, "Done");
    for (let i = 0; i < 3; i++) await append(s, a.id, "INBOX", `${text.slice(1)}${i}`, i === 1 ? ["\\Flagged"] : [], T0 + i);
    const box = await mailbox(s, a.id);
    const before = await s.mailstore.listMessages(box.id);
    const r = await s.mailstore.move(box.id, [3, 2, 5], dest.id);
    assert.deepEqual(r, { uidValidity: dest.uidValidity, map: [[2, 1], [3, 2]] });
    assert.deepEqual((await s.mailstore.listMessages(box.id)).map((m) => m.uid), [1]);
    const moved = await s.mailstore.listMessages(dest.id);
    assert.deepEqual(moved.map((m) => [m.uid, m.flags, m.internalDate, m.blobId, m.size]), before.slice(1).map((m, i) => [i + 1, m.flags, m.internalDate, m.blobId, m.size]));
    for (const m of moved) assert.ok(await s.mailstore.blob(m.blobId));
    assert.equal(await used(s, a.id), text.length * 3, "a move within one account takes no room");
    const after = await mailbox(s, a.id);
    assert.equal(after.highestModseq, box.highestModseq + 1);
    assert.deepEqual(await s.mailstore.expungedSince(box.id, box.highestModseq), [2, 3]);
    assert.equal(after.uidNext, box.uidNext, "the source's UIDNEXT does not move");
    // Moving back gives new UIDs; the old ones are not reused.
    assert.deepEqual((await s.mailstore.move(dest.id, [1], box.id)).map, [[1, 4]]);
    // Expunging the moved messages drops their usage and their blobs' last references.
    await s.mailstore.expunge(dest.id, [2]);
    await s.mailstore.expunge(box.id, [1, 4]);
    assert.equal(await used(s, a.id), 0);
  });

  it("move within one mailbox renumbers the messages", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    for (let i = 1; i <= 2; i++) await append(s, a.id, "INBOX", `m${i}`);
    const box = await mailbox(s, a.id);
    assert.deepEqual((await s.mailstore.move(box.id, [1, 2], box.id)).map, [[1, 3], [2, 4]]);
    assert.deepEqual((await s.mailstore.listMessages(box.id)).map((m) => m.uid), [3, 4]);
    const after = await mailbox(s, a.id);
    assert.equal(after.uidNext, 5);
    assert.deepEqual(await s.mailstore.expungedSince(box.id, box.highestModseq), [1, 2]);
    assert.ok(after.highestModseq > box.highestModseq + 1);
    assert.deepEqual(await s.mailstore.changedSince(box.id, after.highestModseq), []);
  });

  it("a move that fails changes nothing (atomic)", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const b = await newAccount(s, "bob@example.com", 10);
    for (let i = 1; i <= 2; i++) await append(s, a.id, "INBOX", `message number ${i}`);
    const box = await mailbox(s, a.id);
    const bobs = await mailbox(s, b.id);
    await rejectsWith(s.mailstore.move(box.id, [1, 2], bobs.id), "OVER_QUOTA");
    assert.deepEqual(await mailbox(s, a.id), box);
    assert.deepEqual(await mailbox(s, b.id), bobs);
    assert.deepEqual(await s.mailstore.expungedSince(box.id, 0), []);
    await rejectsWith(s.mailstore.move(box.id, [1, 2], bobs.id + 1000), "NOT_FOUND");
    assert.deepEqual(await mailbox(s, a.id), box);
    // Across accounts with room, usage moves with the messages.
    await s.directory.updateAccount("bob@example.com", { quota: null });
    const size = box.size;
    await s.mailstore.move(box.id, [1, 2], bobs.id);
    assert.deepEqual([await used(s, a.id), await used(s, b.id)], [0, size]);
  });

  it("storeFlags on 10,000 messages and changedSince on them", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const n = 10_000;
    const b = blobOf("Subject: many\r\n\r\n");
    await s.mailstore.deliver(Array.from({ length: n }, (_, i) => localDelivery(`Q${i}`, 0, b, [a.id])));
    const box = await mailbox(s, a.id);
    assert.equal(box.messages, n);
    const uids = Array.from({ length: n }, (_, i) => i + 1);
    const r = await s.mailstore.storeFlags({ mailboxId: box.id, uids, op: "add", flags: ["\\Seen"], unchangedSince: box.highestModseq });
    assert.equal(r.updated.length, n);
    assert.deepEqual(r.modified, []);
    assert.ok(r.updated.every((u) => u.modseq === box.highestModseq + 1));
    const changed = await s.mailstore.changedSince(box.id, box.highestModseq);
    assert.equal(changed.length, n);
    assert.deepEqual(changed.map((m) => m.uid), uids);
    assert.equal((await mailbox(s, a.id)).unseen, 0);
    await assertCounters(s, a.id, "10,000 marked \\Seen");
    assert.deepEqual(await s.mailstore.expunge(box.id, uids), uids);
    assert.equal((await s.mailstore.expungedSince(box.id, box.highestModseq)).length, n);
    assert.deepEqual([(await mailbox(s, a.id)).messages, (await mailbox(s, a.id)).size], [0, 0]);
  });

  it("two nodes appending to one mailbox at once get distinct UIDs", async (s, be) => {
    const peer = await be.peer();
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.createMailbox(a.id, "Shared");
    const nodes: Store[] = [s, peer];
    const uids = await Promise.all(Array.from({ length: 40 }, (_, i) => append(nodes[i % 2]!, a.id, i % 4 < 2 ? "INBOX" : "Shared", `message ${i}`)));
    const inbox = uids.filter((_, i) => i % 4 < 2).sort((x, y) => x - y);
    const shared = uids.filter((_, i) => i % 4 >= 2).sort((x, y) => x - y);
    assert.deepEqual(inbox, Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(shared, Array.from({ length: 20 }, (_, i) => i + 1));
    const msgs = await s.mailstore.listMessages((await mailbox(s, a.id)).id);
    assert.equal(new Set(msgs.map((m) => m.modseq)).size, 20, "modseqs are distinct");
  });

  it("two nodes appending, delivering, storing, copying and expunging at once neither deadlock nor lose a UID", async (s, be) => {
    const peer = await be.peer();
    const a = await newAccount(s, "alice@example.com");
    const b = await newAccount(s, "bob@example.com");
    const archive = await s.mailstore.createMailbox(a.id, "Archive");
    for (let i = 0; i < 10; i++) await append(s, a.id, "INBOX", `seed ${i}`);
    const inbox = await mailbox(s, a.id);
    const nodes: Store[] = [s, peer];
    const work: Promise<unknown>[] = [];
    const modseqs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const n = nodes[i % 2]!;
      switch (i % 5) {
        case 0:
          work.push(append(n, a.id, "INBOX", `appended ${i}`));
          break;
        case 1:
          work.push(n.mailstore.deliver([localDelivery(`Q${i}`, 0, blobOf(`delivered ${i}`), [b.id, a.id])]));
          break;
        case 2:
          work.push(n.mailstore.storeFlags({ mailboxId: inbox.id, uids: Array.from({ length: 30 }, (_, k) => k + 1), op: "add", flags: [`$K${i}`] }).then((r) => modseqs.push(...new Set(r.updated.map((u) => u.modseq)))));
          break;
        case 3:
          work.push(n.mailstore.copy(inbox.id, [i % 10 + 1, 3], archive.id));
          break;
        default:
          work.push(n.mailstore.expunge(inbox.id, [i % 10 + 1]));
      }
    }
    await Promise.all(work);
    const box = await mailbox(s, a.id);
    const msgs = await s.mailstore.listMessages(box.id);
    assert.equal(box.uidNext, 10 + 4 + 4 + 1, "every append and delivery took its own UID");
    assert.equal(new Set(msgs.map((m) => m.uid)).size, msgs.length);
    assert.equal(modseqs.length, 4);
    assert.equal(new Set(modseqs).size, 4, "each STORE took its own modseq");
    for (const k of [2, 7, 12, 17]) assert.ok(msgs.some((m) => m.flags.includes(`$K${k}`)), `no STORE lost ($K${k})`);
    const arch = await s.mailstore.listMessages(archive.id);
    assert.equal((await s.mailstore.getMailboxById(archive.id))!.uidNext, arch.length + 1);
    const all = [...msgs, ...arch, ...(await s.mailstore.listMessages((await mailbox(s, b.id)).id))];
    assert.equal(await used(s, a.id) + (await used(s, b.id)), all.reduce((x, m) => x + m.size, 0));
    await assertCounters(s, [a.id, b.id], "after two nodes wrote at once");
  });

  it("two nodes creating one mailbox at once: one creates it, the other gets EXISTS", async (s, be) => {
    const peer = await be.peer();
    const a = await newAccount(s, "alice@example.com");
    const results = await Promise.allSettled([s, peer, s, peer].map((n) => n.mailstore.createMailbox(a.id, "x/y")));
    assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
    for (const r of results) if (r.status === "rejected") assert.ok(r.reason instanceof MailstoreError && r.reason.code === "EXISTS", String(r.reason));
    assert.deepEqual(await names(s, a.id), ["INBOX", "x", "x/y"]);
  });
}
