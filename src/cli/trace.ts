/**
 * `petrel trace ID`: everything Petrel knows about one message (by queue id or Message-ID) or
 * one SMTP session (by session id).
 *
 * Two sources, by design:
 * - the server's JSON log lines (`--log FILE`, repeatable, `-` for stdin): the history. Each
 *   session line carries its session id, each delivery line its queue id, and at acceptance
 *   the server logs one `queued` line tying session, queue id and Message-ID together. Petrel
 *   keeps no history table of its own: acceptance writes nothing more than the message, and
 *   operators already keep logs (journald, files, a log shipper) for as long as they choose.
 * - the store: the current state. The queue row while the message waits (recipients, attempts,
 *   last replies, next attempt) and, once it is delivered locally, the deliveries table
 *   (account, mailbox, UID).
 * `--follow` keeps reading the log files as they grow and polls the store, until the message
 * has left the queue or the session has ended.
 */
import type { Command } from "commander";
import { statSync, openSync, readSync, closeSync } from "node:fs";
import { createInterface } from "node:readline";
import type { DeliveryEvent, DeliveryRecord, QueueEntry, Store } from "../store/types.js";
import { fail, printJson, withStore, type GlobalOptions } from "./context.js";

type Line = Record<string, unknown> & { time?: string | number; event?: string };

type IdKind = "queue-id" | "message-id" | "session";

export function idKind(id: string): IdKind {
  if (/^[0-9A-HJKMNP-TV-Z]{16}$/i.test(id)) return "queue-id";
  if (/^[0-9a-f]{12}$/.test(id)) return "session";
  return "message-id";
}

/** "<a@b>" and "a@b" name the same Message-ID. */
const bare = (m: string) => m.trim().replace(/^<(.*)>$/, "$1");

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Which lines belong to the trace: grows as lines name further queue ids and sessions. */
export class TraceMatcher {
  readonly queueIds = new Set<string>();
  readonly sessions = new Set<string>();
  readonly messageIds = new Map<string, string>();
  readonly lines: Line[] = [];

  constructor(
    readonly id: string,
    readonly kind: IdKind = idKind(id),
  ) {
    if (kind === "queue-id") this.queueIds.add(id);
    if (kind === "session") this.sessions.add(id);
  }

  /** Lines that name the id, one of its queue ids or sessions, or link it to another. */
  private links(l: Line): boolean {
    const q = str(l.queueId);
    const s = str(l.session);
    if (this.kind === "message-id" && l.event === "queued" && str(l.messageId) && bare(str(l.messageId)!) === bare(this.id)) {
      if (q) this.queueIds.add(q);
      if (s) this.sessions.add(s);
      return true;
    }
    if (q && this.queueIds.has(q)) {
      // The session that received this message belongs to its story.
      if (s && (l.event === "accepted" || l.event === "queued")) this.sessions.add(s);
      return true;
    }
    if (s && this.sessions.has(s)) {
      // A session traced by its id: the messages it handed over are part of its story.
      if (q && this.kind === "session" && (l.event === "accepted" || l.event === "queued")) this.queueIds.add(q);
      return true;
    }
    for (const k of ["dsnQueueId", "newQueueId"] as const) if (str(l[k]) && this.queueIds.has(str(l[k])!)) return true;
    return false;
  }

  /** Lines held in memory (stdin): find the sessions and queue ids, then keep every line of them. */
  collect(all: Line[]): void {
    for (const l of all) this.links(l);
    for (const l of all) if (this.matches(l)) this.lines.push(l);
  }

  /** Lines in time order (several files interleave), with the Message-IDs they name. */
  sort(): void {
    this.lines.sort((a, b) => timeOf(a) - timeOf(b));
    for (const l of this.lines) this.noteMessageId(l);
  }

  noteMessageId(l: Line): void {
    if (l.event === "queued" && str(l.queueId) && str(l.messageId)) this.messageIds.set(str(l.queueId)!, str(l.messageId)!);
  }

  /** Does the line belong to the trace? (It may name further sessions and queue ids.) */
  matches(l: Line): boolean {
    return this.links(l);
  }
}

function parseLine(text: string): Line | null {
  if (!text.startsWith("{")) return null;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Line) : null;
  } catch {
    return null;
  }
}

/** Every JSON line of stdin; other lines are skipped. */
async function readStdin(): Promise<Line[]> {
  const out: Line[] = [];
  for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    const l = parseLine(text);
    if (l) out.push(l);
  }
  return out;
}

const CHUNK = 16 * 1024 * 1024;

/**
 * Complete lines appended to a file since `offset` (at most one chunk; a partial last line
 * waits for its end). A file smaller than `offset` was rotated or truncated: read from 0.
 */
