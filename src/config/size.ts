/** Sizes in the config: a number of bytes, or "10MiB", "512KiB", "50MB" (1000-based), "1GiB". */
const UNITS: Record<string, number> = { b: 1, k: 1000, kb: 1000, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

export function parseSize(v: string | number): number | null {
  if (typeof v === "number") return Number.isInteger(v) && v >= 0 ? v : null;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(v.trim());
  if (!m) return null;
  const unit = UNITS[(m[2] || "b").toLowerCase()];
  return unit === undefined ? null : Math.round(Number(m[1]) * unit);
}
