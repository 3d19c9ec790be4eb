/**
 * Builds the one Authenticator that SMTP AUTH, IMAP and POP3 share, from the config and the
 * store. The secret behind the fake SCRAM salts of unknown users lives in the data directory,
 * so it survives restarts (nodes of a PostgreSQL cluster should share the file, like blobs).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Config } from "../config/schema.js";
import type { Store } from "../store/types.js";
import { Authenticator } from "../auth/authenticator.js";

const SECRET_FILE = "auth-secret";

function loadSecret(dataDir: string): Buffer {
  const file = join(dataDir, SECRET_FILE);
  try {
    const hex = readFileSync(file, "utf8").trim();
    if (/^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, "hex");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const secret = randomBytes(32);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, secret.toString("hex") + "\n", { mode: 0o600 });
  return secret;
}

export function createAuthenticator(config: Config, store: Pick<Store, "directory" | "authFailures">, clock: Clock, log: Logger): Authenticator {
  const a = config.auth;
  return new Authenticator(
    store.directory,
    store.authFailures,
    {
      lockout: { enabled: a.lockout.enabled, maxFailures: a.lockout.maxFailures, windowMs: a.lockout.window, blockMs: a.lockout.blockTime, maxBlockMs: a.lockout.maxBlockTime },
      failureDelayMs: a.failureDelay,
      scramIterations: a.scramIterations,
      secret: loadSecret(config.dataDir),
    },
    clock,
    log,
  );
}
