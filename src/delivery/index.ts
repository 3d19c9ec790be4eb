export { createLocalTransport, type LocalTransportOptions, type LocalTransportDeps } from "./local/transport.js";
export { traceHeaders } from "./local/trace.js";
export { resolveRecipient, type Resolution, type ResolveOptions } from "./local/resolve.js";
