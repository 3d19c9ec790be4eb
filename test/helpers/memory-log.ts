/** A Logger that keeps every entry, for tests that look at what a server logged. */
import type { LogFields, Logger } from "../../src/core/logger.js";

export interface LogEntry extends LogFields {
  level: "info" | "warn" | "error" | "debug";
  msg: string;
}

export function memoryLogger(entries: LogEntry[] = [], bound: LogFields = {}): Logger & { entries: LogEntry[] } {
  const add = (level: LogEntry["level"]) => (fields: LogFields, msg: string) => void entries.push({ ...bound, ...fields, level, msg });
  return {
    entries,
    info: add("info"),
    warn: add("warn"),
    error: add("error"),
    debug: add("debug"),
    child: (fields) => memoryLogger(entries, { ...bound, ...fields }),
  };
}
