export * from "./reply.js";
export * from "./address.js";
export * from "./queue-id.js";
export * from "./clock.js";
export * from "./logger.js";
export * from "./envelope.js";
export * from "./errors.js";
export * from "./date.js";
