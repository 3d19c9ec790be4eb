export { Queue, type QueueOptions } from "./queue.js";
export { IncomingMessage, type IncomingEnvelope } from "./incoming.js";
export { Scheduler, type SchedulerOptions } from "./scheduler.js";
export type { Transport, DeliveryJob, AttemptOutcome } from "./transport.js";
export { nextAttempt, DEFAULT_RETRY_DELAYS_MS, type RetryPolicy } from "./retry.js";
export { buildDsn, wantsNotice, statusFor, type DsnInput, type DsnRecipient, type DsnAction, type NoticeKind } from "./dsn.js";
export { prepareNotice, type NoticeEvent, type NoticeOptions } from "./notices.js";
