// Small numeric helpers shared by the load generators and the report.

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Milliseconds since an arbitrary origin, monotonic (not affected by clock changes). */
export function nowMs(): number {
  return performance.now();
}

export function fmtNum(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return "-";
  return n.toFixed(digits);
}

/** Bytes as "4 KiB", "100 KiB", "50 MiB" (binary units, as the CLI accepts them). */
export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "-";
  const units = ["B", "KiB", "MiB", "GiB"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    i++;
  }
  if (i === 0 && bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${v} ${units[i]}`;
}

export function fmtMiB(kib: number): string {
  return Number.isFinite(kib) ? (kib / 1024).toFixed(1) : "-";
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
