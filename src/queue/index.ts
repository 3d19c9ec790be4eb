export { Queue, type QueueOptions } from "./queue.js";
export { IncomingMessage, type IncomingEnvelope } from "./incoming.js";
export { Scheduler, type SchedulerOptions } from "./scheduler.js";
export type { Transport, DeliveryJob, AttemptOutcome } from "./transport.js";
export { nextAttempt, DEFAULT_RETRY_DELAYS_MS, type RetryPolicy } from "./retry.js";
