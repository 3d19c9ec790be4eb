/**
 * Petrel's metrics: the families, and the hooks that move them. The protocol engines import
 * nothing from here: they already report what happens through the logger (connect, accepted,
 * rejected with the reply sent, auth, disconnect), so each listener's sessions get a logger
 * that also feeds these counters (tapLogger). Connections are counted at the socket, delivery
 * attempts by wrapping each transport, acceptance latency in the SMTP handler, and queue sizes
 * and process figures are read when /metrics is scraped.
 */
import type { Socket } from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { LogFields, Logger } from "../core/logger.js";
import { Registry, type Collector } from "../observability/metrics.js";
import type { AttemptOutcome, Transport } from "../queue/transport.js";

/** "550 5.1.1 User unknown" -> "550 5.1.1"; anything else -> "none". */
export function replyCode(reply: unknown): string {
  if (typeof reply !== "string") return "none";
  const m = /^(\d{3})(?:[ -](\d\.\d{1,3}\.\d{1,3}))?/.exec(reply);
  return m ? (m[2] ? `${m[1]} ${m[2]}` : m[1]!) : "none";
}

function label(v: unknown, fallback = "unknown"): string {
  return typeof v === "string" && v !== "" ? v.slice(0, 64) : fallback;
}

export class PetrelMetrics {
  readonly registry = new Registry();
  private readonly loopDelay: IntervalHistogram;
  private readonly startedAt = Date.now() / 1000;

  readonly connections = this.registry.counter("petrel_connections_total", "TCP connections accepted, by listener.", ["listener"]);
  readonly connectionsOpen = this.registry.gauge("petrel_connections_open", "TCP connections open now, by listener.", ["listener"]);
  readonly connectionsRefused = this.registry.counter("petrel_connections_refused_total", "Connections refused because a connection limit was reached.", ["listener"]);
  readonly sessions = this.registry.counter("petrel_sessions_total", "Protocol sessions ended, by listener and how they ended.", ["listener", "result"]);
  readonly messages = this.registry.counter("petrel_smtp_messages_total", "Messages at end of DATA/BDAT: accepted (250) or rejected, with the reply code sent.", ["listener", "result", "code"]);
  readonly rejections = this.registry.counter("petrel_smtp_rejections_total", "SMTP refusals sent, by stage (connect, mail, rcpt, data, command) and reply code.", ["listener", "stage", "code"]);
  readonly acceptLatency = this.registry.histogram("petrel_smtp_accept_duration_seconds", "From the end of the message data to the 250 (policy, durable commit).", ["listener"]);
  readonly deliveryAttempts = this.registry.counter("petrel_delivery_attempts_total", "Delivery attempts per recipient, by route (local, remote) and result (delivered, deferred, failed).", ["route", "result"]);
  readonly attemptDuration = this.registry.histogram("petrel_delivery_attempt_duration_seconds", "Duration of one delivery attempt (one message, its recipients on one route).", ["route"]);
  readonly deliveryLatency = this.registry.histogram("petrel_delivery_latency_seconds", "From arrival in the queue to delivery, per delivered recipient.", ["route"], [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 900, 3600, 14400, 86400]);
  readonly auth = this.registry.counter("petrel_auth_total", "Logins (SMTP AUTH, IMAP, POP3) by listener and result (ok, failed).", ["listener", "result"]);
  readonly authFailures = this.registry.counter("petrel_auth_failures_total", "Failed logins by protocol and reason (blocked: refused by the lockout).", ["protocol", "reason"]);
  readonly http = this.registry.counter("petrel_http_requests_total", "HTTP requests by handler and status code.", ["handler", "code"]);
  readonly collectErrors = this.registry.counter("petrel_metrics_collect_errors_total", "Metric families that could not be read during a scrape.", ["family"]);

  constructor() {
    this.loopDelay = monitorEventLoopDelay({ resolution: 10 });
    this.loopDelay.enable();
    this.processMetrics();
  }

  close(): void {
    this.loopDelay.disable();
  }

  /** A gauge family read at scrape time (queue sizes, sessions). */
  collected(name: string, help: string, labels: readonly string[], collect: Collector): void {
    this.registry.collected(name, help, labels, collect);
  }

  render(): Promise<string> {
    return this.registry.render((family) => this.collectErrors.inc({ family }));
  }

  /** Count an accepted socket on a listener until it closes. */
  socket(listener: string, s: Socket): void {
    this.connections.inc({ listener });
    this.connectionsOpen.inc({ listener });
    s.once("close", () => this.connectionsOpen.dec({ listener }));
  }

