import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buckets, effectiveLimits, hasLimits, recipientVerdict, UNLIMITED } from "./send-limits.js";

const T = Date.UTC(2026, 10, 30, 9, 41, 5);
const zero = { messages: 0, recipients: 0 };

describe("sending limits", () => {
  test("buckets are the UTC hour and day", () => {
    assert.deepEqual(buckets(T), { hour: "h:2026-11-30T09", day: "d:2026-11-30" });
    assert.deepEqual(buckets(Date.UTC(2026, 11, 31, 23, 59, 59)), { hour: "h:2026-12-31T23", day: "d:2026-12-31" });
  });

  test("an account override wins per key; null there is unlimited, missing keys use the default", () => {
    const defaults = { messagesPerHour: 10, messagesPerDay: 100, recipientsPerHour: null, recipientsPerDay: 500 };
    assert.deepEqual(effectiveLimits(defaults, { messagesPerDay: 3, recipientsPerDay: null }), { messagesPerHour: 10, messagesPerDay: 3, recipientsPerHour: null, recipientsPerDay: null });
    assert.equal(hasLimits(UNLIMITED), false);
    assert.equal(hasLimits(effectiveLimits(UNLIMITED, { recipientsPerHour: 1 })), true);
  });

  test("under every limit: no verdict", () => {
    const limits = { messagesPerHour: 2, messagesPerDay: 5, recipientsPerHour: 3, recipientsPerDay: 10 };
    assert.equal(recipientVerdict({ limits, hour: { messages: 1, recipients: 1 }, day: { messages: 4, recipients: 5 } }, 1, T), undefined);
  });

  test("daily message limit: 451 4.7.0 with the time the day ends", () => {
    const r = recipientVerdict({ limits: { ...UNLIMITED, messagesPerDay: 3 }, hour: zero, day: { messages: 3, recipients: 3 } }, 0, T);
    assert.deepEqual([r?.code, r?.enhanced, r?.lines[0]], [451, "4.7.0", "daily message limit of 3 reached, try after 00:00 UTC"]);
  });

  test("hourly message limit names the next full hour", () => {
    const r = recipientVerdict({ limits: { ...UNLIMITED, messagesPerHour: 1 }, hour: { messages: 1, recipients: 1 }, day: zero }, 0, T);
    assert.equal(r?.lines[0], "hourly message limit of 1 reached, try after 10:00 UTC");
  });

  test("recipient limits count the recipients already accepted in this transaction: 452 4.5.3", () => {
    const limits = { ...UNLIMITED, recipientsPerHour: 5 };
    assert.equal(recipientVerdict({ limits, hour: { messages: 1, recipients: 3 }, day: zero }, 1, T), undefined);
    const r = recipientVerdict({ limits, hour: { messages: 1, recipients: 3 }, day: zero }, 2, T);
    assert.deepEqual([r?.code, r?.enhanced, r?.lines[0]], [452, "4.5.3", "hourly recipient limit of 5 reached, try after 10:00 UTC"]);
    const d = recipientVerdict({ limits: { ...UNLIMITED, recipientsPerDay: 2 }, hour: zero, day: { messages: 0, recipients: 2 } }, 0, T);
    assert.equal(d?.lines[0], "daily recipient limit of 2 reached, try after 00:00 UTC");
  });

  test("a limit of 0 refuses everything", () => {
    assert.equal(recipientVerdict({ limits: { ...UNLIMITED, messagesPerDay: 0 }, hour: zero, day: zero }, 0, T)?.code, 451);
  });
});
