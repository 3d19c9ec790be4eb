/**
 * One message being received. Small messages are collected in memory and stored in the
 * queue row; past `inlineMax` octets the message streams to a spool file instead, so a
 * 50 MiB message never sits in memory.
 */
import { open, readFile, rename, type FileHandle } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { NewQueueMessage, NewQueueRecipient } from "../store/types.js";
import type { Spool } from "./spool.js";
import type { QueueVerdict } from "./verdict.js";

export interface IncomingEnvelope {
  sender: string;
  recipients: NewQueueRecipient[];
  /** MAIL parameters (JSON-serialisable). */
  mail: unknown;
}

export class IncomingMessage {
  private parts: Buffer[] = [];
  private file?: FileHandle;
  size = 0;
  private done = false;

  constructor(
    readonly id: string,
    private readonly envelope: IncomingEnvelope,
    private readonly spool: Spool,
    private readonly inlineMax: number,
    private readonly commitRow: (m: NewQueueMessage) => Promise<void>,
    private readonly now: () => number,
    /** Keep every body in the store's row, never in a spool file (PostgreSQL: shared by nodes). */
    private readonly bodiesInStore = false,
  ) {}

  async write(parts: readonly Buffer[]): Promise<void> {
    for (const p of parts) this.size += p.length;
    if (!this.file && this.size <= this.inlineMax) {
      this.parts.push(...parts);
      return;
    }
    if (!this.file) {
      const file = await this.spool.create(this.id);
      if (this.done) {
        // Aborted while the file was being created: close it and leave nothing behind.
        await file.close().catch(() => undefined);
        await this.spool.remove(this.id);
        return;
      }
      this.file = file;
      const pending = this.parts;
      this.parts = [];
      await writeAll(this.file, [...pending, ...parts]);
      return;
    }
    await writeAll(this.file, parts);
  }

  /**
   * Put octets before the message (header fields computed at end of data, e.g. DKIM-Signature);
   * call after the last write, before commit. A spooled message is copied once into a new file
   * that replaces the old one (a crash before commit leaves a file the start-up sweep removes).
   */
  async prepend(head: Buffer, drop = 0): Promise<void> {
    // `drop`: the first octets are replaced by `head` (a rewritten header block).
    if ((head.length === 0 && drop === 0) || this.done) return;
    this.size += head.length - drop;
    if (!this.file) {
      if (drop > 0) this.parts = [Buffer.concat(this.parts).subarray(drop)];
      this.parts.unshift(head);
      return;
    }
    const tmpId = `${this.id}-head`;
    const out = await this.spool.create(tmpId);
    try {
      await writeAll(out, [head]);
      const src = await open(this.spool.path(this.id), "r");
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        for (let pos = drop; ; ) {
          const { bytesRead } = await src.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) break;
          await writeAll(out, [buf.subarray(0, bytesRead)]);
          pos += bytesRead;
        }
      } finally {
        await src.close();
      }
      await rename(this.spool.path(tmpId), this.spool.path(this.id));
    } catch (e) {
      await out.close().catch(() => undefined);
      await this.spool.remove(tmpId);
      throw e;
    }
    await this.file.close().catch(() => undefined);
    this.file = out;
  }

  /**
   * The message as received so far (call after the last write): for end-of-data checks that
   * need all of it (the spam filter), read from the spool file or memory.
   */
  content(): Readable {
    if (this.file) return createReadStream(this.spool.path(this.id));
    return Readable.from(this.parts.slice(), { objectMode: false });
  }

  /** Make the message durable; resolves once its row is committed. `verdict` goes into the envelope. */
  async commit(session: unknown, verdict?: QueueVerdict): Promise<void> {
    let body: Buffer | null = null;
    let spoolUsed = false;
    if (this.file && this.bodiesInStore) {
      // Shared store (several nodes): the body goes into the database; the local file was only
      // a buffer while the message arrived.
      await this.file.close();
      this.file = undefined;
      body = await readFile(this.spool.path(this.id));
      spoolUsed = true;
    } else if (this.file) {
      await this.file.sync();
      await this.file.close();
      this.file = undefined;
      await this.spool.syncDir();
    } else {
      body = Buffer.concat(this.parts, this.size);
      this.parts = [];
    }
    await this.commitRow({
      id: this.id,
      createdAt: this.now(),
      sender: this.envelope.sender,
      size: this.size,
      envelope: verdict ? { mail: this.envelope.mail, session, verdict } : { mail: this.envelope.mail, session },
      body,
      recipients: this.envelope.recipients,
    });
    this.done = true;
    if (spoolUsed) await this.spool.remove(this.id);
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.parts = [];
    if (this.file) {
      await this.file.close().catch(() => undefined);
      this.file = undefined;
    }
    await this.spool.remove(this.id);
  }

  /** Whether the body went to a spool file (for tests and logs). */
  get spooled(): boolean {
    return this.file !== undefined;
  }
}

/** writev may write less than asked (e.g. near a full disk): finish the job or fail. */
async function writeAll(fh: FileHandle, parts: readonly Buffer[]): Promise<void> {
  let bufs = parts.slice();
  let total = bufs.reduce((n, b) => n + b.length, 0);
  while (total > 0) {
    const { bytesWritten } = await fh.writev(bufs);
    if (bytesWritten === 0) throw new Error("spool write made no progress");
    total -= bytesWritten;
    let skip = bytesWritten;
    while (skip > 0 && bufs.length) {
      const first = bufs[0]!;
      if (first.length <= skip) {
        skip -= first.length;
        bufs.shift();
      } else {
        bufs[0] = first.subarray(skip);
        skip = 0;
      }
    }
  }
}
