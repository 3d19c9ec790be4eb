export type { Pop3Backend, Pop3Account, Maildrop, Pop3Options, Pop3Transport, Pop3TlsInfo } from "./backend.js";
export { Pop3Session } from "./session.js";
