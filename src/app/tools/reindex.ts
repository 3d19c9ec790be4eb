/**
 * `petrel reindex`: parse every stored message again and store the new MIME structure
 * (ENVELOPE, BODYSTRUCTURE offsets, search text). Needed after an upgrade whose MIME parser
 * reads messages differently; blobs are shared, so each is parsed once however many copies
 * exist. Restartable: it walks blobs in id order and each batch is committed on its own.
 */
import { parseMessage } from "../../mime/index.js";
import type { Store } from "../../store/types.js";

export interface ReindexProgress {
  done: number;
  total: number;
  failed: number;
}

export interface ReindexOptions {
  /** Only the blobs of this account's messages. */
  account?: string;
  /** Blobs read, parsed and written per batch. */
  batch?: number;
  onProgress?(p: ReindexProgress): void;
}

export interface ReindexResult {
  reindexed: number;
  /** Blobs whose octets could not be read (listed in errors). */
  failed: number;
  errors: string[];
}

export async function reindex(store: Store, o: ReindexOptions = {}): Promise<ReindexResult> {
  let accountId: number | undefined;
  if (o.account !== undefined) {
    const account = await store.directory.getAccount(o.account);
    if (!account) throw new Error(`no account ${o.account}`);
    accountId = account.id;
  }
  const total = await store.mailstore.countBlobs(accountId);
  const batch = o.batch ?? 200;
  const result: ReindexResult = { reindexed: 0, failed: 0, errors: [] };
  let after: string | null = null;
  o.onProgress?.({ done: 0, total, failed: 0 });
  for (;;) {
    const ids = await store.mailstore.blobIds(after, batch, accountId);
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!;
    const items: { id: string; parsed: unknown }[] = [];
    for (const id of ids) {
      const raw = await store.mailstore.blob(id);
      if (!raw) {
        result.failed++;
        if (result.errors.length < 20) result.errors.push(`blob ${id}: its octets are missing`);
        continue;
      }
      // parseMessage never throws: any octets give a structure.
      items.push({ id, parsed: parseMessage(raw) });
    }
    await store.mailstore.setParsed(items);
    result.reindexed += items.length;
    o.onProgress?.({ done: result.reindexed + result.failed, total, failed: result.failed });
  }
  return result;
}
