/**
 * A mailbox's status (messages, unseen, size) is kept in its row by every write that adds,
 * removes or re-flags messages: after each kind of write it equals a recount of the messages.
 */
import assert from "node:assert/strict";
import { blobOf, localDelivery, mailbox, newAccount, T0, type Case } from "./fixtures.js";
import { MailstoreError, type Mailbox, type Store } from "../../src/store/types.js";

/** \Seen, compared case-insensitively (RFC 9051 2.3.2). */
const seen = (flags: readonly string[]): boolean => flags.some((f) => f.toLowerCase() === "\\seen");

/** A mailbox's status recounted from its messages (listMessages). */
export async function recount(s: Store, mailboxId: number): Promise<{ messages: number; unseen: number; size: number }> {
  const msgs = await s.mailstore.listMessages(mailboxId);
  return { messages: msgs.length, unseen: msgs.filter((m) => !seen(m.flags)).length, size: msgs.reduce((n, m) => n + m.size, 0) };
}

const status = (b: Mailbox) => ({ messages: b.messages, unseen: b.unseen, size: b.size });

/**
 * Every mailbox of the accounts reports the status its messages give, the same through
 * listMailboxes, getMailbox and getMailboxById. Returns the mailboxes by name.
 */
export async function assertCounters(s: Store, accountIds: number | readonly number[], what: string): Promise<Map<string, Mailbox>> {
  const byName = new Map<string, Mailbox>();
  for (const accountId of typeof accountIds === "number" ? [accountIds] : accountIds) {
    for (const b of await s.mailstore.listMailboxes(accountId)) {
      assert.deepEqual(status(b), await recount(s, b.id), `${what}: status of ${b.name} (account ${accountId})`);
      assert.deepEqual(await s.mailstore.getMailbox(accountId, b.name), b, `${what}: getMailbox(${b.name})`);
      assert.deepEqual(await s.mailstore.getMailboxById(b.id), b, `${what}: getMailboxById(${b.name})`);
      byName.set(accountIds === accountId ? b.name : `${accountId}:${b.name}`, b);
    }
  }
  return byName;
}

async function rejectsWith(p: Promise<unknown>, code: MailstoreError["code"]): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof MailstoreError && e.code === code);
}

async function append(s: Store, accountId: number, box: string, text: string, flags: string[] = []): Promise<number> {
  return (await s.mailstore.append({ accountId, mailbox: box, internalDate: T0, flags, blob: blobOf(text) })).uid;
}

