// The SMTP load generator: C concurrent workers, each running sessions one after another until N
// messages have been handed out. A session sends K messages (K = 1: one message per connection,
// the MX pattern; K > 1: a busy relay keeping its connection). MAIL, RCPT and DATA go in one write
// when the server offers PIPELINING (RFC 2920); the body is sent only after the 354.
import { messageFactory, type MessageFactory } from "./message.js";
import { openSession, replyText, SmtpConn, SmtpError, type Reply } from "./smtp-conn.js";
import { nowMs, percentile } from "./stats.js";

export interface LoadOptions {
  host: string;
  port: number;
  concurrency: number;
  /** Total messages to send. */
  count: number;
  /** Message size in bytes (before dot-stuffing). */
  size: number;
  perSession: number;
  from: string;
  to: string;
  /** Stop starting new sessions after this long (a slow server must not stall the whole matrix). */
  maxSeconds: number;
  /** Per-reply timeout. */
  timeoutMs: number;
  /** Use PIPELINING when offered (default true). */
  pipelining: boolean;
  /** AUTH PLAIN after EHLO (submission listener: relaying to other domains needs it). */
  auth?: { user: string; password: string };
}

export interface LoadResult {
  /** Messages sent or failed (less than count when maxSeconds cut the run short). */
  attempted: number;
  accepted: number;
  failed: number;
  wallSeconds: number;
  messagesPerSecond: number;
  sessions: number;
  /** Connect to QUIT reply, ms, of sessions that completed. */
  sessionP50Ms: number;
  sessionP99Ms: number;
  /** MAIL sent to the reply after the final dot, ms, of accepted messages. */
  messageP50Ms: number;
  messageP99Ms: number;
  pipelined: boolean;
  /** First few distinct error texts, with how often each happened. */
  errors: Map<string, number>;
  wireBytesPerMessage: number;
}

const MAX_DISTINCT_ERRORS = 5;

class Tally {
  attempted = 0;
  accepted = 0;
  failed = 0;
  sessions = 0;
  pipelined = false;
  sessionMs: number[] = [];
  messageMs: number[] = [];
  errors = new Map<string, number>();
  private errorKinds = 0;

  fail(n: number, why: string): void {
    this.failed += n;
    const seen = this.errors.get(why);
    if (seen !== undefined) this.errors.set(why, seen + n);
    else if (this.errorKinds++ < MAX_DISTINCT_ERRORS) this.errors.set(why, n);
  }
}

