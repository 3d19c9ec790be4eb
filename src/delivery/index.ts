export { createLocalTransport, type LocalTransportOptions, type LocalTransportDeps } from "./local/transport.js";
export { traceHeaders } from "./local/trace.js";
export { resolveRecipient, type Resolution, type ResolveOptions } from "./local/resolve.js";
export { createRouter, type RouterDeps, type RoutingTransport } from "./router.js";
export { createRemoteTransport, type RemoteTransport, type RemoteTransportOptions, type RelayOptions, type TlsPolicy } from "./remote/index.js";
export { Srs, isSrsAddress, type SrsOptions, type SrsReverse } from "./srs.js";
