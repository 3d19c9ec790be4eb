/**
 * Queue administration writes (`petrel queue hold|release|retry|delete|bounce`). The CLI runs
 * them in its own process while the server runs: each is one short transaction, and the
 * server's scheduler sees the result at its next look at the queue.
 */
import type { Db } from "./database.js";
import type { BounceResult, NewQueueMessage } from "../types.js";

export function queueAdminWriteOps(db: Db, insertOne: (m: NewQueueMessage) => void) {
  const s = {
    held: db.prepare("UPDATE queue_messages SET held = ? WHERE id = ?"),
    retryOne: db.prepare("UPDATE queue_recipients SET next_attempt_at = min(next_attempt_at, ?) WHERE message_id = ? AND state IN ('queued', 'deferred')"),
    retryAll: db.prepare("UPDATE queue_recipients SET next_attempt_at = min(next_attempt_at, ?) WHERE state IN ('queued', 'deferred')"),
    spooled: db.prepare("SELECT spooled FROM queue_messages WHERE id = ?").pluck(),
    remove: db.prepare("DELETE FROM queue_messages WHERE id = ?"),
    state: db.prepare("SELECT state FROM queue_recipients WHERE message_id = ? AND idx = ?").pluck(),
    fail: db.prepare("UPDATE queue_recipients SET state = 'failed', last_reply = ?, next_attempt_at = ?, lease_until = NULL, lease_node = NULL WHERE message_id = ? AND idx = ?"),
    pending: db.prepare("SELECT count(*) FROM queue_recipients WHERE message_id = ? AND state IN ('queued', 'deferred', 'inflight')").pluck(),
  };

  const retryNow = db.transaction((id: string | null, now: number): number => (id === null ? s.retryAll.run(now) : s.retryOne.run(now, id)).changes);

  const remove = db.transaction((id: string): { spooled: boolean } | null => {
    const spooled = s.spooled.get(id) as number | undefined;
    if (spooled === undefined) return null;
    s.remove.run(id);
    return { spooled: spooled === 1 };
  });

  const bounce = db.transaction((id: string, idxs: readonly number[], reply: string, now: number, notices: readonly NewQueueMessage[]): BounceResult => {
    if (s.spooled.get(id) === undefined) return { status: "unknown", deleted: false };
    for (const idx of idxs) {
      const state = s.state.get(id, idx) as string | undefined;
      if (state !== "queued" && state !== "deferred") return { status: "changed", deleted: false };
    }
    for (const idx of idxs) s.fail.run(reply, now, id, idx);
    for (const n of notices) insertOne(n);
    const deleted = (s.pending.get(id) as number) === 0 && s.remove.run(id).changes > 0;
    return { status: "bounced", deleted };
  });

  return {
    setHeld: (id: string, held: boolean) => s.held.run(held ? 1 : 0, id).changes > 0,
    retryNow: (id: string | null, now: number) => retryNow.immediate(id, now),
    removeMessage: (id: string) => remove.immediate(id),
    bounce: (id: string, idxs: readonly number[], reply: string, now: number, notices: readonly NewQueueMessage[]) => bounce.immediate(id, idxs, reply, now, notices),
  };
}
