/** The mail tools of the CLI: `petrel send` (test client), `petrel sendmail`, `petrel import`, `petrel reindex`. */
export { sendTestMessage, parseServer, type SendOptions, type SendOutcome } from "./send.js";
export { composeMessage, parseHeaderArg, guessContentType, type Attachment, type ComposeInput } from "./compose.js";
export { EX, SendmailError, readMessage, prepareMessage, queueMessage, type SendmailRequest } from "./sendmail.js";
export { importMail, targetName, type ImportOptions, type ImportProgress, type ImportResult } from "./import.js";
export { TranscriptIo, type Direction } from "./transcript-io.js";
export { reindex, type ReindexOptions, type ReindexProgress, type ReindexResult } from "./reindex.js";
