/** UIDVALIDITY (RFC 9051 2.3.1.1): seconds since the epoch, as the SQLite backend computes it. */
export function newUidValidity(now: number): number {
  return Math.floor(now / 1000) >>> 0;
}
