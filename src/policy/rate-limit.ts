/**
 * Inbound rate limits: events per key (client address, sender domain) per minute, counted in
 * this process. A sliding window estimated from two fixed windows (the previous minute's count
 * weighted by how much of it still overlaps the last 60 seconds), so a burst at a minute's
 * boundary is not let through twice; memory is two numbers per key seen in the last two minutes.
 *
 * Per process, not in the store, on purpose: the limits exist to shed a flood before it costs
 * anything, and a database write per connection would move the flood onto the database. With
 * several nodes each enforces the limit on the connections it gets (up to N times the limit in
 * all; divide the configured values by the node count behind a balancer that spreads one client).
 */
export class RateLimiter {
  private readonly counts = new Map<string, { window: number; current: number; previous: number }>();
  private lastSweep = 0;

  constructor(
    /** Events allowed per window. */
    readonly limit: number,
    private readonly now: () => number,
    readonly windowMs = 60_000,
  ) {}

  /** Count one event for key; false when it goes over the limit (the event is counted anyway). */
  hit(key: string): boolean {
    const now = this.now();
    const window = Math.floor(now / this.windowMs);
    this.sweep(window);
    let c = this.counts.get(key);
    if (!c) {
      c = { window, current: 0, previous: 0 };
      this.counts.set(key, c);
    } else if (c.window !== window) {
      c.previous = c.window === window - 1 ? c.current : 0;
      c.current = 0;
      c.window = window;
    }
    c.current++;
    const overlap = 1 - (now - window * this.windowMs) / this.windowMs;
    return c.previous * overlap + c.current <= this.limit;
  }

  /** Forget keys not seen for two windows (at most once a window). */
  private sweep(window: number): void {
    if (window === this.lastSweep) return;
    this.lastSweep = window;
    for (const [k, c] of this.counts) if (c.window < window - 1) this.counts.delete(k);
  }

  get size(): number {
    return this.counts.size;
  }
}
