/** Local delivery into mailboxes: UIDs, modseqs, shared blobs, idempotency, quota. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { blobOf, localDelivery, mailbox, newAccount, T0, type Case } from "./fixtures.js";

export function mailstoreCases(it: Case): void {
  it("deliver stores messages in INBOX with increasing UIDs and modseqs", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const before = await mailbox(s, a.id);
    const blobs = ["one", "two", "three"].map((t) => blobOf(`Subject: ${t}\r\n\r\n${t}\r\n`));
    const r1 = await s.mailstore.deliver([localDelivery("Q1", 0, blobs[0]!, [a.id], { internalDate: T0 + 1 }), localDelivery("Q2", 0, blobs[1]!, [a.id], { internalDate: T0 + 2 })]);
    assert.deepEqual(r1, [[{ accountId: a.id, status: "delivered", uid: 1 }], [{ accountId: a.id, status: "delivered", uid: 2 }]]);
    const r2 = await s.mailstore.deliver([localDelivery("Q3", 0, blobs[2]!, [a.id], { internalDate: T0 + 3, prefix: "Return-Path: <x@remote.example>\r\n" })]);
    assert.deepEqual(r2, [[{ accountId: a.id, status: "delivered", uid: 3 }]]);
    const msgs = await s.mailstore.listMessages(before.id);
    assert.deepEqual(msgs.map((m) => m.uid), [1, 2, 3]);
    assert.ok(msgs[0]!.modseq > before.highestModseq && msgs[0]!.modseq < msgs[1]!.modseq && msgs[1]!.modseq < msgs[2]!.modseq, `modseqs ${msgs.map((m) => m.modseq)}`);
    const prefix = Buffer.from("Return-Path: <x@remote.example>\r\n");
    assert.deepEqual(msgs[2], { mailboxId: before.id, uid: 3, modseq: msgs[2]!.modseq, flags: [], internalDate: T0 + 3, size: blobs[2]!.size + prefix.length, blobId: blobs[2]!.id, prefix });
    const after = await mailbox(s, a.id);
    assert.equal(after.uidValidity, before.uidValidity);
    assert.equal(after.uidNext, 4);
    assert.equal(after.highestModseq, msgs[2]!.modseq);
    assert.equal(after.messages, 3);
    const total = msgs.reduce((n, m) => n + m.size, 0);
    assert.equal(after.size, total);
    assert.equal((await s.directory.getAccount("alice@example.com"))?.usedBytes, total, "usedBytes counts every copy with its prefix");
  });

  it("expunge removes messages, lowers usage, raises HIGHESTMODSEQ; UIDs are never reused", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const box = await mailbox(s, a.id);
    const blobs = ["one", "two", "three"].map((t) => blobOf(`Subject: ${t}\r\n\r\n${t}\r\n`));
    await s.mailstore.deliver(blobs.map((b, i) => localDelivery(`Q${i}`, 0, b, [a.id])));
    const before = await mailbox(s, a.id);
    assert.deepEqual(await s.mailstore.expunge(box.id, [1, 3, 7]), [1, 3], "only the UIDs that existed");
    assert.deepEqual((await s.mailstore.listMessages(box.id)).map((m) => m.uid), [2]);
    const after = await mailbox(s, a.id);
    assert.ok(after.highestModseq > before.highestModseq, "HIGHESTMODSEQ rises");
    assert.equal(after.messages, 1);
    const [left] = await s.mailstore.listMessages(box.id);
    assert.equal((await s.directory.getAccount("alice@example.com"))?.usedBytes, left!.size);
    assert.deepEqual(await s.mailstore.expunge(box.id, [1, 3]), [], "expunging again removes nothing");
    await s.mailstore.deliver([localDelivery("Q9", 0, blobOf("Subject: new\r\n\r\nnew\r\n"), [a.id])]);
    assert.deepEqual((await s.mailstore.listMessages(box.id)).map((m) => m.uid), [2, 4], "UIDNEXT is not rolled back");
  });

  it("blob and parsed return what was delivered", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const parsed = { headers: [["Subject", "Grüße"]], parts: [{ type: "text/plain", offset: 0, size: 5 }], n: null };
    const b = blobOf(Buffer.concat([Buffer.from("Subject: x\r\n\r\n"), Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a])]), parsed);
    await s.mailstore.deliver([localDelivery("Q1", 0, b, [a.id])]);
    assert.deepEqual(await s.mailstore.blob(b.id), b.data);
    assert.deepEqual(await s.mailstore.parsed(b.id), parsed);
    assert.equal(await s.mailstore.blob("0".repeat(64)), null);
    assert.equal(await s.mailstore.parsed("0".repeat(64)), null);
  });

  it("a large blob round-trips", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const b = blobOf(randomBytes(300_000));
    assert.deepEqual(await s.mailstore.deliver([localDelivery("Q1", 0, b, [a.id])]), [[{ accountId: a.id, status: "delivered", uid: 1 }]]);
    assert.deepEqual(await s.mailstore.blob(b.id), b.data);
    const [m] = await s.mailstore.listMessages((await mailbox(s, a.id)).id);
    assert.equal(m!.size, 300_000 + m!.prefix.length);
  });

  it("a blob shared by two accounts is stored once", async (s, be) => {
    const alice = await newAccount(s, "alice@example.com");
    const bob = await newAccount(s, "bob@example.com");
    const b = blobOf("Subject: for both\r\n\r\nhi\r\n");
    const r = await s.mailstore.deliver([localDelivery("Q1", 0, b, [alice.id, bob.id])]);
    assert.deepEqual(r, [[{ accountId: alice.id, status: "delivered", uid: 1 }, { accountId: bob.id, status: "delivered", uid: 1 }]]);
    await s.mailstore.deliver([localDelivery("Q2", 0, b, [alice.id])]);
    const ofAlice = await s.mailstore.listMessages((await mailbox(s, alice.id)).id);
    const ofBob = await s.mailstore.listMessages((await mailbox(s, bob.id)).id);
    assert.deepEqual([...ofAlice, ...ofBob].map((m) => m.blobId), [b.id, b.id, b.id]);
    assert.equal(await be.blobRows(b.id), 1);
    assert.deepEqual(await s.mailstore.blob(b.id), b.data);
  });

  it("an account gets one copy of a queued message: a repeat is a duplicate with the same UID", async (s) => {
    const alice = await newAccount(s, "alice@example.com");
    const bob = await newAccount(s, "bob@example.com");
    const b = blobOf("Subject: once\r\n\r\n");
    await s.mailstore.deliver([localDelivery("Q1", 0, b, [alice.id])]);
    const box = await mailbox(s, alice.id);
    const used = (await s.directory.getAccountById(alice.id))!.usedBytes;
    assert.deepEqual(await s.mailstore.deliver([localDelivery("Q1", 0, b, [alice.id])]), [[{ accountId: alice.id, status: "duplicate", uid: 1 }]]);
    assert.deepEqual(await mailbox(s, alice.id), box, "no message, UID or modseq added");
    assert.equal((await s.directory.getAccountById(alice.id))!.usedBytes, used);
    assert.deepEqual(await s.mailstore.deliver([localDelivery("Q1", 1, b, [alice.id])]), [[{ accountId: alice.id, status: "duplicate", uid: 1 }]], "another recipient (an alias) of the same message");
    assert.deepEqual(await s.mailstore.deliver([localDelivery("Q2", 0, b, [alice.id])]), [[{ accountId: alice.id, status: "delivered", uid: 2 }]], "another message");
    assert.deepEqual(await s.mailstore.deliver([localDelivery("Q3", 0, b, [alice.id]), localDelivery("Q3", 1, b, [alice.id]), localDelivery("Q3", 0, b, [alice.id])]), [[{ accountId: alice.id, status: "delivered", uid: 3 }], [{ accountId: alice.id, status: "duplicate", uid: 3 }], [{ accountId: alice.id, status: "duplicate", uid: 3 }]], "within one batch");
    assert.deepEqual(await s.mailstore.deliver([localDelivery("Q1", 0, b, [alice.id, bob.id])]), [[{ accountId: alice.id, status: "duplicate", uid: 1 }, { accountId: bob.id, status: "delivered", uid: 1 }]], "per account");
    assert.equal((await mailbox(s, alice.id)).messages, 3);
  });

  it("a copy that would exceed the quota is over-quota; nothing of it is stored", async (s) => {
    const b = blobOf("Subject: q\r\n\r\n0123456789\r\n");
    const size = b.size + Buffer.byteLength("Delivered-To: 1\r\n");
    const alice = await newAccount(s, "alice@example.com", 2 * size);
    const bob = await newAccount(s, "bob@example.com");
    const d = (q: string, ids: number[]) => localDelivery(q, 0, b, ids, { prefix: "Delivered-To: 1\r\n" });
    assert.deepEqual(await s.mailstore.deliver([d("Q1", [alice.id]), d("Q2", [alice.id])]), [[{ accountId: alice.id, status: "delivered", uid: 1 }], [{ accountId: alice.id, status: "delivered", uid: 2 }]], "up to the quota exactly");
    assert.deepEqual(await s.mailstore.deliver([d("Q3", [alice.id, bob.id])]), [[{ accountId: alice.id, status: "over-quota" }, { accountId: bob.id, status: "delivered", uid: 1 }]]);
    const box = await mailbox(s, alice.id);
    assert.equal(box.messages, 2);
    assert.equal(box.uidNext, 3);
    assert.equal((await s.directory.getAccountById(alice.id))!.usedBytes, 2 * size);
    assert.deepEqual(await s.mailstore.deliver([d("Q1", [alice.id])]), [[{ accountId: alice.id, status: "duplicate", uid: 1 }]], "a duplicate is not over quota");
    await s.directory.updateAccount("alice@example.com", { quota: 3 * size });
    assert.deepEqual(await s.mailstore.deliver([d("Q3", [alice.id])]), [[{ accountId: alice.id, status: "delivered", uid: 3 }]], "an over-quota copy was not recorded as delivered");
  });

  it("a missing account is no-account", async (s) => {
    const alice = await newAccount(s, "alice@example.com");
    const gone = alice.id + 1000;
    assert.deepEqual(await s.mailstore.deliver([localDelivery("Q1", 0, blobOf("x"), [gone, alice.id])]), [[{ accountId: gone, status: "no-account" }, { accountId: alice.id, status: "delivered", uid: 1 }]]);
    assert.deepEqual(await s.mailstore.listMailboxes(gone), []);
  });

  it("a special-use mailbox is created on first use", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const junk = (q: string) => localDelivery(q, 0, blobOf(`spam ${q}`), [a.id], { mailbox: "Junk", specialUse: "\\Junk" });
    assert.deepEqual(await s.mailstore.deliver([junk("Q1")]), [[{ accountId: a.id, status: "delivered", uid: 1 }]]);
    assert.deepEqual(await s.mailstore.deliver([junk("Q2")]), [[{ accountId: a.id, status: "delivered", uid: 2 }]]);
    const boxes = await s.mailstore.listMailboxes(a.id);
    assert.deepEqual(boxes.map((b) => [b.name, b.specialUse, b.messages, b.uidNext]), [["INBOX", null, 0, 1], ["Junk", "\\Junk", 2, 3]]);
    const j = boxes[1]!;
    assert.ok(j.uidValidity > 0);
    assert.equal(j.subscribed, true);
    assert.deepEqual((await s.mailstore.listMessages(j.id)).map((m) => m.uid), [1, 2]);
  });

  it("listMailboxes counts messages, unseen messages and size; flags are kept", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const flagSets = [["\\Seen"], [], ["\\Flagged", "\\Seen"], ["$Label1"]];
    await s.mailstore.deliver(flagSets.map((flags, i) => localDelivery(`Q${i}`, 0, blobOf(`m${i}`.repeat(i + 1)), [a.id], { flags })));
    const box = await mailbox(s, a.id);
    const msgs = await s.mailstore.listMessages(box.id);
    assert.deepEqual(msgs.map((m) => m.flags), flagSets);
    assert.equal(box.messages, 4);
    assert.equal(box.unseen, 2);
    assert.equal(box.size, msgs.reduce((n, m) => n + m.size, 0));
    assert.deepEqual(await s.mailstore.listMailboxes(a.id), [box]);
    assert.deepEqual(await s.mailstore.listMessages(box.id + 1000), []);
  });
}
