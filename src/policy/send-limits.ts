/**
 * Sending limits for authenticated submission: messages and recipients per hour and per day,
 * per account, counted in fixed UTC windows (the current clock hour and calendar day). A
 * message counts once it is accepted (250); RCPT is refused when it would go over a limit:
 * 451 4.7.0 for the message limits, 452 4.5.3 for the recipient limits (RFC 5321 4.5.3.1.10),
 * both temporary, with the time the window ends.
 */
import type { Reply } from "../core/reply.js";
import { R } from "../smtp/replies.js";
import type { SendCounts, SendLimits, SendLimitsOverride } from "../store/types.js";

export const UNLIMITED: SendLimits = { messagesPerHour: null, messagesPerDay: null, recipientsPerHour: null, recipientsPerDay: null };

/** The account's override over the configured defaults (null in the override = unlimited). */
export function effectiveLimits(defaults: SendLimits, override: SendLimitsOverride): SendLimits {
  const pick = (k: keyof SendLimits) => (override[k] === undefined ? defaults[k] : override[k]!);
  return { messagesPerHour: pick("messagesPerHour"), messagesPerDay: pick("messagesPerDay"), recipientsPerHour: pick("recipientsPerHour"), recipientsPerDay: pick("recipientsPerDay") };
}

export function hasLimits(l: SendLimits): boolean {
  return l.messagesPerHour !== null || l.messagesPerDay !== null || l.recipientsPerHour !== null || l.recipientsPerDay !== null;
}

const p2 = (n: number) => String(n).padStart(2, "0");

/** The counter buckets a moment falls in: "h:YYYY-MM-DDTHH" and "d:YYYY-MM-DD" (UTC). */
export function buckets(now: number): { hour: string; day: string } {
  const d = new Date(now);
  const day = `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
  return { hour: `h:${day}T${p2(d.getUTCHours())}`, day: `d:${day}` };
}

/** When the current hour or day window ends, as "HH:MM UTC" (the day window ends at 00:00 UTC). */
function windowEnd(now: number, unit: "hour" | "day"): string {
  const d = new Date(now);
  const end = unit === "hour" ? Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1) : Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
  const e = new Date(end);
  return `${p2(e.getUTCHours())}:${p2(e.getUTCMinutes())} UTC`;
}

export interface LimitState {
  limits: SendLimits;
  hour: SendCounts;
  day: SendCounts;
}

/**
 * The verdict for one more recipient, `accepted` recipients already being accepted in this
 * transaction. Message limits first: a message over them cannot be sent at all.
 */
export function recipientVerdict(state: LimitState, accepted: number, now: number): Reply | undefined {
  const { limits: l, hour, day } = state;
  if (l.messagesPerDay !== null && day.messages + 1 > l.messagesPerDay) return R.messageLimit(`daily message limit of ${l.messagesPerDay} reached, try after ${windowEnd(now, "day")}`);
  if (l.messagesPerHour !== null && hour.messages + 1 > l.messagesPerHour) return R.messageLimit(`hourly message limit of ${l.messagesPerHour} reached, try after ${windowEnd(now, "hour")}`);
  if (l.recipientsPerDay !== null && day.recipients + accepted + 1 > l.recipientsPerDay) return R.recipientLimit(`daily recipient limit of ${l.recipientsPerDay} reached, try after ${windowEnd(now, "day")}`);
  if (l.recipientsPerHour !== null && hour.recipients + accepted + 1 > l.recipientsPerHour) return R.recipientLimit(`hourly recipient limit of ${l.recipientsPerHour} reached, try after ${windowEnd(now, "hour")}`);
  return undefined;
}
