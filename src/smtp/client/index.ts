export { SmtpClient, RFC_CLIENT_TIMEOUTS, statusOf, type ClientOptions, type ClientTimeouts, type OutgoingMessage, type OutgoingRecipient, type RecipientResult, type RecipientStatus } from "./client.js";
export { ClientError, type ClientErrorKind, type ClientIo, type ClientTlsInfo } from "./io.js";
export { ReplyReader, ReplySyntaxError, replyString, parsedReply, type ServerReply } from "./reply-reader.js";
export { parseCapabilities, type Capabilities } from "./capabilities.js";
export { dotStuff } from "./dot-stuff.js";
