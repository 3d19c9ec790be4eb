/**
 * Spool files for messages too large to keep in the database row. Only queue/ writes here.
 * Write order for durability: data written, file fsynced, directory fsynced, then the queue
 * row is committed (the row is the "ready" bit). A start-up sweep removes files with no row.
 */
import { mkdir, open, readdir, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";

export class Spool {
  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  path(id: string): string {
    return join(this.dir, `${id}.eml`);
  }

  async create(id: string): Promise<FileHandle> {
    return open(this.path(id), "wx", 0o600);
  }

  /** fsync the directory so that a new file's name survives a crash. */
  async syncDir(): Promise<void> {
    const fh = await open(this.dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async remove(id: string): Promise<void> {
    await unlink(this.path(id)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }

  async ids(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith(".eml")).map((n) => n.slice(0, -4));
  }
}
