export { Queue, type QueueOptions } from "./queue.js";
export { IncomingMessage, type IncomingEnvelope } from "./incoming.js";
export { GroupCommitter } from "./group-commit.js";
