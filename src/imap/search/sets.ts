/** Sequence sets (RFC 9051 9, sequence-set) as membership tests. */
import type { SequenceSet } from "../types.js";

/** Membership in a set of ranges: merged, sorted, then binary search. */
export function setTest(set: SequenceSet, max: number): (n: number) => boolean {
  if (set === "$") return () => false; // resolved by the engine before the search
  const ranges = set
    .map((r) => {
      const a = r.from === "*" ? max : r.from;
      const b = r.to === "*" ? max : r.to;
      return a <= b ? [a, b] : [b, a];
    })
    .sort((x, y) => x[0]! - y[0]!);
  const lo: number[] = [];
  const hi: number[] = [];
  for (const [a, b] of ranges) {
    if (lo.length > 0 && a! <= hi[hi.length - 1]! + 1) hi[hi.length - 1] = Math.max(hi[hi.length - 1]!, b!);
    else {
      lo.push(a!);
      hi.push(b!);
    }
  }
  if (lo.length === 1) {
    const a = lo[0]!;
    const b = hi[0]!;
    return (n) => n >= a && n <= b;
  }
  return (n) => {
    let l = 0;
    let h = lo.length - 1;
    while (l <= h) {
      const mid = (l + h) >> 1;
      if (n < lo[mid]!) h = mid - 1;
      else if (n > hi[mid]!) l = mid + 1;
      else return true;
    }
    return false;
  };
}
