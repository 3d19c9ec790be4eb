/** Days of SEARCH date keys (RFC 9051 6.4.4): "disregarding time and timezone". */

export const DAY = 86_400_000;

/** "YYYY-MM-DD" as a day number (days since 1970-01-01), NaN when malformed. */
export function dayOf(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY;
}

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

/**
 * The day of an RFC 5322 date-time as written, in its own time zone (RFC 9051 6.4.4: "disregarding
 * time and timezone"): "Wed, 17 Jul 1996 02:23:25 -0700" is 1996-07-17. Two- and three-digit years
 * as RFC 5322 4.3 says. NaN when there is no such date.
 */
export function sentDay(value: string): number {
  // One way to match any input (no "\s*-?\s*"), so that no input backtracks more than linearly.
  const m = /(?:^|[\s,])(\d{1,2})\s*(?:-\s*)?([A-Za-z]{3})[A-Za-z]*\.?\s*(?:-\s*)?(\d{2,4})(?![\d:])/.exec(value.slice(0, 200));
  if (!m) return NaN;
  const month = MONTHS[m[2]!.toLowerCase()];
  if (month === undefined) return NaN;
  let year = Number(m[3]);
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3]!.length === 3) year += 1900;
  const day = Number(m[1]);
  if (day < 1 || day > 31) return NaN;
  return Date.UTC(year, month, day) / DAY;
}

export function compareDay(cmp: "before" | "on" | "since", day: number, target: number): boolean {
  if (cmp === "before") return day < target;
  if (cmp === "on") return day === target;
  return day >= target;
}