/** Error text for the report: the reply line, or the socket error code. */
function describe(err: unknown): string {
  if (err instanceof SmtpError) return err.reply ? replyText(err.reply) : err.message;
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message}` : String(e.message ?? err);
}

function is2xx(r: Reply): boolean {
  return r.code >= 200 && r.code < 300;
}

/** One mail transaction, tallied as accepted or failed. Throws only when the connection broke or
 * a reply timed out; the caller then abandons the session. */
async function sendOne(
  conn: SmtpConn,
  opts: LoadOptions,
  msg: MessageFactory,
  seq: number,
  pipelining: boolean,
  t: Tally,
): Promise<void> {
  const started = nowMs();
  const mail = `MAIL FROM:<${opts.from}>\r\n`;
  const rcpt = `RCPT TO:<${opts.to}>\r\n`;
  let mailR: Reply;
  let rcptR: Reply;
  let dataR: Reply;
  if (pipelining) {
    // RFC 2920: MAIL, RCPT and DATA may share one packet; read the three replies in order.
    conn.write(mail + rcpt + "DATA\r\n");
    mailR = await conn.read(opts.timeoutMs);
    rcptR = await conn.read(opts.timeoutMs);
    dataR = await conn.read(opts.timeoutMs);
  } else {
    conn.write(mail);
    mailR = await conn.read(opts.timeoutMs);
    if (!is2xx(mailR)) return rejected(conn, opts, t, mailR);
    conn.write(rcpt);
    rcptR = await conn.read(opts.timeoutMs);
    if (!is2xx(rcptR)) return rejected(conn, opts, t, rcptR);
    conn.write("DATA\r\n");
    dataR = await conn.read(opts.timeoutMs);
  }
  if (dataR.code !== 354) return rejected(conn, opts, t, is2xx(mailR) ? (is2xx(rcptR) ? dataR : rcptR) : mailR);
  if (!is2xx(mailR) || !is2xx(rcptR)) {
    // The server opened DATA although the envelope failed: end it with an empty message.
    conn.write(".\r\n");
    await conn.read(opts.timeoutMs);
    return rejected(conn, opts, t, is2xx(mailR) ? rcptR : mailR);
  }
  // One writev for headers + body + terminator (cork), not three small packets.
  conn.socket.cork();
  for (const b of msg.next(seq)) conn.write(b);
  conn.socket.uncork();
  const final = await conn.read(opts.timeoutMs);
  if (!is2xx(final)) return rejected(conn, opts, t, final, false);
  t.accepted++;
  t.messageMs.push(nowMs() - started);
}

/** Tallies a refused message and resets the transaction so the session can go on. */
async function rejected(conn: SmtpConn, opts: LoadOptions, t: Tally, r: Reply, rset = true): Promise<void> {
  t.fail(1, replyText(r));
  if (rset) await conn.command("RSET", opts.timeoutMs);
}

async function runSession(
  opts: LoadOptions,
  msg: MessageFactory,
  firstSeq: number,
  k: number,
  deadline: number,
  t: Tally,
): Promise<void> {
  const started = nowMs();
  let done = 0;
  let conn: SmtpConn | undefined;
  try {
    const s = await openSession(opts.host, opts.port, opts.timeoutMs);
    conn = s.conn;
    if (opts.auth) {
      const token = Buffer.from(`\0${opts.auth.user}\0${opts.auth.password}`, "utf8").toString("base64");
      const r = await conn.command(`AUTH PLAIN ${token}`, opts.timeoutMs);
      if (r.code !== 235) throw new SmtpError(`AUTH: ${replyText(r)}`, r);
    }
    const pipelining = opts.pipelining && s.keywords.has("PIPELINING");
    if (pipelining) t.pipelined = true;
    for (; done < k; done++) {
      // Past the time budget, end long sessions early: the rest is not sent (not a failure).
      if (done > 0 && nowMs() > deadline) break;
      await sendOne(conn, opts, msg, firstSeq + done, pipelining, t);
    }
    t.attempted += done;
    const bye = await conn.quit(opts.timeoutMs);
    t.sessions++;
    if (bye?.code === 221 && done === k) t.sessionMs.push(nowMs() - started);
  } catch (err) {
    // The connection broke (or a reply timed out): the rest of this session's messages failed.
    t.attempted += k;
    t.fail(k - done, describe(err));
    conn?.destroy();
  }
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const msg = messageFactory({ from: opts.from, to: opts.to, size: opts.size });
  const t = new Tally();
  let handedOut = 0; // messages reserved by sessions; t.attempted counts those really sent
  const started = nowMs();
  const deadline = started + opts.maxSeconds * 1000;

  async function worker(): Promise<void> {
    while (handedOut < opts.count && nowMs() < deadline) {
      const k = Math.min(opts.perSession, opts.count - handedOut);
      const first = handedOut;
      handedOut += k;
      await runSession(opts, msg, first, k, deadline, t);
    }
  }

  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const wallSeconds = (nowMs() - started) / 1000;
  return {
    attempted: t.attempted,
    accepted: t.accepted,
    failed: t.failed,
    wallSeconds,
    messagesPerSecond: t.accepted / wallSeconds,
    sessions: t.sessions,
    sessionP50Ms: percentile(t.sessionMs, 50),
    sessionP99Ms: percentile(t.sessionMs, 99),
    messageP50Ms: percentile(t.messageMs, 50),
    messageP99Ms: percentile(t.messageMs, 99),
    pipelined: t.pipelined,
    errors: t.errors,
    wireBytesPerMessage: msg.wireBytes,
  };
}
