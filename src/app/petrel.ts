/**
 * The composition root: builds the store, queue, policy and protocol engines from the config,
 * opens the listeners, and shuts everything down in order.
 */
import { join } from "node:path";
import type { Socket } from "node:net";
import type { Server as TlsServer } from "node:tls";
import { systemClock, type Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Config } from "../config/schema.js";
import { DEVELOPMENT_DOMAIN } from "../config/profiles.js";
import { openStore, spoolDir } from "./open-store.js";
import { CachedDirectory } from "../store/cached-directory.js";
import type { Store } from "../store/types.js";
import { Queue } from "../queue/queue.js";
import { Scheduler } from "../queue/scheduler.js";
import { createLocalTransport } from "../delivery/local/transport.js";
import type { RoutingTransport } from "../delivery/router.js";
import { createOutbound } from "./outbound.js";
import { Forwarding } from "./forwarding.js";
import type { ResolveOptions } from "../delivery/local/resolve.js";
import { hostname as osHostname } from "node:os";
import { ConnectionLimiter, serveSocket } from "./serve-socket.js";
import { SmtpSession } from "../smtp/session/session.js";
import { formatReply } from "../core/reply.js";
import { R } from "../smtp/replies.js";
import { RFC_DEFAULTS, type SessionOptions } from "../smtp/session/options.js";
import { createSmtpHandler } from "./smtp-handler.js";
import { Submission } from "./submission.js";
import { DkimSigning } from "./dkim-signing.js";
import { InboundAuth } from "./inbound-auth.js";
import { createInboundGuard } from "./antiabuse.js";
import { createSpamFilter } from "./spam-filter.js";
import { DmarcReports } from "./dmarc-reports.js";
import { withDsnIntake } from "./dsn-intake.js";
import type { InboundGuard } from "../policy/antiabuse.js";
import { DnsResolver } from "../dns/resolver.js";
import { listen, type BoundListener } from "./listeners.js";
import { ensureSelfSigned, FileTlsProvider } from "./tls.js";
import { Pop3Session } from "../pop3/session.js";
import type { Pop3Options } from "../pop3/backend.js";
import { createPop3Backend } from "./pop3-backend.js";
import { ImapSession } from "../imap/session.js";
import type { ImapOptions } from "../imap/backend.js";
import { createImapBackend } from "./imap-backend.js";
import { MailboxEvents, notifyingMailstore } from "./mailbox-events.js";
import { createAuthenticator } from "./authenticator.js";
import { applyLiveKeys, type ReloadChanges } from "../config/reload.js";
import type { Authenticator } from "../auth/authenticator.js";
import { PetrelMetrics, tapLogger } from "./metrics.js";
import { HttpServer, type Readiness } from "./http-server.js";
import type { MailPorts } from "./autoconfig.js";

type SmtpListenerName = "smtp" | "submission" | "submissions";

export interface PetrelOptions {
  config: Config & { hostname: string };
  development: boolean;
  log: Logger;
  clock?: Clock;
  /** Start the delivery scheduler (default true; tests of SMTP acceptance alone turn it off). */
  deliver?: boolean;
}

export class Petrel {
  readonly listeners: BoundListener[] = [];
  private readonly sessions = new Set<SmtpSession>();
  /** Rate limits, DNSBL, greylisting on the MX listener (its prune timer stops at shutdown). */
  private antiAbuse?: InboundGuard;
  private readonly pop3Sessions = new Set<Pop3Session>();
  private readonly imapSessions = new Set<ImapSession>();
  /** Wakes IMAP sessions (IDLE, NOOP) when a mailbox they show changes. */
  private events!: MailboxEvents;
  private stopping?: Promise<void>;
  /** Counters and gauges served on /metrics (listen.http). */
  readonly metrics = new PetrelMetrics();
  private readonly taps = new Map<string, Logger>();
  /** The HTTP listener (metrics, health, autoconfig), when listen.http is set. */
  http?: HttpServer;

