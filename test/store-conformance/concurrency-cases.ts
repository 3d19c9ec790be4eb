/**
 * Two stores on the same data, as two Petrel nodes: leases never overlap, UIDs never collide,
 * a recipient is delivered once.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { blobOf, localDelivery, mailbox, newAccount, newMessage, T0, type Case } from "./fixtures.js";
import type { DueRecipient, QueueScheduling, Store } from "../../src/store/types.js";

/** Claims in small batches until nothing is due. */
async function drain(q: QueueScheduling, node: string, now: number, leaseUntil: number): Promise<DueRecipient[]> {
  const got: DueRecipient[] = [];
  for (;;) {
    const batch = await q.claimDue(now, 7, leaseUntil, node);
    if (batch.length === 0) return got;
    got.push(...batch);
  }
}

function assertEachOnce(claims: readonly DueRecipient[], expected: number): void {
  const keys = claims.map((r) => `${r.messageId}/${r.idx}`);
  const seen = new Set<string>();
  const twice = keys.filter((k) => seen.size === seen.add(k).size);
  assert.deepEqual(twice, [], "leased twice");
  assert.equal(seen.size, expected);
}

export function concurrencyCases(it: Case): void {
  it("a second node sees the first node's writes", async (s, b) => {
    const a = await newAccount(s, "alice@example.com");
    await s.queue.insert([newMessage("Q1", ["alice@example.com"])]);
    const peer = await b.peer();
    assert.deepEqual(await peer.directory.getAccount("alice@example.com"), a);
    assert.deepEqual(await peer.queue.get("Q1"), await s.queue.get("Q1"));
    await peer.mailstore.deliver([localDelivery("Q1", 0, blobOf("hi"), [a.id])]);
    assert.equal((await mailbox(s, a.id)).messages, 1);
  });

  it("two nodes claiming at once never lease one recipient twice", async (s, b) => {
    const peer = await b.peer();
    const messages = Array.from({ length: 30 }, (_, i) => newMessage(`Q${String(i).padStart(2, "0")}`, ["a@x.example", "b@x.example", "c@x.example", "d@x.example"], { createdAt: T0 + (i % 5) }));
    await s.queue.insert(messages);
    const [one, two] = await Promise.all([drain(s.queue, "n1", T0 + 10, T0 + 1000), drain(peer.queue, "n2", T0 + 10, T0 + 1000)]);
    assertEachOnce([...one, ...two], 120);
    // Both nodes "crash"; after the leases expire, both take the work over at once.
    const [three, four] = await Promise.all([drain(s.queue, "n1", T0 + 1001, T0 + 5000), drain(peer.queue, "n2", T0 + 1001, T0 + 5000)]);
    assertEachOnce([...three, ...four], 120);
  });

  it("two nodes delivering to one mailbox at once get distinct consecutive UIDs", async (s, b) => {
    const peer = await b.peer();
    const a = await newAccount(s, "alice@example.com");
    const nodes: Store[] = [s, peer];
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => nodes[i % 2]!.mailstore.deliver([localDelivery(`Q${i}`, 0, blobOf(`message ${i}`), [a.id])])));
    const uids = results.map((r) => {
      const item = r[0]![0]!;
      assert.equal(item.status, "delivered");
      return item.status === "delivered" ? item.uid! : 0;
    });
    assert.deepEqual([...uids].sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i + 1));
    const box = await mailbox(s, a.id);
    const msgs = await s.mailstore.listMessages(box.id);
    assert.deepEqual(msgs.map((m) => m.uid), Array.from({ length: 40 }, (_, i) => i + 1));
    assert.equal(new Set(msgs.map((m) => m.modseq)).size, 40, "modseqs are distinct");
    assert.equal(box.uidNext, 41);
    assert.equal((await s.directory.getAccountById(a.id))!.usedBytes, box.size);
  });

  it("one recipient delivered by two nodes at once is stored once", async (s, b) => {
    const peer = await b.peer();
    const a = await newAccount(s, "alice@example.com");
    for (let i = 0; i < 10; i++) {
      // The second node retries the same recipient, or delivers another one that leads here.
      const [x, y] = await Promise.all([s.mailstore.deliver([localDelivery(`Q${i}`, 0, blobOf(`retry ${i}`), [a.id])]), peer.mailstore.deliver([localDelivery(`Q${i}`, i % 2, blobOf(`retry ${i}`), [a.id])])]);
      const pair = [x[0]![0]!, y[0]![0]!];
      assert.deepEqual(pair.map((r) => r.status).sort(), ["delivered", "duplicate"], JSON.stringify(pair));
      assert.equal("uid" in pair[0]! && pair[0].uid, "uid" in pair[1]! && pair[1].uid, "the duplicate names the delivered UID");
    }
    assert.equal((await mailbox(s, a.id)).messages, 10);
  });

  it("the same large content delivered at once by two nodes, and twice by one", async (s, b) => {
    const peer = await b.peer();
    const a = await newAccount(s, "alice@example.com");
    const blob = blobOf(randomBytes(200_000));
    const results = await Promise.all([s, peer, s, peer].map((n, i) => n.mailstore.deliver([localDelivery(`Q${i}`, 0, blob, [a.id])])));
    assert.deepEqual(results.map((r) => r[0]![0]!.status), ["delivered", "delivered", "delivered", "delivered"]);
    assert.deepEqual(await s.mailstore.blob(blob.id), blob.data);
    assert.deepEqual(await peer.mailstore.blob(blob.id), blob.data);
    assert.equal(await b.blobRows(blob.id), 1);
  });
}
