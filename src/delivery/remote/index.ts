export { createRemoteTransport, domainOf, type RemoteTransport, type RemoteTransportDeps, type RemoteTransportOptions, type RelayOptions, type TlsPolicy } from "./transport.js";
export { routeDomain, sortMx, hostAddresses, type Route, type RouteHost } from "./mx.js";
export { connectSmtp, SocketIo, type ConnectTarget } from "./connection.js";
export { MtaSts, httpsPolicyFetcher, parseStsPolicy, parseStsRecord, mxMatches, type StsPolicy, type StsLookup, type PolicyFetcher } from "./mta-sts.js";
export { TlsReportData, resultTypeOf, type TlsResultType, type PolicyType, type DaySummary } from "./tls-report.js";
