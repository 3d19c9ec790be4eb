/**
 * `petrel serve`: run the server until SIGTERM/SIGINT. SIGHUP re-reads the config file (its live
 * keys apply to new sessions, see config/reload.ts; a config that does not load is logged and the
 * running one kept) and the certificates.
 */
import type { Command } from "commander";
import { Petrel } from "../app/petrel.js";
import { createLogger, defaultLogFormat } from "../observability/log.js";
import { loadConfig } from "../config/load.js";
import { fail, type GlobalOptions } from "./context.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the mail server (development profile when no config file is given)")
    .option("--config <file>", "config file (YAML); default $PETREL_CONFIG, else the development profile")
    .option("--data-dir <dir>", "data directory (overrides dataDir)")
    .option("--log-format <format>", "json or pretty")
    .action(async (opts: GlobalOptions & { logFormat?: string }) => {
      let petrel: Petrel;
      let log: ReturnType<typeof createLogger>;
      try {
        if (opts.logFormat && opts.logFormat !== "json" && opts.logFormat !== "pretty") throw new Error(`--log-format must be json or pretty, not ${opts.logFormat}`);
        const loaded = loadConfig({ configFile: opts.config, dataDir: opts.dataDir, logFormat: opts.logFormat as "json" | "pretty" | undefined });
        const { config } = loaded;
        log = createLogger({ format: config.log.format ?? defaultLogFormat(), level: config.log.level });
        log.info({ event: "start", config: loaded.source ?? "development profile", dataDir: config.dataDir, hostname: config.hostname, pid: process.pid }, "starting Petrel");
        petrel = await Petrel.start({ config, development: loaded.development, log });
      } catch (e) {
        fail(e);
      }
      log.info({ event: "ready" }, "ready");
      const stop = (signal: string) => {
        log.info({ event: "signal", signal }, `received ${signal}`);
        petrel.stop().then(
          () => {
            log.flush();
            process.exit(0);
          },
          (e) => {
            log.error({ err: e }, "shutdown failed");
            log.flush();
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
      process.on("SIGHUP", () => {
        log.info({ event: "signal", signal: "SIGHUP" }, "received SIGHUP: reloading the config and certificates");
        try {
          const next = loadConfig({ configFile: opts.config, dataDir: opts.dataDir, logFormat: opts.logFormat as "json" | "pretty" | undefined });
          petrel.reload(next.config);
          log.setLevel(next.config.log.level);
        } catch (e) {
          log.error({ event: "config-reload-failed", err: e }, `config reload failed, keeping the running config: ${(e as Error).message}`);
        }
        try {
          petrel.reloadTls();
        } catch (e) {
          log.error({ err: e }, "certificate reload failed; keeping the old ones");
        }
      });
    });
}
