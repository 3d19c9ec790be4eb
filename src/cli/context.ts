/** What every CLI command shares: loading the config and opening the store it names. */
import { loadConfig, type LoadedConfig } from "../config/load.js";
import { DEVELOPMENT_DOMAIN } from "../config/profiles.js";
import { ConfigError } from "../core/errors.js";
import { openStore } from "../app/open-store.js";
import type { Store } from "../store/types.js";

export interface GlobalOptions {
  config?: string;
  dataDir?: string;
}

export function load(opts: GlobalOptions): LoadedConfig {
  return loadConfig({ configFile: opts.config, dataDir: opts.dataDir });
}

export async function withStore<T>(opts: GlobalOptions, fn: (store: Store, loaded: LoadedConfig) => Promise<T>): Promise<T> {
  const loaded = load(opts);
  const { store } = await openStore(loaded.config, { server: false });
  try {
    if (loaded.development) await store.directory.addDomain(DEVELOPMENT_DOMAIN);
    return await fn(store, loaded);
  } finally {
    await store.close();
  }
}

/** Print a fatal error and exit: 2 for configuration errors, 1 otherwise. */
export function fail(e: unknown): never {
  const err = e as Error;
  process.stderr.write(`petrel: ${err instanceof ConfigError ? "configuration error: " : ""}${err.message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + "\n");
}

/** Run a command body, turning any error into a message on stderr and a non-zero exit. */
export function run<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (e) {
      fail(e);
    }
  };
}
