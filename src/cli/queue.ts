/**
 * `petrel queue list|show|retry|hold|release|delete|bounce`: what the durable queue holds, and
 * what an administrator can do to it. The commands work on the store while a server runs on it:
 * each change is one transaction, and the server's scheduler sees it at its next look at the
 * queue (at most its idle poll interval, a few seconds).
 */
import type { Command } from "commander";
import { mkdir } from "node:fs/promises";
import { Queue } from "../queue/queue.js";
import { prepareNotice } from "../queue/notices.js";
import { systemClock } from "../core/clock.js";
import { nullLogger } from "../core/logger.js";
import type { LoadedConfig } from "../config/load.js";
import type { QueueEntry, QueueFilter, Store } from "../store/types.js";
import { spoolDir } from "../app/open-store.js";
import { fail, printJson, withStore, type GlobalOptions } from "./context.js";

/** The reply recorded for recipients an administrator bounces (RFC 3463 5.0.0). */
export const ADMIN_BOUNCE_REPLY = "550 5.0.0 Deleted by the administrator";

const iso = (t: number) => new Date(t).toISOString();

function summary(e: QueueEntry) {
  return { id: e.id, createdAt: iso(e.createdAt), sender: e.sender, size: e.size, held: e.held, recipients: e.recipients.map((r) => ({ address: r.address, state: r.state, attempts: r.attempts, lastReply: r.lastReply })) };
}

function details(e: QueueEntry) {
  return {
    ...summary(e),
    envelope: e.envelope,
    spooled: e.spooled,
    delayNotified: e.delayNotified,
    recipients: e.recipients.map((r) => ({ ...r, nextAttempt: r.state === "queued" || r.state === "deferred" ? iso(r.nextAttemptAt) : null })),
  };
}

const waiting = (e: QueueEntry) => e.recipients.filter((r) => r.state === "queued" || r.state === "deferred");

function queueOf(store: Store, loaded: LoadedConfig): Queue {
  return new Queue(store.queue, { spoolDir: spoolDir(loaded.config), inlineMax: loaded.config.smtp.inlineMaxSize, bodiesInStore: loaded.config.storage.backend === "postgres" }, systemClock, nullLogger);
}

/** One received DSN result, as `petrel queue show` prints it. */
function eventLine(e: { recipient: string; action: string; status: string; diagnostic: string | null; remoteMta: string | null; at: string }): string {
  return `dsn:       ${e.at} <${e.recipient}> ${e.action} ${e.status}${e.remoteMta ? ` remote-mta=${e.remoteMta}` : ""}${e.diagnostic ? ` diagnostic=${e.diagnostic}` : ""}\n`;
}

async function mustGet(store: Store, id: string): Promise<QueueEntry> {
  const entry = await store.queue.get(id);
  if (!entry) throw new Error(`no message ${id} in the queue`);
  return entry;
}

type Opts = GlobalOptions & { json?: boolean };

/** A subcommand with the options every command takes, whose action runs with the store open. */
function command(parent: Command, spec: string, description: string, run: (args: string[], opts: Opts & Record<string, unknown>, store: Store, loaded: LoadedConfig) => Promise<void>): Command {
  return parent
    .command(spec)
    .description(description)
    .option("--config <file>", "config file")
    .option("--data-dir <dir>", "data directory")
    .action(async (...a: unknown[]) => {
      const cmd = a[a.length - 1] as Command;
      const opts = cmd.opts() as Opts & Record<string, unknown>;
      const args = a.slice(0, -2).filter((x): x is string => typeof x === "string");
      try {
        await withStore(opts, (store, loaded) => run(args, opts, store, loaded));
      } catch (e) {
        fail(e);
      }
    });
}

const out = (s: string) => void process.stdout.write(s);