function readMore(file: string, offset: number): { lines: Line[]; offset: number; more: boolean } {
  const size = statSync(file).size;
  if (size < offset) offset = 0;
  if (size === offset) return { lines: [], offset, more: false };
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(Math.min(size - offset, CHUNK));
    const n = readSync(fd, buf, 0, buf.length, offset);
    const end = buf.subarray(0, n).lastIndexOf(0x0a);
    // A line longer than a whole chunk is no log line of ours: skip it.
    if (end < 0) return n === CHUNK ? { lines: [], offset: offset + n, more: true } : { lines: [], offset, more: false };
    const lines = buf
      .subarray(0, end)
      .toString("utf8")
      .split("\n")
      .map(parseLine)
      .filter((l): l is Line => l !== null);
    return { lines, offset: offset + end + 1, more: offset + end + 1 < size };
  } finally {
    closeSync(fd);
  }
}

/** Show every complete line of a file to `fn`, chunk by chunk; returns the offset reached. */
function scanFile(file: string, fn: (l: Line) => void, from = 0): number {
  let offset = from;
  for (;;) {
    const r = readMore(file, offset);
    r.lines.forEach(fn);
    offset = r.offset;
    if (!r.more) return offset;
  }
}

const timeOf = (l: Line): number => (typeof l.time === "number" ? l.time : typeof l.time === "string" ? Date.parse(l.time) : 0);
const iso = (t: number) => new Date(t).toISOString();

/** What the store says about one queued message now. */
export interface StoreFacts {
  queueId: string;
  queue: QueueEntry | null;
  deliveries: DeliveryRecord[];
  /** DSNs that remote servers sent back about this message after we relayed it. */
  reports: DeliveryEvent[];
}

export interface TraceReport {
  query: string;
  kind: IdKind;
  messages: MessageReport[];
  sessions: string[];
  events: Line[];
}

export interface MessageReport {
  queueId: string;
  messageId: string | null;
  received: Record<string, unknown> | null;
  /** in-queue: still waiting for some recipient; left-queue: every recipient done; unknown: neither source knows. */
  state: "in-queue" | "left-queue" | "unknown";
  recipients: { address: string; status: string; attempts: number | null; reply: string | null; mailbox?: string | null; uid?: number | null; account?: string | null }[];
  bounces: string[];
  /** Reports from remote servers (DSNs received about this message). */
  reports: DeliveryEvent[];
}

async function storeFacts(store: Store, queueId: string): Promise<StoreFacts> {
  const [queue, deliveries, reports] = await Promise.all([store.queue.get(queueId), store.mailstore.deliveriesOf(queueId), store.deliveryEvents.list(queueId)]);
  return { queueId, queue, deliveries, reports };
}

export function buildReport(m: TraceMatcher, facts: StoreFacts[]): TraceReport {
  const events = [...m.lines].sort((a, b) => timeOf(a) - timeOf(b));
  const messages: MessageReport[] = [];
  for (const f of facts) {
    const mine = events.filter((l) => l.queueId === f.queueId);
    const queued = mine.find((l) => l.event === "queued");
    const accepted = mine.find((l) => l.event === "accepted");
    const session = str(queued?.session ?? accepted?.session);
    const connect = session ? events.find((l) => l.session === session && l.event === "connect") : undefined;
    const auth = session ? events.find((l) => l.session === session && l.event === "auth" && l.result === "ok") : undefined;
    const env = (f.queue?.envelope ?? {}) as { session?: Record<string, unknown>; verdict?: unknown };
    const facts = env.session;
    const received: Record<string, unknown> | null =
      queued || accepted || facts || f.queue
        ? {
            at: queued?.time ?? accepted?.time ?? (f.queue ? iso(f.queue.createdAt) : undefined),
            session: session ?? facts?.sessionId,
            listener: queued?.listener ?? connect?.listener ?? facts?.listener,
            client: queued?.remote ?? connect?.remote ?? facts?.remoteAddress,
            helo: queued?.helo ?? facts?.helo,
            tls: queued?.tls ?? connect?.tls ?? (facts?.tls ? `${(facts.tls as { version: string }).version} ${(facts.tls as { cipher: string }).cipher}` : undefined),
            authUser: queued?.authUser ?? auth?.user ?? facts?.authUser,
            from: accepted?.from ?? f.queue?.sender,
            size: accepted?.size ?? f.queue?.size,
            verdict: env.verdict,
          }
        : null;
    const rcpts = new Map<string, MessageReport["recipients"][number]>();
    for (const l of mine.filter((x) => x.event === "delivery")) {
      const address = str(l.rcpt) ?? "?";
      rcpts.set(address, { address, status: str(l.status) ?? "?", attempts: typeof l.attempt === "number" ? l.attempt : null, reply: str(l.reply) ?? null });
    }
    for (const r of f.queue?.recipients ?? []) rcpts.set(r.address, { address: r.address, status: r.state, attempts: r.attempts, reply: r.lastReply });
    const byIdx = f.queue?.recipients ?? [];
    for (const d of f.deliveries) {
      const address = byIdx.find((r) => r.idx === d.rcptIdx)?.address ?? d.account ?? `recipient #${d.rcptIdx}`;
      const r = [...rcpts.values()].find((x) => x.address.toLowerCase() === address.toLowerCase()) ?? [...rcpts.values()].find((x) => x.status === "delivered" && x.mailbox === undefined);
      const target = r ?? { address, status: "delivered", attempts: null, reply: null };
      Object.assign(target, { mailbox: d.mailbox, uid: d.uid, account: d.account });
      rcpts.set(target.address, target);
    }
    const done = mine.some((l) => l.event === "done");
    const state = f.queue ? "in-queue" : done || f.deliveries.length > 0 || rcpts.size > 0 || f.reports.length > 0 ? "left-queue" : "unknown";
    messages.push({
      queueId: f.queueId,
      messageId: m.messageIds.get(f.queueId) ?? null,
      received,
      state,
      recipients: [...rcpts.values()],
      bounces: mine.filter((l) => l.event === "dsn").map((l) => `${str(l.kind) ?? "dsn"} ${str(l.dsnQueueId) ?? ""}`.trim()),
      reports: f.reports,
    });
  }
  return { query: m.id, kind: m.kind, messages, sessions: [...m.sessions], events };
}

