/**
 * Change notification for open mailboxes: IMAP sessions (IDLE, NOOP) learn that a mailbox may
 * have changed without polling the store. Writes made in this process (deliveries, POP3 and
 * IMAP sessions) notify directly through NotifyingMailstore; writes made by other Petrel nodes
 * sharing a PostgreSQL store are found by polling each watched mailbox's HIGHESTMODSEQ.
 */
import type { Mailstore, ImapMailstore, LocalDelivery, DeliveryItemResult } from "../store/types.js";

type Listener = () => void;

export class MailboxEvents {
  /** Listeners by mailbox id, and the account each watched mailbox belongs to. */
  private readonly byMailbox = new Map<number, Set<Listener>>();
  private readonly accountOf = new Map<number, number>();
  private readonly pending = new Set<number>();
  private flushScheduled = false;
  private poller?: NodeJS.Timeout;
  private readonly lastSeen = new Map<number, number>();

  constructor(private readonly mailstore: Mailstore & ImapMailstore, private readonly pollMs: number | null) {}

  watch(mailboxId: number, accountId: number, listener: Listener): () => void {
    let set = this.byMailbox.get(mailboxId);
    if (!set) this.byMailbox.set(mailboxId, (set = new Set()));
    set.add(listener);
    this.accountOf.set(mailboxId, accountId);
    this.startPolling();
    return () => {
      set.delete(listener);
      if (set.size === 0) {
        this.byMailbox.delete(mailboxId);
        this.accountOf.delete(mailboxId);
        this.lastSeen.delete(mailboxId);
      }
    };
  }

  mailboxChanged(mailboxId: number): void {
    if (!this.byMailbox.has(mailboxId)) return;
    this.pending.add(mailboxId);
    this.scheduleFlush();
  }

  /** A delivery names accounts, not mailboxes: wake every watched mailbox of the account. */
  accountChanged(accountId: number): void {
    for (const [mailboxId, owner] of this.accountOf) if (owner === accountId) this.pending.add(mailboxId);
    if (this.pending.size) this.scheduleFlush();
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
  }

  /** Coalesce: one wake-up per mailbox per event-loop turn, however many writes happened. */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      const ids = [...this.pending];
      this.pending.clear();
      for (const id of ids) for (const l of [...(this.byMailbox.get(id) ?? [])]) l();
    });
  }

  private startPolling(): void {
    if (this.poller || this.pollMs === null) return;
    this.poller = setInterval(() => void this.poll(), this.pollMs);
    this.poller.unref();
  }

  private async poll(): Promise<void> {
    for (const mailboxId of [...this.byMailbox.keys()]) {
      const box = await this.mailstore.getMailboxById(mailboxId).catch(() => null);
      if (!box) continue;
      const seen = this.lastSeen.get(mailboxId);
      this.lastSeen.set(mailboxId, box.highestModseq);
      if (seen !== undefined && seen !== box.highestModseq) this.mailboxChanged(mailboxId);
    }
  }
}

/**
 * The mailstore the server uses: every write tells MailboxEvents which mailbox (or, for a
 * delivery, which account) changed.
 */
export function notifyingMailstore(inner: Mailstore & ImapMailstore, events: MailboxEvents): Mailstore & ImapMailstore {
  const after = <T>(p: Promise<T>, notify: (r: T) => void): Promise<T> =>
    p.then((r) => {
      notify(r);
      return r;
    });
  const overrides: Partial<Mailstore & ImapMailstore> = {
    deliver: (batch: readonly LocalDelivery[]) =>
      after(inner.deliver(batch), (results: DeliveryItemResult[][]) => {
        for (const r of results.flat()) if (r.status === "delivered") events.accountChanged(r.accountId);
      }),
    expunge: (mailboxId: number, uids: readonly number[]) => after(inner.expunge(mailboxId, uids), () => events.mailboxChanged(mailboxId)),
    storeFlags: (change: Parameters<ImapMailstore["storeFlags"]>[0]) => after(inner.storeFlags(change), () => events.mailboxChanged(change.mailboxId)),
    append: (input: Parameters<ImapMailstore["append"]>[0]) => after(inner.append(input), (r) => events.mailboxChanged(r.mailboxId)),
    copy: (from: number, uids: readonly number[], to: number) => after(inner.copy(from, uids, to), () => events.mailboxChanged(to)),
    move: (from: number, uids: readonly number[], to: number) =>
      after(inner.move(from, uids, to), () => {
        events.mailboxChanged(from);
        events.mailboxChanged(to);
      }),
  };
  // Everything else is the inner store's own method, bound to it.
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop in overrides) return overrides[prop as keyof typeof overrides];
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
