import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configSchema } from "../config/schema.js";
import { createAuthenticator } from "./authenticator.js";
import { systemClock } from "../core/clock.js";
import { nullLogger } from "../core/logger.js";
import { MemoryAuthFailures } from "../../test/helpers/memory-auth-failures.js";

test("auth config: sensible defaults; durations, bounds and unknown keys checked", () => {
  const c = configSchema.parse({});
  assert.deepEqual(c.auth, { failureDelay: 1000, scramIterations: 4096, lockout: { enabled: true, maxFailures: 5, window: 900_000, blockTime: 300_000, maxBlockTime: 86_400_000 } });
  const d = configSchema.parse({ auth: { failureDelay: "250ms", lockout: { maxFailures: 3, blockTime: "2s" } } });
  assert.equal(d.auth.failureDelay, 250);
  assert.equal(d.auth.lockout.maxFailures, 3);
  assert.equal(d.auth.lockout.blockTime, 2000);
  assert.equal(d.auth.lockout.window, 900_000);
  assert.throws(() => configSchema.parse({ auth: { scramIterations: 1000 } }));
  assert.throws(() => configSchema.parse({ auth: { lockout: { maxFailures: 0 } } }));
  assert.throws(() => configSchema.parse({ auth: { lockout: { blockTime: "soon" } } }));
  assert.throws(() => configSchema.parse({ auth: { lockot: {} } }));
});

test("the fake-salt secret is created once (mode 0600) and kept across restarts", async () => {
  const dir = mkdtempSync(join(tmpdir(), "petrel-auth-"));
  try {
    const config = configSchema.parse({ dataDir: dir });
    const credentials = async () => null;
    const store = { directory: { credentials } as never, authFailures: new MemoryAuthFailures() };
    const a = createAuthenticator(config, store, systemClock, nullLogger);
    const secret = readFileSync(join(dir, "auth-secret"), "utf8");
    assert.match(secret, /^[0-9a-f]{64}\n$/);
    assert.equal(statSync(join(dir, "auth-secret")).mode & 0o777, 0o600);
    const b = createAuthenticator(config, store, systemClock, nullLogger);
    assert.equal(readFileSync(join(dir, "auth-secret"), "utf8"), secret);
    const ctx = { user: "nobody@x.test", remoteIp: "192.0.2.1", protocol: "test" };
    assert.deepEqual((await a.scram(ctx)).credentials.salt, (await b.scram(ctx)).credentials.salt);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
