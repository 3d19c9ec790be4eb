/**
 * Per-destination connection slots: at most `limit` connections to one destination (a domain,
 * or the smart host) at once, idle connections kept a short while for the next message there,
 * and at most `maxJobs` deliveries (connected or waiting for a slot) per destination, so that a
 * slow destination holds a part of the scheduler's slots and never all of them: past that, the
 * delivery is deferred at once (4.4.5) and retried by the queue.
 */
import type { SmtpClient } from "../../smtp/client/client.js";

export interface Lease {
  /** A connection left open by an earlier delivery (RSET first), or null: open a new one. */
  client: SmtpClient | null;
  /** Transactions the connection has carried. */
  used: number;
  /** The server's host name (logs, DSN Remote-MTA). */
  server?: string;
}

interface Idle {
  client: SmtpClient;
  used: number;
  server?: string;
  timer: NodeJS.Timeout;
}

export class Destination {
  private active = 0;
  private readonly idle: Idle[] = [];
  private readonly waiters: ((l: Lease) => void)[] = [];
  private closed = false;

  constructor(
    readonly key: string,
    private readonly limit: number,
    private readonly idleMs: number,
    private readonly maxUses: number,
    private readonly maxJobs: number = Infinity,
  ) {}

  /** A lease, after waiting for a free slot if need be; null when too many wait already (defer). */
  acquire(): Promise<Lease> | null {
    const idle = this.idle.pop();
    if (idle) {
      clearTimeout(idle.timer);
      this.active++;
      return Promise.resolve({ client: idle.client, used: idle.used, server: idle.server });
    }
    if (this.active + this.waiters.length >= this.maxJobs) return null;
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve({ client: null, used: 0 });
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Give the slot back, with the connection if it may carry another message. */
  release(client: SmtpClient | null, used: number, server?: string): void {
    const keep = client !== null && client.usable && used < this.maxUses && !this.closed;
    if (client && !keep) void client.quit();
    const next = this.waiters.shift();
    if (next) {
      // The slot passes straight to the next waiter, with the connection when there is one.
      next(keep ? { client, used, server } : { client: null, used: 0 });
      return;
    }
    this.active--;
    if (keep) {
      const entry: Idle = { client: client!, used, server, timer: setTimeout(() => this.expire(entry), this.idleMs) };
      entry.timer.unref();
      this.idle.push(entry);
    }
  }

  get busy(): boolean {
    return this.active > 0 || this.idle.length > 0 || this.waiters.length > 0;
  }

  private expire(entry: Idle): void {
    const i = this.idle.indexOf(entry);
    if (i >= 0) this.idle.splice(i, 1);
    void entry.client.quit();
  }

  /** QUIT the idle connections; connections in use are QUIT when released. */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.idle.splice(0);
    await Promise.all(
      all.map((e) => {
        clearTimeout(e.timer);
        return e.client.quit();
      }),
    );
  }
}

/** A destination's message rate: at most `messages` transactions started in any `perMs` window. */
export interface Rate {
  messages: number;
  perMs: number;
}

/** Sliding-window rate limit per destination (this node's count; each node keeps its own). */
export class RateLimiter {
  /** Start times of the recent transactions, per destination, oldest first. */
  private readonly starts = new Map<string, number[]>();

  constructor(private readonly rateOf: (key: string) => Rate | null) {}

  /** 0: go (the transaction is counted); else the milliseconds until the next free slot. */
  take(key: string, now: number): number {
    const rate = this.rateOf(key);
    if (!rate) return 0;
    let list = this.starts.get(key);
    if (!list) {
      // Forget destinations whose windows are over (a map of every domain ever seen otherwise).
      if (this.starts.size >= 10_000) for (const [k, l] of this.starts) if (!l.length || l[l.length - 1]! <= now - rate.perMs) this.starts.delete(k);
      this.starts.set(key, (list = []));
    }
    while (list.length && list[0]! <= now - rate.perMs) list.shift();
    if (list.length >= rate.messages) return Math.max(1, list[list.length - rate.messages]! + rate.perMs - now);
    list.push(now);
    return 0;
  }
}
