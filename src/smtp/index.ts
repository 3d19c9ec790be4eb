export * from "./handler.js";
export { R } from "./replies.js";
export { SmtpSession } from "./session/session.js";
export type { SessionOptions } from "./session/options.js";
export { RFC_DEFAULTS } from "./session/options.js";
export type { SessionTransport } from "./session/transport.js";
export { receivedHeader } from "./received.js";
