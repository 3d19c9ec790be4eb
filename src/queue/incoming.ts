/**
 * One message being received. Small messages are collected in memory and stored in the
 * queue row; past `inlineMax` octets the message streams to a spool file instead, so a
 * 50 MiB message never sits in memory.
 */
import { readFile, type FileHandle } from "node:fs/promises";
import type { NewQueueMessage, NewQueueRecipient } from "../store/types.js";
import type { Spool } from "./spool.js";

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

  /** Make the message durable; resolves once its row is committed. */
  async commit(session: unknown): Promise<void> {
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
      envelope: { mail: this.envelope.mail, session },
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
