import { test } from "node:test";
import assert from "node:assert/strict";
import { configSchema } from "./schema.js";
import { applyLiveKeys, diffConfig } from "./reload.js";

const parse = (v: object) => configSchema.parse(v);

test("live keys are applied in place; the others are reported as needing a restart", () => {
  const running = parse({ hostname: "a.test", smtp: { maxRecipients: 100 }, listen: { smtp: "0.0.0.0:25" } });
  const limits = running.submission.limits;
  const next = parse({ hostname: "b.test", smtp: { maxRecipients: 2, inlineMaxSize: 1000 }, listen: { smtp: "0.0.0.0:2525" }, submission: { limits: { messagesPerHour: 10 } }, delivery: { retryDelays: ["1s"] }, log: { level: "debug" } });
  const changes = applyLiveKeys(running, next);
  assert.deepEqual(changes.applied, ["delivery.retryDelays", "log.level", "smtp.maxRecipients", "submission.limits.messagesPerHour"]);
  assert.deepEqual(changes.needsRestart, ["hostname", "listen.smtp", "smtp.inlineMaxSize"]);
  assert.equal(running.smtp.maxRecipients, 2);
  assert.deepEqual(running.delivery.retryDelays, [1000]);
  assert.equal(running.log.level, "debug");
  assert.equal(limits.messagesPerHour, 10, "objects holding a part of the config see the change");
  assert.equal(running.hostname, "a.test");
  assert.equal(running.listen.smtp, "0.0.0.0:25");
  assert.equal(running.smtp.inlineMaxSize, 16_384);
});

test("an unchanged config changes nothing", () => {
  const a = parse({ smtp: { maxRecipients: 5 } });
  assert.deepEqual(diffConfig(a, parse({ smtp: { maxRecipients: 5 } })), { applied: [], needsRestart: [] });
});
