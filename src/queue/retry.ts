/**
 * When to try again after a temporary failure. Like Postfix and Exim: soon at first, then
 * backing off to hourly; a recipient still undelivered after maxQueueTime fails for good.
 */
export interface RetryPolicy {
  /** Delays after the 1st, 2nd, ... failed attempt; the last one repeats. */
  delaysMs: readonly number[];
  maxQueueTimeMs: number;
}

export const DEFAULT_RETRY_DELAYS_MS = [60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, 60 * 60_000];

/** Next attempt time, or null when the message has been queued too long. */
export function nextAttempt(policy: RetryPolicy, attemptsSoFar: number, queuedAt: number, now: number): number | null {
  const d = policy.delaysMs;
  const delay = d[Math.min(attemptsSoFar, d.length - 1)] ?? 60_000;
  if (now - queuedAt >= policy.maxQueueTimeMs) return null;
  return Math.min(now + delay, queuedAt + policy.maxQueueTimeMs);
}
