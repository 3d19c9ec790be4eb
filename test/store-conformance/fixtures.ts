/** What the conformance cases share: the backend handle, message and delivery builders. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DirectoryError, type Account, type BlobInput, type LocalDelivery, type Mailbox, type NewQueueMessage, type Store } from "../../src/store/types.js";
import { splitAddress } from "../../src/store/address-key.js";

/** A fresh, empty backend, and what the contract cannot do (yet) but the cases need. */
export interface ConformanceBackend {
  store: Store;
  /** Another store on the same data: a second Petrel node (closed by cleanup). */
  peer(): Promise<Store>;
  /** Holds or releases a queue message (no contract method does it yet). */
  setHeld(messageId: string, held: boolean): Promise<void>;
  /** How many stored copies a blob has (rows): content is stored once. */
  blobRows(blobId: string): Promise<number>;
  cleanup(): Promise<void>;
}

export type Open = () => Promise<ConformanceBackend>;

/** Declares one case, run on its own fresh backend. */
export type Case = (title: string, fn: (s: Store, b: ConformanceBackend) => Promise<void>) => void;

/** Times are explicit: the contract takes `now` as an argument and nothing here sleeps. */
export const T0 = 1_700_000_000_000;

export function newMessage(id: string, recipients: readonly string[], o: Partial<NewQueueMessage> = {}): NewQueueMessage {
  return {
    id,
    createdAt: T0,
    sender: "sender@remote.example",
    size: 42,
    envelope: { body: "8BITMIME", smtputf8: false },
    body: Buffer.from(`Subject: ${id}\r\n\r\nhello\r\n`),
    recipients: recipients.map((address) => ({ address, dsn: {} })),
    ...o,
  };
}

export function blobOf(content: string | Buffer, parsed: unknown = { subject: "test" }): BlobInput {
  const data = typeof content === "string" ? Buffer.from(content) : content;
  return { id: createHash("sha256").update(data).digest("hex"), data, size: data.length, parsed };
}

export interface DeliveryOptions {
  mailbox?: string;
  specialUse?: string | null;
  flags?: string[];
  prefix?: string;
  internalDate?: number;
}

export function localDelivery(queueId: string, rcptIdx: number, blob: BlobInput, accountIds: readonly number[], o: DeliveryOptions = {}): LocalDelivery {
  return {
    queueId,
    rcptIdx,
    internalDate: o.internalDate ?? T0,
    blob,
    items: accountIds.map((accountId) => ({ accountId, mailbox: o.mailbox ?? "INBOX", specialUse: o.specialUse ?? null, prefix: Buffer.from(o.prefix ?? `Delivered-To: ${accountId}\r\n`) })),
    ...(o.flags ? { flags: o.flags } : {}),
  };
}

/** Adds the account, and its domain when needed. */
export async function newAccount(s: Store, address: string, quota: number | null = null): Promise<Account> {
  await s.directory.addDomain(splitAddress(address).domain);
  return s.directory.addAccount({ address, passwordHash: `hash-of-${address}`, quota });
}

export async function mailbox(s: Store, accountId: number, name = "INBOX"): Promise<Mailbox> {
  const m = await s.mailstore.getMailbox(accountId, name);
  assert.ok(m, `account ${accountId} has no mailbox ${name}`);
  return m;
}

export async function rejectsWith(p: Promise<unknown>, code: DirectoryError["code"]): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DirectoryError, `expected a DirectoryError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

export const sorted = (xs: readonly string[]): string[] => [...xs].sort();
