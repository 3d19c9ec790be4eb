/**
 * The durable queue: accepts messages (group commit of the rows, spool files for large
 * bodies), reads them back, and cleans the spool at start-up. Delivery comes later and
 * consumes recipients from here.
 */
import { newQueueId } from "../core/queue-id.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { NewQueueMessage, QueueStore } from "../store/types.js";
import { Batcher } from "../core/batcher.js";
import { IncomingMessage, type IncomingEnvelope } from "./incoming.js";
import { Spool } from "./spool.js";
import { readFile } from "node:fs/promises";

export interface QueueOptions {
  spoolDir: string;
  /** Messages up to this size are stored in the database row; larger ones in spool files. */
  inlineMax: number;
  /** Every body in the database (a store shared by several nodes has no common spool). */
  bodiesInStore?: boolean;
}

export class Queue {
  private readonly spool: Spool;
  private readonly committer: Batcher<NewQueueMessage>;

  constructor(
    private readonly store: QueueStore,
    private readonly opts: QueueOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.spool = new Spool(opts.spoolDir);
    this.committer = new Batcher<NewQueueMessage>(async (batch) => {
      await this.store.insert(batch);
      return batch.map(() => undefined);
    });
  }

  /** Create the spool and remove files left by messages that were never committed. */
  async start(): Promise<void> {
    await this.spool.init();
    const ids = await this.spool.ids();
    if (ids.length === 0) return;
    const kept = await this.store.existing(ids);
    const orphans = ids.filter((id) => !kept.has(id));
    for (const id of orphans) await this.spool.remove(id);
    if (orphans.length) this.log.info({ event: "spool-sweep", removed: orphans.length }, "removed uncommitted spool files");
  }

  receive(envelope: IncomingEnvelope): IncomingMessage {
    const id = newQueueId(this.clock.now());
    return new IncomingMessage(id, envelope, this.spool, this.opts.inlineMax, (m) => this.committer.add(m), () => this.clock.now(), this.opts.bodiesInStore);
  }

  /** Queue a message made inside Petrel (forwarding to remote alias targets, later DSNs). */
  async submit(sender: string, recipients: string[], body: Buffer, mail: unknown, session: unknown): Promise<string> {
    const m = this.receive({ sender, recipients: recipients.map((address) => ({ address, dsn: {} })), mail });
    await fill(m, body, session);
    return m.id;
  }

  /**
   * Make a message made inside Petrel (a DSN) ready to be queued, without committing its row:
   * the body is in the returned row, or in a spool file already fsynced. The caller commits the
   * row in its own transaction (the scheduler, with the outcome that caused it), or calls
   * discard() when that transaction fails; a crash in between leaves a spool file that the
   * start-up sweep removes.
   */
  async prepare(sender: string, recipients: string[], body: Buffer, mail: unknown, session: unknown): Promise<NewQueueMessage> {
    let row: NewQueueMessage | undefined;
    const id = newQueueId(this.clock.now());
    const m = new IncomingMessage(id, { sender, recipients: recipients.map((address) => ({ address, dsn: {} })), mail }, this.spool, this.opts.inlineMax, async (r) => void (row = r), () => this.clock.now(), this.opts.bodiesInStore);
    await fill(m, body, session);
    return row!;
  }

  /** Forget prepared messages whose rows were not committed. */
  async discard(messages: readonly NewQueueMessage[]): Promise<void> {
    for (const m of messages) if (m.body === null) await this.spool.remove(m.id).catch(() => undefined);
  }

  /** The stored message, from its row or its spool file. */
  async body(id: string): Promise<Buffer | null> {
    const inline = await this.store.inlineBody(id);
    if (inline) return inline;
    const entry = await this.store.get(id);
    if (!entry?.spooled) return null;
    return readFile(this.spool.path(id));
  }

  /** Remove the spool file of a message that has left the queue. */
  removeSpool(id: string): Promise<void> {
    return this.spool.remove(id);
  }

  /** Wait for commits in flight (graceful shutdown). */
  drained(): Promise<void> {
    return this.committer.drained();
  }
}

/** A whole message made inside Petrel, written and committed at once; nothing is left behind on failure. */
async function fill(m: IncomingMessage, body: Buffer, session: unknown): Promise<void> {
  try {
    await m.write([body]);
    await m.commit(session);
  } catch (e) {
    await m.abort();
    throw e;
  }
}
