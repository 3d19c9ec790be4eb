/**
 * Loading the config: YAML file (--config or PETREL_CONFIG), or the development profile when
 * there is none; then command-line overrides. Errors name the key and say why.
 */
import { readFileSync, existsSync } from "node:fs";
import { resolve } from "node:path";
import { hostname as osHostname } from "node:os";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../core/errors.js";
import { configSchema, type Config } from "./schema.js";
import { DEVELOPMENT_PROFILE } from "./profiles.js";

export interface LoadOptions {
  configFile?: string;
  dataDir?: string;
  logFormat?: "json" | "pretty";
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: Config & { hostname: string };
  /** The file read, or null for the development profile. */
  source: string | null;
  development: boolean;
}

export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const file = opts.configFile ?? env.PETREL_CONFIG;
  let raw: unknown;
  let source: string | null = null;
  if (file) {
    source = resolve(file);
    if (!existsSync(source)) throw new ConfigError(`config file ${source} does not exist`);
    try {
      raw = parseYaml(readFileSync(source, "utf8")) ?? {};
    } catch (e) {
      throw new ConfigError(`${source}: not valid YAML: ${(e as Error).message}`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new ConfigError(`${source}: the top level must be a mapping of keys`);
  } else {
    raw = structuredClone(DEVELOPMENT_PROFILE);
  }
  const withOverrides = { ...(raw as Record<string, unknown>) };
  if (opts.dataDir ?? env.PETREL_DATA_DIR) withOverrides.dataDir = opts.dataDir ?? env.PETREL_DATA_DIR;
  const parsed = configSchema.safeParse(withOverrides);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path.join(".") || "(top level)";
      const msg = i.code === "unrecognized_keys" ? `unknown key${i.keys.length > 1 ? "s" : ""} ${i.keys.map((k) => (i.path.length ? `${key}.${k}` : k)).join(", ")}` : `${key}: ${i.message}`;
      return msg;
    });
    throw new ConfigError(`${source ?? "configuration"}: ${lines.join("; ")}`);
  }
  const config = parsed.data;
  if (opts.logFormat) config.log.format = opts.logFormat;
  config.dataDir = resolve(config.dataDir);
  return { config: { ...config, hostname: config.hostname ?? osHostname() }, source, development: source === null };
}
