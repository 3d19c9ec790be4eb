// Idle connections: M clients that connect, read the greeting, say EHLO, then hold the connection
// open doing nothing (what a server sees from slow or parked clients). The figure is the server's
// memory per held connection. Needs the server's PID for memory, and fds on both sides.
import { isEmfile } from "./fd-limit.js";
import { processTree, snapshot, type ProcSnapshot } from "./proc-sampler.js";
import { openSession, replyText, SmtpError, type SmtpConn } from "./smtp-conn.js";
import { nowMs, sleep } from "./stats.js";

export interface IdleOptions {
  host: string;
  port: number;
  connections: number;
  pid: number | undefined;
  /** Connections being opened at once: enough to be quick, few enough not to overflow backlogs. */
  parallel: number;
  timeoutMs: number;
  /** Stop opening after this many failures: a server that caps connections (Postfix's
   * process_limit) would otherwise cost a connect timeout for each of thousands of clients. */
  maxFailures: number;
}

export interface IdleResult {
  wanted: number;
  /** Connections still open when the server was measured. */
  held: number;
  failed: number;
  openSeconds: number;
  errors: Map<string, number>;
  /** True when opening stopped early because of maxFailures. */
  gaveUp: boolean;
  /** True when we ran out of file descriptors (the caller explains `ulimit -n`). */
  emfile: boolean;
  before: ProcSnapshot | undefined;
  /** Server figures with all connections held. */
  whileHeld: ProcSnapshot | undefined;
  afterClose: ProcSnapshot | undefined;
}

export async function runIdle(opts: IdleOptions): Promise<IdleResult> {
  const pid = opts.pid;
  const measure = (): ProcSnapshot | undefined => (pid ? snapshot(processTree(pid)) : undefined);
  const before = measure();
  const conns: SmtpConn[] = [];
  const errors = new Map<string, number>();
  let failed = 0;
  let emfile = false;
  let next = 0;
  const started = nowMs();

  async function opener(): Promise<void> {
    while (next < opts.connections && !emfile && failed < opts.maxFailures) {
      next++;
      try {
        const { conn } = await openSession(opts.host, opts.port, opts.timeoutMs);
        conns.push(conn);
      } catch (err) {
        failed++;
        if (isEmfile(err)) emfile = true;
        const why =
          err instanceof SmtpError && err.reply ? replyText(err.reply) : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
        errors.set(why, (errors.get(why) ?? 0) + 1);
      }
    }
  }

  await Promise.all(Array.from({ length: Math.min(opts.parallel, opts.connections) }, opener));
  const openSeconds = (nowMs() - started) / 1000;
  // Out of fds, we could not even read /proc to measure: give a few back first.
  if (emfile) for (const c of conns.splice(-20)) c.destroy();
  // Let the server finish whatever it does per new connection (GC, buffers) before measuring.
  await sleep(2000);
  const whileHeld = measure();
  // Count what is still open now: a server may have dropped idle clients in the meantime.
  const held = conns.filter((c) => c.socket.readyState === "open").length;

  for (const c of conns) c.destroy();
  await sleep(2000);
  const afterClose = measure();
  return {
    wanted: opts.connections,
    held,
    failed,
    openSeconds,
    errors,
    emfile,
    gaveUp: failed >= opts.maxFailures,
    before,
    whileHeld,
    afterClose,
  };
}