export function registerQueue(program: Command): void {
  const queue = program.command("queue").description("inspect and manage the mail queue");

  command(queue, "list", "list queued messages", async (_args, opts, store) => {
    const chosen = (["deferred", "failed", "held"] as const).filter((f) => opts[f]);
    if (chosen.length > 1) throw new Error("choose one of --deferred, --failed, --held");
    const filter: QueueFilter | undefined = chosen[0];
    const entries = await store.queue.list({ limit: opts.limit as number | undefined, filter });
    if (opts.json) return printJson(entries.map(summary));
    if (entries.length === 0) return out(filter ? `no ${filter} messages\n` : "queue is empty\n");
    for (const e of entries) {
      out(`${e.id}  ${iso(e.createdAt)}  ${String(e.size).padStart(9)}  <${e.sender}>${e.held ? "  (held)" : ""}\n`);
      for (const r of e.recipients) out(`    ${r.state.padEnd(9)} <${r.address}>${r.lastReply ? `  ${r.lastReply}` : ""}\n`);
    }
    out(`${entries.length} message(s)\n`);
  })
    .option("--json", "print JSON")
    .option("--limit <n>", "at most this many messages", (v) => Number(v))
    .option("--deferred", "only messages with a recipient waiting after a temporary failure")
    .option("--failed", "only messages with a recipient that failed (others still waiting)")
    .option("--held", "only messages on hold");

  command(queue, "show <id>", "show one message: envelope, recipients (state, attempts, next attempt, last reply), DSNs received about it (also once it left the queue); --raw: the message itself", async ([id], opts, store, loaded) => {
    // DSNs that remote servers sent back about it (app/dsn-intake.ts), kept after it left the queue.
    const events = (await store.deliveryEvents.list(id!)).map((e) => ({ ...e, at: iso(e.at) }));
    const found = await store.queue.get(id!);
    if (!found && events.length > 0 && !opts.raw) {
      if (opts.json) return printJson({ id, inQueue: false, events });
      out(`id:        ${id} (no longer in the queue)\n`);
      for (const e of events) out(eventLine(e));
      return;
    }
    const entry = found ?? (await mustGet(store, id!));
    if (opts.raw) {
      const body = await queueOf(store, loaded).body(entry.id);
      if (!body) throw new Error(`message ${id} has no stored body`);
      return void process.stdout.write(body);
    }
    if (opts.json) return printJson({ ...details(entry), events });
    out(`id:        ${entry.id}\nreceived:  ${iso(entry.createdAt)}\nsender:    <${entry.sender}>\nsize:      ${entry.size}\nstorage:   ${entry.spooled ? "spool file" : "database"}\n`);
    if (entry.held) out(`held:      yes (no delivery until released)\n`);
    if (entry.delayNotified) out(`delay DSN: sent\n`);
    out(`envelope:  ${JSON.stringify(entry.envelope)}\n`);
    for (const r of entry.recipients) {
      const next = r.state === "queued" || r.state === "deferred" ? ` next=${iso(r.nextAttemptAt)}` : "";
      out(`rcpt:      <${r.address}> ${r.state} attempts=${r.attempts}${next}${r.dsn.notify ? ` notify=${r.dsn.notify.join(",")}` : ""}${r.dsn.orcpt ? ` orcpt=${r.dsn.orcpt.type};${r.dsn.orcpt.address}` : ""}${r.lastReply ? ` last=${r.lastReply}` : ""}\n`);
    }
    for (const e of events) out(eventLine(e));
  })
    .option("--json", "print JSON")
    .option("--raw", "print the stored message bytes");

  command(queue, "retry [id]", "try a message (or with --all every message) again now; a running server picks it up within its poll interval", async ([id], opts, store) => {
    if (opts.all && id) throw new Error("give a message id or --all, not both");
    if (!opts.all && !id) throw new Error("give a message id, or --all");
    if (id) {
      const entry = await mustGet(store, id);
      const n = await store.queue.retryNow(id, Date.now());
      out(n === 0 ? `message ${id} has no recipient waiting\n` : `${n} recipient(s) of ${id} will be tried now${entry.held ? " (the message is held: release it first)" : ""}\n`);
    } else {
      const n = await store.queue.retryNow(null, Date.now());
      out(`${n} recipient(s) will be tried now\n`);
    }
  }).option("--all", "every message in the queue");

  command(queue, "hold <id>", "hold a message: no delivery attempts until it is released", async ([id], _opts, store) => {
    if (!(await store.queue.setHeld(id!, true))) throw new Error(`no message ${id} in the queue`);
    out(`message ${id} is held\n`);
  });

  command(queue, "release <id>", "release a held message", async ([id], _opts, store) => {
    if (!(await store.queue.setHeld(id!, false))) throw new Error(`no message ${id} in the queue`);
    out(`message ${id} is released\n`);
  });

  command(queue, "delete <id>", "delete a message without telling its sender", async ([id], _opts, store, loaded) => {
    const removed = await store.queue.remove(id!);
    if (!removed) throw new Error(`no message ${id} in the queue`);
    if (removed.spooled) await queueOf(store, loaded).removeSpool(id!);
    out(`message ${id} deleted\n`);
  });

  command(queue, "bounce <id>", "fail every waiting recipient (5.0.0, deleted by the administrator) and send the sender a DSN", async ([id], _opts, store, loaded) => {
    const q = queueOf(store, loaded);
    await mkdir(spoolDir(loaded.config), { recursive: true });
    // The server may record an outcome meanwhile: re-read and try again.
    for (let attempt = 0; attempt < 5; attempt++) {
      const entry = await mustGet(store, id!);
      const rcpts = waiting(entry);
      if (rcpts.length === 0) {
        const busy = entry.recipients.filter((r) => r.state === "inflight").length;
        throw new Error(busy ? `message ${id} is being delivered right now; try again in a moment` : `message ${id} has no recipient waiting`);
      }
      const now = Date.now();
      const body = (await q.body(entry.id)) ?? Buffer.alloc(0);
      const notice = await prepareNotice(q, { hostname: loaded.config.hostname, maxQueueTimeMs: loaded.config.outbound.maxQueueTime }, entry, body, "failure", rcpts.map((r) => ({ recipient: r, reply: ADMIN_BOUNCE_REPLY, status: "5.0.0" })), now);
      const notices = notice ? [notice] : [];
      let result;
      try {
        result = await store.queue.bounce(entry.id, rcpts.map((r) => r.idx), ADMIN_BOUNCE_REPLY, now, notices);
      } catch (e) {
        await q.discard(notices);
        throw e;
      }
      if (result.status !== "bounced") await q.discard(notices);
      if (result.status === "unknown") throw new Error(`no message ${id} in the queue`);
      if (result.status === "changed") continue;
      if (result.deleted && entry.spooled) await q.removeSpool(entry.id);
      const skipped = entry.recipients.filter((r) => r.state === "inflight").length;
      out(`${rcpts.length} recipient(s) of ${id} bounced; ${notice ? `DSN ${notice.id} queued for <${entry.sender}>` : entry.sender === "" ? "no DSN (null sender)" : "no DSN (NOTIFY)"}${skipped ? `; ${skipped} recipient(s) being delivered right now were left alone` : ""}\n`);
      return;
    }
    throw new Error(`message ${id} keeps changing; try again`);
  });
}
