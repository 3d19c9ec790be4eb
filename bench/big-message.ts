// One very large message (default 50 MiB), streamed: generated chunk by chunk and written with
// socket backpressure, so neither side can get away with holding it in memory unnoticed. The
// figure is the server's RSS growth: a streaming server stays flat, a buffering one grows by the
// message size (or more).
import { once } from "node:events";
import { streamMessage } from "./message.js";
import { ProcSampler, type ProcUsage } from "./proc-sampler.js";
import { openSession, replyText, type SmtpConn } from "./smtp-conn.js";
import { nowMs } from "./stats.js";

export interface BigOptions {
  host: string;
  port: number;
  size: number;
  from: string;
  to: string;
  pid: number | undefined;
  timeoutMs: number;
}

export interface BigResult {
  accepted: boolean;
  /** The reply after the final dot (or the first refusal). */
  reply: string;
  seconds: number;
  mibPerSecond: number;
  usage: ProcUsage | undefined;
}

export async function runBig(opts: BigOptions): Promise<BigResult> {
  const sampler = opts.pid ? new ProcSampler(opts.pid) : undefined;
  sampler?.start();
  const started = nowMs();
  const finish = (accepted: boolean, reply: string): BigResult => {
    const seconds = (nowMs() - started) / 1000;
    return { accepted, reply, seconds, mibPerSecond: opts.size / 1048576 / seconds, usage: sampler?.stop() };
  };

  let conn: SmtpConn | undefined;
  try {
    const s = await openSession(opts.host, opts.port, opts.timeoutMs);
    conn = s.conn;
    // Declare the size (RFC 1870) when offered, so a server can refuse before we send 50 MiB.
    const size = s.keywords.has("SIZE") ? ` SIZE=${opts.size}` : "";
    for (const line of [`MAIL FROM:<${opts.from}>${size}`, `RCPT TO:<${opts.to}>`]) {
      const r = await conn.command(line, opts.timeoutMs);
      if (r.code !== 250) return finish(false, replyText(r));
    }
    const data = await conn.command("DATA", opts.timeoutMs);
    if (data.code !== 354) return finish(false, replyText(data));
    for (const chunk of streamMessage({ from: opts.from, to: opts.to, size: opts.size })) {
      if (!conn.write(chunk)) await drained(conn);
    }
    // The server may need a while after the dot (fsync of 50 MiB): allow generously.
    const final = await conn.read(Math.max(opts.timeoutMs, 300000));
    const result = finish(final.code >= 200 && final.code < 300, replyText(final));
    await conn.quit(opts.timeoutMs);
    return result;
  } catch (err) {
    // A server that refuses mid-DATA (552 too big) usually replies, then closes: show its reply.
    const early = await conn?.read(100).catch(() => undefined);
    conn?.destroy();
    return finish(false, early ? replyText(early) : (err as Error).message);
  }
}

/** Waits for 'drain'; fails instead of hanging if the connection closes first. */
async function drained(conn: SmtpConn): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race([
      once(conn.socket, "drain", { signal: ac.signal }),
      once(conn.socket, "close", { signal: ac.signal }).then(() => {
        throw new Error("connection closed while sending the message");
      }),
    ]);
  } finally {
    ac.abort();
  }
}
