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
import type { ResolveOptions } from "../delivery/local/resolve.js";
import { hostname as osHostname } from "node:os";
import { ConnectionLimiter, serveSocket } from "./serve-socket.js";
import { SmtpSession } from "../smtp/session/session.js";
import { formatReply } from "../core/reply.js";
import { R } from "../smtp/replies.js";
import { RFC_DEFAULTS, type SessionOptions } from "../smtp/session/options.js";
import { createSmtpHandler } from "./smtp-handler.js";
import { listen, type BoundListener } from "./listeners.js";
import { ensureSelfSigned, FileTlsProvider } from "./tls.js";
import { Pop3Session } from "../pop3/session.js";
import type { Pop3Options } from "../pop3/backend.js";
import { createPop3Backend } from "./pop3-backend.js";

/** A failed POP3 login is answered after this long, whatever the reason. */
const POP3_FAILURE_DELAY_MS = 1000;

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
  private readonly pop3Sessions = new Set<Pop3Session>();
  private stopping?: Promise<void>;

  readonly scheduler: Scheduler;

  private constructor(
    private readonly opts: PetrelOptions,
    readonly store: Store,
    readonly queue: Queue,
    readonly tls: FileTlsProvider,
    clock: Clock,
  ) {
    const { config, log } = opts;
    const transport = createLocalTransport({
      directory: store.directory,
      mailstore: store.mailstore,
      forward: (sender, recipients, body, queueId) => queue.submit(sender, recipients, body, { forwardedFrom: queueId }, { listener: "internal", helo: config.hostname }),
      log,
      opts: { resolve: this.resolveOptions(), quotaExceeded: config.delivery.quotaExceeded, maxHops: config.delivery.maxHops },
    });
    this.scheduler = new Scheduler(
      store.queue,
      queue,
      transport,
      { node: osHostname(), concurrency: config.delivery.concurrency, claimBatch: 500, leaseMs: 10 * 60_000, idlePollMs: 5_000, retry: { delaysMs: config.delivery.retryDelays, maxQueueTimeMs: config.outbound.maxQueueTime } },
      clock,
      log,
    );
  }

  private resolveOptions(): ResolveOptions {
    return { separator: this.opts.config.delivery.subaddressSeparator, postmaster: this.opts.config.delivery.postmaster };
  }

  static async start(opts: PetrelOptions): Promise<Petrel> {
    const { config, log } = opts;
    const clock = opts.clock ?? systemClock;
    const opened = await openStore(config, { server: true });
    const { bodiesInStore } = opened;
    // Every message looks up domains, accounts and aliases several times: cache them briefly.
    const store: Store = { ...opened.store, directory: new CachedDirectory(opened.store.directory) };
    try {
      if (opts.development) await store.directory.addDomain(DEVELOPMENT_DOMAIN);
      const queue = new Queue(store.queue, { spoolDir: spoolDir(config), inlineMax: config.smtp.inlineMaxSize, bodiesInStore }, clock, log);
      await queue.start();
      const files = config.tls.cert && config.tls.key ? { cert: config.tls.cert, key: config.tls.key } : await ensureSelfSigned(join(config.dataDir, "tls"), config.hostname, log);
      const petrel = new Petrel(opts, store, queue, new FileTlsProvider(files), clock);
      await petrel.openListeners(clock);
      if (opts.deliver !== false && config.delivery.enabled) petrel.scheduler.start();
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
    const handler = createSmtpHandler({ queue: this.queue, directory: this.store.directory, log, resolve: this.resolveOptions(), quotaExceeded: config.delivery.quotaExceeded, onQueued: () => this.scheduler.wake() });
    const limiter = new ConnectionLimiter(config.limits.maxConnections, config.limits.maxConnectionsPerIp);
    const open = async (name: string, address: string, onSocket: (s: Socket) => void, implicitTls: boolean) => {
      const bound = await listen(name, address, onSocket, implicitTls ? this.tls : undefined);
      this.listeners.push(bound);
      log.info({ event: "listening", listener: name, host: bound.host, port: bound.port }, `listening on ${bound.host}:${bound.port} (${name})`);
    };
    for (const name of ["smtp", "submission", "submissions"] as const) {
      const address = config.listen[name];
      if (address === false) continue;
      const opts = this.sessionOptions(name);
      const refusal = formatReply(R.tooManyConnections(config.hostname));
      await open(name, address, (s) => serveSocket(s, { listener: name, log, limiter, tls: this.tls, sessions: this.sessions, refusal, create: (t) => new SmtpSession(opts, handler, t, log, clock) }), name === "submissions");
    }
    const pop3Backend = createPop3Backend(this.store.directory, this.store.mailstore);
    for (const name of ["pop3", "pop3s"] as const) {
      const address = config.listen[name];
      if (address === false) continue;
      const opts: Pop3Options = {
        hostname: config.hostname,
        listener: name,
        starttls: name === "pop3",
        allowInsecureAuth: config.pop3.allowInsecureAuth,
        idleTimeoutMs: config.pop3.idleTimeout,
        failureDelayMs: POP3_FAILURE_DELAY_MS,
        maxAuthFailures: 3,
      };
      const refusal = "-ERR [SYS/TEMP] too many connections\r\n";
      await open(name, address, (s) => serveSocket(s, { listener: name, log, limiter, tls: this.tls, sessions: this.pop3Sessions, refusal, create: (t) => new Pop3Session(opts, pop3Backend, t, log, clock) }), name === "pop3s");
    }
    for (const name of ["imap", "imaps", "http"] as const) {
      if (config.listen[name] !== false) log.info({ event: "listener-unavailable", listener: name }, `${name} is not implemented yet; not listening`);
    }
  }

  port(name: string): number {
    const l = this.listeners.find((x) => x.name === name);
    if (!l) throw new Error(`listener ${name} is not open`);
    return l.port;
  }

  /** Re-read certificates (SIGHUP): new handshakes use them, open sessions are untouched. */
  reloadTls(): void {
    this.tls.reload();
    for (const l of this.listeners) if (l.tls) (l.server as TlsServer).setSecureContext(this.tls.options());
    this.opts.log.info({ event: "tls-reload" }, "certificates reloaded");
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
    const closed = this.listeners.map((l) => new Promise<void>((r) => l.server.close(() => r())));
    for (const s of this.sessions) s.shutdown();
    // POP3 sessions hold no message in flight: they end now, and nothing is expunged.
    for (const s of this.pop3Sessions) s.shutdown();
    const all = Promise.all([...this.sessions].map((s) => s.closed));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, config.limits.shutdownGrace)));
    await Promise.race([all, grace]);
    clearTimeout(timer);
    for (const s of this.sessions) s.shutdownNow();
    // Sessions whose commit was running reply and close as soon as it ends; bounded anyway.
    await Promise.race([Promise.all([...this.sessions].map((s) => s.closed)), new Promise((r) => setTimeout(r, 15_000).unref())]);
    await Promise.race([Promise.all([...this.pop3Sessions].map((s) => s.closed)), new Promise((r) => setTimeout(r, 5_000).unref())]);
    await Promise.all(closed);
    await this.queue.drained();
    await this.scheduler.stop();
    await this.store.close();
    log.info({ event: "stopped" }, "stopped");
  }
}