  readonly scheduler: Scheduler;
  private readonly router: RoutingTransport;
  /** DMARC aggregate reports: received ones stored, ours recorded and sent daily. */
  readonly dmarc: DmarcReports;
  /** SRS and ARC sealing of forwarded mail. */
  readonly forwarding: Forwarding;
  /** DNS for outbound delivery (MX, MTA-STS) and forwarding (tests clear its cache). */
  readonly outboundResolver: DnsResolver;
  /** Logins of every protocol, with the shared lockout (IMAP and POP3 backends use it too). */
  readonly authenticator: Authenticator;

  private constructor(
    private readonly opts: PetrelOptions,
    readonly store: Store,
    readonly queue: Queue,
    readonly tls: FileTlsProvider,
    clock: Clock,
  ) {
    const { config, log } = opts;
    this.authenticator = createAuthenticator(config, store, clock, this.tap("auth"));
    // SRS and ARC for mail forwarded to remote alias targets.
    this.outboundResolver = new DnsResolver({ servers: config.dns.servers });
    this.forwarding = new Forwarding({ config, keys: store.dkimKeys, resolver: this.outboundResolver, log, now: () => clock.now() });
    const forwarding = this.forwarding;
    this.registerGauges();
    const local = createLocalTransport({
      directory: store.directory,
      mailstore: store.mailstore,
      forward: async (sender, recipients, body, queueId, via) => {
        const out = await forwarding.prepare(sender, body, via?.aliasDomain);
        return queue.submit(out.sender, recipients, out.body, { forwardedFrom: queueId, ...(via?.requireTls ? { requireTls: true } : {}) }, { listener: "internal", helo: config.hostname });
      },
      log,
      opts: { resolve: this.resolveOptions(), quotaExceeded: config.delivery.quotaExceeded, maxHops: config.delivery.maxHops },
    });
    // Local recipients to the mailboxes, the rest to their MX or the smart host.
    this.dmarc = new DmarcReports({ config, store, resolver: this.outboundResolver, log, now: () => clock.now() });
    this.router = createOutbound(config, store.directory, this.dmarc.wrap(withDsnIntake(local, { events: store.deliveryEvents, hostname: () => config.hostname, log, now: () => clock.now() })), log, this.outboundResolver, (route, t) => this.metrics.transport(route, t), store.keyValue);
    this.scheduler = new Scheduler(
      store.queue,
      queue,
      this.router,
      { node: osHostname(), concurrency: config.delivery.concurrency, claimBatch: 500, leaseMs: 10 * 60_000, idlePollMs: 5_000, retry: { get delaysMs() { return config.delivery.retryDelays; }, get maxQueueTimeMs() { return config.outbound.maxQueueTime; } }, notices: { hostname: config.hostname, get delayWarningMs() { return config.outbound.delayWarning; } } },
      clock,
      log,
    );
  }

  private resolveOptions(): ResolveOptions {
    return { separator: this.opts.config.delivery.subaddressSeparator, postmaster: this.opts.config.delivery.postmaster, ...(this.forwarding.srs ? { srs: this.forwarding.srs } : {}) };
  }

