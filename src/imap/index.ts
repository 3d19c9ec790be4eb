/** The IMAP engine's public surface: the session, its backend contract and its options. */
export { ImapSession, type ImapState } from "./session.js";
export { ImapBackendError } from "./backend.js";
export type { ImapAccount, ImapBackend, ImapChanges, ImapFlagOperation, ImapMailboxInfo, ImapMessageContent, ImapMessageMeta, ImapOptions, ImapTlsInfo, ImapTransport } from "./backend.js";
