/** UIDVALIDITY (RFC 9051 2.3.1.1): seconds since the epoch when the mailbox was created. */
export function newUidValidity(now: number): number {
  return Math.floor(now / 1000) >>> 0;
}
