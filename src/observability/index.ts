export { createLogger, defaultLogFormat, type LogOptions } from "./log.js";
