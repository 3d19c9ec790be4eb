/**
 * The logging surface the protocol engines see. observability/ implements it with pino;
 * tests may collect lines in memory. Fields are structured, never interpolated into text.
 */
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
  debug(fields: LogFields, msg: string): void;
  child(fields: LogFields): Logger;
}

export const nullLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child() {
    return nullLogger;
  },
};