export function counterCases(it: Case): void {
  it("deliver counts messages, unseen and size; duplicates, over-quota and no-account copies change nothing", async (s) => {
    const b = blobOf("Subject: q\r\n\r\n0123456789\r\n");
    const each = b.size + Buffer.byteLength("Delivered-To: x\r\n");
    const alice = await newAccount(s, "alice@example.com", 3 * each);
    const bob = await newAccount(s, "bob@example.com");
    await assertCounters(s, [alice.id, bob.id], "new accounts");
    const d = (q: string, ids: number[], flags: string[] = [], box = "INBOX") => localDelivery(q, 0, b, ids, { prefix: "Delivered-To: x\r\n", flags, mailbox: box });
    // Delivery stores flags as given: \Seen in any case counts as seen.
    await s.mailstore.deliver([d("Q1", [alice.id, bob.id]), d("Q2", [alice.id], ["\\Seen"]), d("Q3", [bob.id], ["\\seen", "$x"]), d("Q4", [bob.id], ["\\Flagged"], "Junk")]);
    let boxes = await assertCounters(s, [alice.id, bob.id], "first batch");
    assert.deepEqual(status(boxes.get(`${alice.id}:INBOX`)!), { messages: 2, unseen: 1, size: 2 * each });
    assert.deepEqual(status(boxes.get(`${bob.id}:INBOX`)!), { messages: 2, unseen: 1, size: 2 * each });
    assert.deepEqual(status(boxes.get(`${bob.id}:Junk`)!), { messages: 1, unseen: 1, size: each }, "a mailbox created by delivery counts from its first message");
    const r = await s.mailstore.deliver([d("Q1", [alice.id]), d("Q5", [alice.id]), d("Q6", [alice.id]), d("Q6", [alice.id]), d("Q7", [alice.id + 1000])]);
    assert.deepEqual(r.map((x) => x.map((y) => y.status)), [["duplicate"], ["delivered"], ["over-quota"], ["over-quota"], ["no-account"]]);
    boxes = await assertCounters(s, alice.id, "duplicate, over-quota, no-account");
    assert.deepEqual(status(boxes.get("INBOX")!), { messages: 3, unseen: 2, size: 3 * each });
    const now = await s.mailstore.listMailboxes(alice.id);
    assert.deepEqual(await s.mailstore.deliver([d("Q5", [alice.id]), d("Q8", [alice.id])]), [[{ accountId: alice.id, status: "duplicate", uid: 3 }], [{ accountId: alice.id, status: "over-quota" }]]);
    assert.deepEqual(await s.mailstore.listMailboxes(alice.id), now, "a batch of only refusals changes no mailbox");
  });

  it("append counts the new message; a refused append changes nothing", async (s) => {
    const a = await newAccount(s, "alice@example.com", 1000);
    await s.mailstore.createMailbox(a.id, "Work");
    await append(s, a.id, "Work", "one");
    await append(s, a.id, "Work", "two", ["\\SEEN", "\\Flagged"]);
    await append(s, a.id, "inbox", "three", ["$Important"]);
    const boxes = await assertCounters(s, a.id, "appends");
    assert.deepEqual(status(boxes.get("Work")!), { messages: 2, unseen: 1, size: 6 });
    assert.deepEqual(status(boxes.get("INBOX")!), { messages: 1, unseen: 1, size: 5 });
    await rejectsWith(append(s, a.id, "Work", "y".repeat(2000)), "OVER_QUOTA");
    await rejectsWith(append(s, a.id, "Nothing", "z"), "NOT_FOUND");
    assert.deepEqual(await assertCounters(s, a.id, "refused appends"), boxes);
  });

  it("storeFlags: unseen changes only when \\Seen is added or removed, in any case, whatever the operation", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const flagSets = [[], ["\\Seen"], ["\\seen", "$a"], ["\\Flagged"], [], ["\\Seen", "\\Deleted"]];
    await s.mailstore.deliver(flagSets.map((flags, i) => localDelivery(`Q${i}`, 0, blobOf(`m${i}`), [a.id], { flags })));
    const id = (await mailbox(s, a.id)).id;
    const unseen = async () => (await assertCounters(s, a.id, "storeFlags")).get("INBOX")!.unseen;
    assert.equal(await unseen(), 3);
    const store = (uids: number[], op: "add" | "remove" | "replace", flags: string[], unchangedSince?: number) =>
      s.mailstore.storeFlags({ mailboxId: id, uids, op, flags, ...(unchangedSince === undefined ? {} : { unchangedSince }) });
    await store([1, 2, 3, 4], "add", ["$Other", "\\Answered"]);
    assert.equal(await unseen(), 3, "other flags added");
    await store([1, 2, 99], "add", ["\\SEEN"]);
    assert.equal(await unseen(), 2, "\\Seen added to one unseen and one seen message");
    await store([3], "add", ["\\Seen"]);
    assert.equal(await unseen(), 2, "\\Seen added where it was stored as \\seen");
    await store([2, 3, 4], "remove", ["\\seen"]);
    assert.equal(await unseen(), 4, "\\Seen removed from two seen messages and one unseen one");
    await store([1, 4], "remove", ["$Other"]);
    assert.equal(await unseen(), 4, "other flags removed");
    await store([1, 2, 3, 4, 5, 6], "replace", ["\\Flagged"]);
    assert.equal(await unseen(), 6, "replaced without \\Seen");
    await store([1, 2, 3], "replace", ["\\Seen", "$k"]);
    assert.equal(await unseen(), 3, "replaced with \\Seen");
    await store([1, 2, 3], "replace", ["\\seen", "$k"]);
    assert.equal(await unseen(), 3, "the same flags again");
    await store([], "add", ["\\Seen"]);
    assert.equal(await unseen(), 3, "no UIDs");
    // UNCHANGEDSINCE: the refused messages keep their flags, and the count follows what changed.
    const [m4] = await s.mailstore.getMessages(id, [4]);
    await store([4], "add", ["$bump"]);
    const r = await store([4, 5, 6], "add", ["\\Seen"], m4!.modseq);
    assert.deepEqual(r.modified, [4]);
    assert.deepEqual(r.updated.map((u) => u.uid), [5, 6]);
    assert.equal(await unseen(), 1, "only the messages not refused were marked \\Seen");
    const all = await s.mailstore.getMessages(id, [1, 2, 3, 4, 5, 6]);
    const refused = await store([1, 2, 3, 4, 5, 6], "remove", ["\\Seen"], Math.min(...all.map((m) => m.modseq)) - 1);
    assert.deepEqual(refused, { updated: [], modified: [1, 2, 3, 4, 5, 6] });
    assert.equal(await unseen(), 1, "every message refused: nothing changes");
  });

  it("copy and move count in both mailboxes, across accounts too; a refused copy or move changes nothing", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    const b = await newAccount(s, "bob@example.com", 100);
    await s.mailstore.createMailbox(a.id, "Archive");
    await s.mailstore.deliver([0, 1, 2, 3, 4].map((i) => localDelivery(`Q${i}`, 0, blobOf(`message ${i}`), [a.id], { flags: i % 2 ? ["\\Seen"] : [] })));
    let boxes = await assertCounters(s, a.id, "delivered");
    const inbox = boxes.get("INBOX")!.id;
    const archive = boxes.get("Archive")!.id;
    const bobInbox = (await mailbox(s, b.id)).id;

    await s.mailstore.copy(inbox, [1, 2, 2, 77], archive);
    boxes = await assertCounters(s, a.id, "copy");
    assert.deepEqual(status(boxes.get("Archive")!), { messages: 2, unseen: 1, size: boxes.get("Archive")!.size });
    assert.equal(boxes.get("INBOX")!.messages, 5);
    await s.mailstore.copy(inbox, [3], inbox);
    assert.equal((await assertCounters(s, a.id, "copy into the same mailbox")).get("INBOX")!.messages, 6);

    await s.mailstore.move(inbox, [4, 5], archive);
    boxes = await assertCounters(s, a.id, "move");
    assert.deepEqual([boxes.get("INBOX")!.messages, boxes.get("Archive")!.messages], [4, 4]);
    await s.mailstore.move(archive, [1, 2], archive);
    boxes = await assertCounters(s, a.id, "move within one mailbox");
    assert.equal(boxes.get("Archive")!.messages, 4);

    await s.mailstore.copy(inbox, [1], bobInbox);
    await s.mailstore.move(inbox, [2], bobInbox);
    await assertCounters(s, [a.id, b.id], "copy and move to another account");
    assert.equal((await mailbox(s, b.id)).messages, 2);

    const big = await append(s, a.id, "INBOX", "x".repeat(200));
    const before = await assertCounters(s, [a.id, b.id], "before refusals");
    await rejectsWith(s.mailstore.copy(inbox, [big], bobInbox), "OVER_QUOTA");
    await rejectsWith(s.mailstore.move(inbox, [3, big], bobInbox), "OVER_QUOTA");
    await rejectsWith(s.mailstore.copy(inbox, [3], bobInbox + 1000), "NOT_FOUND");
    await s.mailstore.copy(inbox, [999], archive);
    await s.mailstore.move(inbox, [], archive);
    assert.deepEqual(await assertCounters(s, [a.id, b.id], "after refusals"), before);
  });

  it("expunge (IMAP, POP3) takes the messages out of the count", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.deliver([0, 1, 2, 3, 4, 5].map((i) => localDelivery(`Q${i}`, 0, blobOf(`message ${i}`), [a.id], { flags: i < 2 ? ["\\Seen", "\\Deleted"] : [] })));
    const id = (await mailbox(s, a.id)).id;
    // IMAP EXPUNGE: the \Deleted messages.
    assert.deepEqual(await s.mailstore.expunge(id, [1, 2]), [1, 2]);
    assert.deepEqual(status((await assertCounters(s, a.id, "IMAP expunge")).get("INBOX")!), await recount(s, id));
    assert.equal((await mailbox(s, a.id)).unseen, 4);
    // POP3 QUIT: the messages marked DELE, given in any order, repeats and gone ones included.
    assert.deepEqual(await s.mailstore.expunge(id, [6, 3, 3, 1, 42]), [3, 6]);
    assert.deepEqual(status((await assertCounters(s, a.id, "POP3 expunge")).get("INBOX")!), { messages: 2, unseen: 2, size: (await recount(s, id)).size });
    assert.deepEqual(await s.mailstore.expunge(id, [1, 2, 3]), []);
    await s.mailstore.expunge(id, [4, 5]);
    assert.deepEqual(status((await assertCounters(s, a.id, "all expunged")).get("INBOX")!), { messages: 0, unseen: 0, size: 0 });
  });

  it("deleting, renaming and re-creating mailboxes keep every mailbox's status right", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.createMailbox(a.id, "a/b");
    await append(s, a.id, "a", "in a", ["\\Seen"]);
    await append(s, a.id, "a/b", "in a/b");
    await append(s, a.id, "a/b", "in a/b again", ["\\Seen"]);
    await assertCounters(s, a.id, "filled");
    await s.mailstore.renameMailbox(a.id, "a", "x/y");
    let boxes = await assertCounters(s, a.id, "renamed with an inferior");
    assert.deepEqual([boxes.get("x")!.messages, boxes.get("x/y")!.messages, boxes.get("x/y/b")!.messages], [0, 1, 2]);
    await s.mailstore.deleteMailbox(a.id, "x/y");
    boxes = await assertCounters(s, a.id, "deleted, the inferior kept");
    assert.equal(boxes.get("x/y/b")!.messages, 2);
    await s.mailstore.createMailbox(a.id, "x/y");
    boxes = await assertCounters(s, a.id, "created again");
    assert.deepEqual(status(boxes.get("x/y")!), { messages: 0, unseen: 0, size: 0 });
  });

  it("renaming INBOX gives its count to the new mailbox and leaves INBOX at zero", async (s) => {
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.renameMailbox(a.id, "INBOX", "Empty");
    assert.equal((await assertCounters(s, a.id, "empty INBOX renamed")).get("Empty")!.messages, 0);
    await s.mailstore.deliver([1, 2, 3].map((i) => localDelivery(`Q${i}`, 0, blobOf(`m${i}`), [a.id], { flags: i === 2 ? ["\\SEEN"] : [] })));
    await append(s, a.id, "INBOX", "appended", ["\\Seen"]);
    const inbox = (await assertCounters(s, a.id, "filled")).get("INBOX")!;
    await s.mailstore.renameMailbox(a.id, "inbox", "Old/Mail");
    const boxes = await assertCounters(s, a.id, "INBOX renamed");
    assert.deepEqual(status(boxes.get("Old/Mail")!), status(inbox));
    assert.deepEqual(status(boxes.get("INBOX")!), { messages: 0, unseen: 0, size: 0 });
    assert.deepEqual(status(boxes.get("Old")!), { messages: 0, unseen: 0, size: 0 });
    await s.mailstore.deliver([localDelivery("Q9", 0, blobOf("after"), [a.id])]);
    assert.deepEqual(status((await assertCounters(s, a.id, "delivered after")).get("INBOX")!), { messages: 1, unseen: 1, size: (await recount(s, inbox.id)).size });
  });

  it("concurrent writers on several nodes keep the status right", async (s, be) => {
    const peer = await be.peer();
    const a = await newAccount(s, "alice@example.com");
    await s.mailstore.createMailbox(a.id, "Other");
    const inbox = (await mailbox(s, a.id)).id;
    const other = (await mailbox(s, a.id, "Other")).id;
    const nodes = [s, peer];
    // Each node delivers and appends while the other re-flags, expunges, copies and moves.
    const rounds = 12;
    const work = nodes.map(async (n, k) => {
      for (let i = 0; i < rounds; i++) {
        await n.mailstore.deliver([localDelivery(`N${k}-${i}`, 0, blobOf(`node ${k} message ${i}`), [a.id], { flags: i % 3 === 0 ? ["\\Seen"] : [] })]);
        await n.mailstore.append({ accountId: a.id, mailbox: i % 2 ? "Other" : "INBOX", internalDate: T0, flags: i % 2 ? ["\\Seen"] : [], blob: blobOf(`node ${k} append ${i}`) });
        const uids = (await n.mailstore.listMessages(inbox)).map((m) => m.uid);
        if (uids.length === 0) continue;
        const pick = uids.filter((_, j) => j % 2 === (k + i) % 2);
        await n.mailstore.storeFlags({ mailboxId: inbox, uids: pick, op: i % 2 ? "remove" : "add", flags: ["\\Seen"] });
        if (i % 4 === 1) await n.mailstore.expunge(inbox, pick.slice(0, 2));
        if (i % 4 === 2) await n.mailstore.copy(inbox, pick.slice(0, 2), other);
        if (i % 4 === 3) await n.mailstore.move(inbox, pick.slice(0, 2), other);
        if (i % 4 === 0) await n.mailstore.move(other, (await n.mailstore.listMessages(other)).slice(0, 1).map((m) => m.uid), inbox);
      }
    });
    await Promise.all(work);
    const boxes = await assertCounters(s, a.id, "after concurrent writers");
    assert.deepEqual(await assertCounters(peer, a.id, "seen by the other node"), boxes);
    assert.ok(boxes.get("INBOX")!.messages + boxes.get("Other")!.messages > 0);
  });
}