  /** What a session's log line tells (see tapLogger). */
  event(listener: string, f: LogFields): void {
    switch (f.event) {
      case "accepted":
        this.messages.inc({ listener, result: "accepted", code: "250" });
        return;
      case "rejected": {
        const stage = label(f.stage);
        const code = replyCode(f.reply);
        if (stage === "connect" && f.reply === undefined) {
          this.connectionsRefused.inc({ listener });
          return;
        }
        this.rejections.inc({ listener, stage, code });
        if (stage === "data") this.messages.inc({ listener, result: "rejected", code });
        return;
      }
      case "mail":
      case "rcpt":
        if (f.reply !== undefined) this.rejections.inc({ listener, stage: f.event, code: replyCode(f.reply) });
        return;
      case "auth":
        this.auth.inc({ listener, result: f.result === "ok" ? "ok" : "failed" });
        return;
      case "auth-failure":
        this.authFailures.inc({ protocol: label(f.protocol), reason: label(f.reason) });
        return;
      case "disconnect":
        this.sessions.inc({ listener, result: label(f.reason).replace(/ /g, "_") });
        return;
    }
  }

  /** Observe the attempts of one route: outcome counts, attempt duration, arrival-to-delivery latency. */
  transport<T extends Transport>(route: string, t: T): T {
    const m = this;
    return {
      ...t,
      async deliver(job) {
        const started = performance.now();
        let outcomes: AttemptOutcome[];
        try {
          outcomes = await t.deliver(job);
        } finally {
          m.attemptDuration.observe((performance.now() - started) / 1000, { route });
        }
        const now = Date.now();
        for (const o of outcomes) {
          // Destination busy: nothing was attempted (the scheduler keeps it for the next free slot).
          if (o.busy) continue;
          // A "retry" becomes deferred in the queue (or failed once the maximum queue time is up).
          m.deliveryAttempts.inc({ route, result: o.status === "retry" ? "deferred" : o.status });
          if (o.status === "delivered") m.deliveryLatency.observe(Math.max(0, now - job.message.createdAt) / 1000, { route });
        }
        return outcomes;
      },
    };
  }

  private processMetrics(): void {
    const r = this.registry;
    const one = (value: number) => [{ value }];
    r.collected("process_resident_memory_bytes", "Resident memory size in bytes.", [], () => one(process.memoryUsage.rss()));
    r.collected("process_cpu_seconds_total", "User and system CPU time spent, in seconds.", [], () => {
      const c = process.cpuUsage();
      return one((c.user + c.system) / 1e6);
    });
    r.collected("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", [], () => one(this.startedAt));
    r.collected("process_open_fds", "Open file descriptors (Linux).", [], () => one(readdirSync("/proc/self/fd").length));
    r.collected("process_max_fds", "Limit of open file descriptors (Linux).", [], () => {
      const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
      return m ? one(Number(m[1])) : [];
    });
    r.collected("nodejs_heap_used_bytes", "V8 heap in use, in bytes.", [], () => one(process.memoryUsage().heapUsed));
    r.collected("nodejs_heap_total_bytes", "V8 heap allocated, in bytes.", [], () => one(process.memoryUsage().heapTotal));
    r.collected("nodejs_external_memory_bytes", "Memory of C++ objects bound to JavaScript (buffers), in bytes.", [], () => one(process.memoryUsage().external));
    // The event-loop delay since the previous scrape (the histogram is reset after each one).
    r.collected("nodejs_eventloop_lag_seconds", "Event-loop delay since the previous scrape: mean, p99 and max.", ["stat"], () => {
      const h = this.loopDelay;
      const s = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
      const samples = [
        { labels: { stat: "mean" }, value: h.count > 0 ? s(h.mean) : 0 },
        { labels: { stat: "p99" }, value: h.count > 0 ? s(h.percentile(99)) : 0 },
        { labels: { stat: "max" }, value: h.count > 0 ? s(h.max) : 0 },
      ];
      h.reset();
      return samples;
    });
  }
}

/**
 * A logger that also feeds the metrics: every line of a listener's sessions (and of their
 * child loggers) is shown to metrics.event with the listener's name, then logged as before.
 */
export function tapLogger(log: Logger, listener: string, metrics: PetrelMetrics): Logger {
  const see = (f: LogFields) => {
    if (typeof f.event === "string") metrics.event(listener, f);
  };
  return {
    info: (f, m) => (see(f), log.info(f, m)),
    warn: (f, m) => (see(f), log.warn(f, m)),
    error: (f, m) => (see(f), log.error(f, m)),
    debug: (f, m) => (see(f), log.debug(f, m)),
    child: (f) => tapLogger(log.child(f), listener, metrics),
  };
}
