/**
 * Structured logs with pino: JSON lines on stdout (one per session event), or pretty lines
 * for people. Implements core's Logger interface.
 */
import pino from "pino";
import pretty from "pino-pretty";
import type { Logger } from "../core/logger.js";

export interface LogOptions {
  format: "json" | "pretty";
  level: string;
}

/** setLevel: the root and the children made after it (config reload: sessions started later). */
export function createLogger(opts: LogOptions): Logger & { flush(): void; setLevel(level: string): void } {
  const base = { level: opts.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, serializers: { err: pino.stdSerializers.err } };
  const dest = opts.format === "pretty" ? pretty({ colorize: process.stdout.isTTY, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" }) : pino.destination({ fd: 1, sync: false });
  const root = pino(base, dest);
  const flush = () => {
    if ("flushSync" in dest && typeof dest.flushSync === "function") {
      try {
        dest.flushSync();
      } catch {
        /* not ready yet: nothing buffered */
      }
    }
  };
  const setLevel = (level: string) => {
    root.level = level;
  };
  return Object.assign(root as unknown as Logger, { flush, setLevel });
}

/** Pretty on a terminal, JSON otherwise (DESIGN.md). */
export function defaultLogFormat(): "json" | "pretty" {
  return process.stdout.isTTY ? "pretty" : "json";
}