const SKIP = new Set(["level", "time", "msg", "event", "session", "queueId", "pid", "hostname"]);

export function formatEvent(l: Line): string {
  const rest = Object.entries(l)
    .filter(([k, v]) => !SKIP.has(k) && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const where = [l.session ? `session ${String(l.session)}` : "", l.queueId ? `queue ${String(l.queueId)}` : ""].filter(Boolean).join(" ");
  return `${typeof l.time === "string" ? l.time : iso(timeOf(l))}  ${where.padEnd(20)}  ${l.event ?? "-"}: ${String(l.msg ?? "")}${rest ? `  (${rest})` : ""}`;
}

export function formatReport(r: TraceReport): string {
  const out: string[] = [];
  for (const m of r.messages) {
    out.push(`message ${m.queueId}${m.messageId ? ` ${m.messageId}` : ""}`);
    if (m.received) {
      const x = m.received;
      out.push(`  received: ${x.at ?? "?"} via ${x.listener ?? "?"} from ${x.client ?? "?"}${x.helo ? ` (helo ${x.helo})` : ""}${x.tls ? `, ${x.tls}` : ", no TLS"}${x.authUser ? `, authenticated as ${x.authUser}` : ""}${x.session ? `, session ${x.session}` : ""}`);
      out.push(`  sender:   <${x.from ?? ""}>${x.size !== undefined ? `, ${x.size} octets` : ""}`);
      if (x.verdict !== undefined) out.push(`  checks:   ${JSON.stringify(x.verdict)}`);
    }
    for (const rc of m.recipients) {
      const where = rc.mailbox ? ` into ${rc.account ?? "?"} ${rc.mailbox} UID ${rc.uid ?? "?"}` : "";
      out.push(`  rcpt <${rc.address}>: ${rc.status}${where}${rc.attempts !== null ? `, attempts ${rc.attempts}` : ""}${rc.reply ? `, ${rc.reply}` : ""}`);
    }
    for (const b of m.bounces) out.push(`  notice:   ${b}`);
    for (const e of m.reports) out.push(`  report:   ${iso(e.at)} <${e.recipient}> ${e.action} ${e.status}${e.remoteMta ? ` from ${e.remoteMta}` : ""}${e.diagnostic ? `, ${e.diagnostic}` : ""}`);
    out.push(`  state:    ${m.state === "in-queue" ? "in the queue" : m.state === "left-queue" ? "left the queue" : "unknown to the store"}`);
  }
  if (r.events.length > 0) {
    out.push("events:");
    for (const l of r.events) out.push(`  ${formatEvent(l)}`);
  }
  return out.join("\n") + "\n";
}

interface TraceOptions extends GlobalOptions {
  log?: string[];
  follow?: boolean;
  json?: boolean;
  interval?: number;
}

async function trace(id: string, opts: TraceOptions, store: Store): Promise<number> {
  const logs = opts.log ?? [];
  if (opts.follow && logs.includes("-")) throw new Error("--follow needs log files, not stdin");
  // Queue ids are upper case (Crockford base32); a copied one in lower case means the same.
  const m = new TraceMatcher(idKind(id.trim()) === "queue-id" ? id.trim().toUpperCase() : id.trim());
  // Files are read twice (find the sessions and queue ids, then keep their lines), never held
  // whole in memory; stdin is read once and kept.
  const offsets = new Map<string, number>();
  const stdin = logs.includes("-") ? await readStdin() : [];
  m.collect(stdin);
  for (const f of logs.filter((x) => x !== "-")) scanFile(f, (l) => m.matches(l));
  for (const f of logs.filter((x) => x !== "-")) offsets.set(f, scanFile(f, (l) => void (m.matches(l) && m.lines.push(l))));
  m.sort();
  if (m.kind === "queue-id") m.queueIds.add(m.id);
  const facts = await Promise.all([...m.queueIds].map((q) => storeFacts(store, q)));
  const report = buildReport(m, facts);
  const known = report.events.length > 0 || report.messages.some((x) => x.state !== "unknown");
  if (!opts.follow) {
    if (opts.json) printJson(report);
    else process.stdout.write(known ? formatReport(report) : "");
    if (!known) process.stderr.write(`petrel: nothing known about ${id}${logs.length === 0 ? " in the store (give --log FILE to search the server's logs)" : ""}\n`);
    return known ? 0 : 1;
  }
  // --follow: print what is known, then what arrives, until the story ends.
  const print = (l: Line) => process.stdout.write(opts.json ? JSON.stringify(l) + "\n" : formatEvent(l) + "\n");
  for (const l of report.events) print(l);
  const ended = async (): Promise<boolean> => {
    if (m.kind === "session") return m.lines.some((l) => l.event === "disconnect");
    if (m.queueIds.size === 0) return false; // the message has not arrived yet
    for (const q of m.queueIds) {
      if ((await store.queue.get(q)) !== null) return false;
      // Not in the queue: gone (delivered, bounced, deleted), or not arrived yet.
      const seen = m.lines.some((l) => l.queueId === q && (l.event === "done" || l.event === "delivery" || l.event === "accepted"));
      if (!seen && (await store.mailstore.deliveriesOf(q)).length === 0) return false;
    }
    return true;
  };
  const states = new Map<string, string>();
  let recent: Line[] = [];
  for (;;) {
    for (const f of logs) {
      const offset = scanFile(
        f,
        (l) => {
          const sessions = m.sessions.size;
          if (!m.matches(l)) {
            // A session's first lines come before the line that ties it to the message: keep
            // recent ones, to show them once it is tied.
            if (typeof l.session === "string") recent.push(l);
            if (recent.length > 10_000) recent.splice(0, 1_000);
            return;
          }
          if (m.sessions.size > sessions) {
            const earlier = recent.filter((x) => m.sessions.has(x.session as string));
            recent = recent.filter((x) => !m.sessions.has(x.session as string));
            for (const e of earlier) (m.lines.push(e), print(e));
          }
          m.lines.push(l);
          m.noteMessageId(l);
          print(l);
        },
        offsets.get(f),
      );
      offsets.set(f, offset);
    }
    // The store's view, whenever it changes (a server logging elsewhere still shows progress).
    for (const q of m.queueIds) {
      const e = await store.queue.get(q);
      const now = e ? e.recipients.map((r) => `<${r.address}> ${r.state} attempts=${r.attempts}${r.lastReply ? ` ${r.lastReply}` : ""}`).join("; ") : "not in the queue";
      if (states.get(q) !== now) {
        states.set(q, now);
        if (!opts.json) process.stdout.write(`${iso(Date.now())}  queue ${q}  store: ${now}\n`);
      }
    }
    if (await ended()) break;
    await new Promise((r) => setTimeout(r, opts.interval ?? 500));
  }
  const final = buildReport(m, await Promise.all([...m.queueIds].map((q) => storeFacts(store, q))));
  process.stdout.write(opts.json ? JSON.stringify({ ...final, events: undefined }) + "\n" : formatReport({ ...final, events: [] }));
  return 0;
}

export function registerTrace(program: Command): void {
  program
    .command("trace <id>")
    .description("what Petrel knows about a message (queue id or Message-ID) or an SMTP session (session id): reception, checks, delivery attempts, final state")
    .option("--config <file>", "config file")
    .option("--data-dir <dir>", "data directory")
    .option("--log <file>", "a file of the server's JSON log lines to search (repeat for several; - for stdin)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--follow", "keep watching the logs and the queue until the message leaves the queue or the session ends")
    .option("--interval <ms>", "polling interval for --follow", (v) => Number(v), 500)
    .option("--json", "print JSON")
    .action(async (id: string, opts: TraceOptions) => {
      let code = 0;
      try {
        code = await withStore(opts, (store) => trace(id, opts, store));
      } catch (e) {
        fail(e);
      }
      process.exitCode = code;
    });
}
