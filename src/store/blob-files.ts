/**
 * Message blobs kept as files (SQLite: every large blob; PostgreSQL: with blobInlineMax and a
 * blobDir that every node shares). A file is written and fsynced (with its directory) before
 * the transaction that references it commits.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, stat } from "node:fs/promises";
import { dirname, join } from "node:path";

export class BlobFiles {
  constructor(private readonly dir: string) {}

  path(id: string): string {
    return join(this.dir, id.slice(0, 2), id);
  }

  read(id: string): Promise<Buffer> {
    return readFile(this.path(id));
  }

  /** Write, fsync the file and its directory; an existing file with the same hash is reused. */
  async write(id: string, data: Buffer): Promise<void> {
    const path = this.path(id);
    if ((await stat(path).catch(() => null))?.size === data.length) return;
    await mkdir(dirname(path), { recursive: true });
    // A name of its own: two deliveries of the same content may write at once.
    const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    const fh = await open(tmp, "w", 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    const d = await open(dirname(path), "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}