  static async start(opts: PetrelOptions): Promise<Petrel> {
    const { config, log } = opts;
    const clock = opts.clock ?? systemClock;
    const opened = await openStore(config, { server: true });
    const { bodiesInStore } = opened;
    // Other nodes' writes to a shared PostgreSQL store are found by polling open mailboxes.
    const events = new MailboxEvents(opened.store.mailstore, config.storage.backend === "postgres" ? config.imap.pollInterval : null);
    // Every message looks up domains, accounts and aliases several times: cache them briefly.
    // Every mailbox write (delivery, POP3, IMAP) wakes the IMAP sessions showing that mailbox.
    const store: Store = { ...opened.store, directory: new CachedDirectory(opened.store.directory), mailstore: notifyingMailstore(opened.store.mailstore, events) };
    try {
      if (opts.development) await store.directory.addDomain(DEVELOPMENT_DOMAIN);
      const queue = new Queue(store.queue, { spoolDir: spoolDir(config), inlineMax: config.smtp.inlineMaxSize, bodiesInStore }, clock, log);
      await queue.start();
      const files = config.tls.cert && config.tls.key ? { cert: config.tls.cert, key: config.tls.key } : await ensureSelfSigned(join(config.dataDir, "tls"), config.hostname, log);
      const petrel = new Petrel(opts, store, queue, new FileTlsProvider(files, config.tls.certificates), clock);
      petrel.events = events;
      await petrel.openListeners(clock);
      if (config.listen.http !== false) await petrel.startHttp(config.listen.http);
      petrel.tls.watch(config.tls.watchInterval, log, () => petrel.applyTls());
      if (opts.deliver !== false && config.delivery.enabled) petrel.scheduler.start();
      petrel.dmarc.start((cutoff) => petrel.dmarc.send(queue, cutoff));
      return petrel;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  private sessionOptions(listener: SmtpListenerName): SessionOptions {
    const c = this.opts.config;
    return {
      ...RFC_DEFAULTS,
      hostname: c.hostname,
      listener,
      maxMessageSize: c.smtp.maxMessageSize,
      maxRecipients: c.smtp.maxRecipients,
      maxTransactions: c.smtp.maxTransactions,
      maxErrors: c.smtp.maxErrors,
      maxJunkCommands: c.smtp.maxJunkCommands,
      maxTextLine: c.smtp.maxTextLineLength,
      bareLineEndings: c.smtp.bareLineEndings,
      commandTimeoutMs: c.smtp.commandTimeout,
      dataTimeoutMs: c.smtp.dataTimeout,
      dataMaxTimeMs: c.smtp.dataMaxTime,
      starttls: listener !== "submissions",
      requireAuth: listener !== "smtp" && c.smtp.submissionRequiresAuth,
      authRequiresTls: !c.smtp.allowInsecureAuth,
    };
  }

  private async openListeners(clock: Clock): Promise<void> {
    const { config, log } = this.opts;
    const submission = new Submission({ directory: this.store.directory, sendCounters: this.store.sendCounters, limits: config.submission.limits, separator: config.delivery.subaddressSeparator, hostname: config.hostname, log, now: () => clock.now() });
    this.antiAbuse = createInboundGuard(config, this.store, log, clock);
    const handler = createSmtpHandler({ queue: this.queue, directory: this.store.directory, log, resolve: this.resolveOptions(), quotaExceeded: config.delivery.quotaExceeded, onQueued: () => this.scheduler.wake(), observeAccept: (s, seconds) => this.metrics.acceptLatency.observe(seconds, { listener: s.listener }), submission, antiAbuse: this.antiAbuse, spamFilter: createSpamFilter(config, log), authenticator: this.authenticator, dkim: new DkimSigning({ keys: this.store.dkimKeys, log, now: () => clock.now() }), inboundAuth: new InboundAuth({ resolver: new DnsResolver({ servers: config.dns.servers }), hostname: config.hostname, config: config.inbound, log, now: () => clock.now(), onEvaluated: (s, txn, r, d) => this.dmarc.observe(s, txn, r, d) }) });
    const limiter = new ConnectionLimiter(config.limits);
    const open = async (name: string, address: string, onSocket: (s: Socket) => void, implicitTls: boolean) => {
      const bound = await listen(name, address, (s) => (this.metrics.socket(name, s), onSocket(s)), implicitTls ? this.tls : undefined);
      this.listeners.push(bound);
      log.info({ event: "listening", listener: name, host: bound.host, port: bound.port }, `listening on ${bound.host}:${bound.port} (${name})`);
    };
    for (const name of ["smtp", "submission", "submissions"] as const) {
      const address = config.listen[name];
      if (address === false) continue;
      const refusal = formatReply(R.tooManyConnections(config.hostname));
      await open(name, address, (s) => serveSocket(s, { listener: name, log: this.tap(name), limiter, tls: this.tls, sessions: this.sessions, refusal, create: (t) => new SmtpSession(this.sessionOptions(name), handler, t, this.tap(name), clock) }), name === "submissions");
    }
    const pop3Backend = createPop3Backend(this.authenticator, this.store.mailstore);
    for (const name of ["pop3", "pop3s"] as const) {
      const address = config.listen[name];
      if (address === false) continue;
      const opts = (): Pop3Options => ({
        hostname: config.hostname,
        listener: name,
        starttls: name === "pop3",
        allowInsecureAuth: config.pop3.allowInsecureAuth,
        idleTimeoutMs: config.pop3.idleTimeout,
        failureDelayMs: config.auth.failureDelay,
        maxAuthFailures: 3,
      });
      const refusal = "-ERR [SYS/TEMP] too many connections\r\n";
      await open(name, address, (s) => serveSocket(s, { listener: name, log: this.tap(name), limiter, tls: this.tls, sessions: this.pop3Sessions, refusal, create: (t) => new Pop3Session(opts(), pop3Backend, t, this.tap(name), clock) }), name === "pop3s");
    }
    const imapBackend = createImapBackend({
      directory: this.store.directory,
      mailstore: this.store.mailstore,
      events: this.events,
      checkPassword: async (user, password, remoteIp) => {
        const a = await this.authenticator.password({ user, password, remoteIp, protocol: "imap" });
        return a ? { accountId: a.id, address: a.address } : null;
      },
    });
    for (const name of ["imap", "imaps"] as const) {
      const address = config.listen[name];
      if (address === false) continue;
      const opts = (): ImapOptions => ({
        hostname: config.hostname,
        listener: name,
        starttls: name === "imap",
        allowInsecureAuth: config.imap.allowInsecureAuth,
        idleTimeoutMs: config.imap.idleTimeout,
        idleMaxMs: config.imap.idleMax,
        authFailureDelayMs: config.auth.failureDelay,
        maxLineLength: config.imap.maxLineLength,
        maxLiteralSize: config.imap.maxLineLength,
        maxMessageSize: config.smtp.maxMessageSize,
      });
      const refusal = "* BYE [UNAVAILABLE] too many connections\r\n";
      await open(name, address, (s) => serveSocket(s, { listener: name, log: this.tap(name), limiter, tls: this.tls, sessions: this.imapSessions, refusal, create: (t) => new ImapSession(opts(), imapBackend, t, this.tap(name), clock) }), name === "imaps");
    }
  }

  /** The logger of a listener's sessions: the same lines, also counted in the metrics. */
  private tap(listener: string): Logger {
    let t = this.taps.get(listener);
    if (!t) this.taps.set(listener, (t = tapLogger(this.opts.log, listener, this.metrics)));
    return t;
  }

  /** Gauges read at scrape time: the queue by recipient state, open sessions by protocol. */
  private registerGauges(): void {
    this.metrics.collected("petrel_queue_recipients", "Recipients in the queue by state (read from the store when scraped).", ["state"], async () => {
      const counts = await this.store.queue.countByState();
      return Object.entries(counts).map(([state, value]) => ({ labels: { state }, value }));
    });
    this.metrics.collected("petrel_queue_messages", "Messages in the queue (read from the store when scraped).", [], async () => [{ value: await this.store.queue.count() }]);
    this.metrics.collected("petrel_sessions_active", "Protocol sessions open now, by protocol.", ["protocol"], () => [
      { labels: { protocol: "smtp" }, value: this.sessions.size },
      { labels: { protocol: "imap" }, value: this.imapSessions.size },
      { labels: { protocol: "pop3" }, value: this.pop3Sessions.size },
    ]);
  }

  private async startHttp(address: string): Promise<void> {
    const { config, log } = this.opts;
    const http = new HttpServer({
      log,
      metrics: this.metrics,
      hostname: config.hostname,
      ready: () => this.readiness(),
      isLocalDomain: (d) => this.store.directory.isLocalDomain(d),
      ports: () => this.mailPorts(),
    });
    await http.listen(address);
    this.http = http;
    log.info({ event: "listening", listener: "http", host: http.host, port: http.port }, `listening on ${http.host}:${http.port} (http)`);
  }

  /** The ports mail clients are told about (autoconfig): those of the open listeners. */
  private mailPorts(): MailPorts {
    const ports: MailPorts = {};
    for (const l of this.listeners) if (["imaps", "imap", "pop3s", "pop3", "submissions", "submission"].includes(l.name)) ports[l.name as keyof MailPorts] = l.port;
    return ports;
  }

  /** /readyz: not shutting down, every listener open, the store answering a cheap query in time. */
  async readiness(): Promise<Readiness> {
    if (this.stopping) return { ok: false, reason: "shutting down" };
    const closed = this.listeners.filter((l) => !l.server.listening).map((l) => l.name);
    if (closed.length > 0) return { ok: false, reason: `listener not open: ${closed.join(", ")}` };
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error("timed out after 2 s")), 2_000)));
      await Promise.race([this.store.queue.nextDue(), timeout]);
    } catch (e) {
      return { ok: false, reason: `store unreachable: ${(e as Error).message}` };
    } finally {
      clearTimeout(timer);
    }
    return { ok: true };
  }

  port(name: string): number {
    if (name === "http" && this.http) return this.http.port;
    const l = this.listeners.find((x) => x.name === name);
    if (!l) throw new Error(`listener ${name} is not open`);
    return l.port;
  }

  /** Re-read certificates (SIGHUP): new handshakes use them, open sessions are untouched. */
  reloadTls(): void {
    try {
      this.tls.reload();
    } finally {
      // Certificates that did load are taken even when another failed (the error goes on up).
      this.applyTls();
    }
    this.opts.log.info({ event: "tls-reload" }, "certificates reloaded");
  }

  /**
   * Apply a re-read config (SIGHUP). The keys that can change live (config/reload.ts LIVE_KEYS:
   * limits, timeouts, retry delays, log level) are written into the running config, which new
   * sessions, the limiter and the scheduler read when they need a value (the options of each
   * new session are built from it); open sessions keep the values they started with. Other
   * changed keys keep their running value until a restart and are returned in needsRestart.
   * The caller sets the logger's level.
   */
  reload(next: Config): ReloadChanges {
    const changes = applyLiveKeys(this.opts.config, next);
    this.opts.log.info({ event: "config-reload", applied: changes.applied, needsRestart: changes.needsRestart }, "config reloaded");
    if (changes.needsRestart.length) this.opts.log.warn({ event: "config-needs-restart", keys: changes.needsRestart }, `changed keys that need a restart: ${changes.needsRestart.join(", ")}`);
    return changes;
  }

  /** Implicit-TLS listeners take the current default context (SNI lookups ask the provider each time). */
  private applyTls(): void {
    for (const l of this.listeners) if (l.tls) (l.server as TlsServer).setSecureContext(this.tls.options());
  }

  /**
   * Graceful shutdown: stop accepting, give 421 to idle sessions, let sessions in DATA finish
   * within the grace period, then 421 the rest, wait for commits, close the store.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const { log, config } = this.opts;
    log.info({ event: "shutdown", sessions: this.sessions.size }, "shutting down");
    this.tls.close();
    const closed = this.listeners.map((l) => new Promise<void>((r) => l.server.close(() => r())));
    for (const s of this.sessions) s.shutdown();
    // POP3 sessions hold no message in flight: they end now, and nothing is expunged.
    for (const s of this.pop3Sessions) s.shutdown();
    // IMAP sessions keep everything in the store: BYE now.
    for (const s of this.imapSessions) s.shutdown();
    const all = Promise.all([...this.sessions].map((s) => s.closed));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, config.limits.shutdownGrace)));
    await Promise.race([all, grace]);
    clearTimeout(timer);
    for (const s of this.sessions) s.shutdownNow();
    // Sessions whose commit was running reply and close as soon as it ends; bounded anyway.
    await Promise.race([Promise.all([...this.sessions].map((s) => s.closed)), new Promise((r) => setTimeout(r, 15_000).unref())]);
    await Promise.race([Promise.all([...this.pop3Sessions, ...this.imapSessions].map((s) => s.closed)), new Promise((r) => setTimeout(r, 5_000).unref())]);
    this.events.close();
    await Promise.all(closed);
    await this.queue.drained();
    // Remote transactions in progress get the grace period, then their connections are dropped
    // (those recipients are retried after the restart); the scheduler waits for its attempts.
    await Promise.all([this.scheduler.stop(), this.router.close(config.limits.shutdownGrace)]);
    // /readyz answers 503 for the whole shutdown; the HTTP listener goes just before the store.
    await this.http?.close();
    this.metrics.close();
    this.antiAbuse?.stop();
    this.dmarc.stop();
    await this.store.close();
    log.info({ event: "stopped" }, "stopped");
  }
}
