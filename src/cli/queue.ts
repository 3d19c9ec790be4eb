/** `petrel queue list|show`: what the durable queue holds. */
import type { Command } from "commander";
import { Queue } from "../queue/queue.js";
import { join } from "node:path";
import { systemClock } from "../core/clock.js";
import { nullLogger } from "../core/logger.js";
import type { QueueEntry } from "../store/types.js";
import { fail, printJson, withStore, type GlobalOptions } from "./context.js";

function summary(e: QueueEntry) {
  return { id: e.id, createdAt: new Date(e.createdAt).toISOString(), sender: e.sender, size: e.size, held: e.held, recipients: e.recipients.map((r) => ({ address: r.address, state: r.state, attempts: r.attempts, lastReply: r.lastReply })) };
}

export function registerQueue(program: Command): void {
  const queue = program.command("queue").description("inspect the mail queue");
  queue
    .command("list")
    .description("list queued messages")
    .option("--config <file>", "config file")
    .option("--data-dir <dir>", "data directory")
    .option("--json", "print JSON")
    .option("--limit <n>", "at most this many messages", (v) => Number(v))
    .action(async (opts: GlobalOptions & { json?: boolean; limit?: number }) => {
      try {
        await withStore(opts, async (store) => {
          const entries = await store.queue.list({ limit: opts.limit });
          if (opts.json) return printJson(entries.map(summary));
          if (entries.length === 0) return void process.stdout.write("queue is empty\n");
          for (const e of entries) {
            process.stdout.write(`${e.id}  ${new Date(e.createdAt).toISOString()}  ${String(e.size).padStart(9)}  <${e.sender}>${e.held ? "  (held)" : ""}\n`);
            for (const r of e.recipients) process.stdout.write(`    ${r.state.padEnd(9)} <${r.address}>${r.lastReply ? `  ${r.lastReply}` : ""}\n`);
          }
          process.stdout.write(`${entries.length} message(s)\n`);
        });
      } catch (e) {
        fail(e);
      }
    });
  queue
    .command("show <id>")
    .description("show one message: envelope, recipients, and with --raw the message itself")
    .option("--config <file>", "config file")
    .option("--data-dir <dir>", "data directory")
    .option("--json", "print JSON")
    .option("--raw", "print the stored message bytes")
    .action(async (id: string, opts: GlobalOptions & { json?: boolean; raw?: boolean }) => {
      try {
        await withStore(opts, async (store, loaded) => {
          const entry = await store.queue.get(id);
          if (!entry) throw new Error(`no message ${id} in the queue`);
          if (opts.raw) {
            const q = new Queue(store.queue, { spoolDir: join(loaded.config.dataDir, "spool"), inlineMax: 0 }, systemClock, nullLogger);
            const body = await q.body(id);
            if (!body) throw new Error(`message ${id} has no stored body`);
            process.stdout.write(body);
            return;
          }
          const full = { ...summary(entry), envelope: entry.envelope, spooled: entry.spooled, recipients: entry.recipients };
          if (opts.json) return printJson(full);
          process.stdout.write(`id:        ${entry.id}\nreceived:  ${new Date(entry.createdAt).toISOString()}\nsender:    <${entry.sender}>\nsize:      ${entry.size}\nstorage:   ${entry.spooled ? "spool file" : "database"}\n`);
          process.stdout.write(`envelope:  ${JSON.stringify(entry.envelope)}\n`);
          for (const r of entry.recipients) process.stdout.write(`rcpt:      <${r.address}> ${r.state} attempts=${r.attempts}${r.dsn.notify ? ` notify=${r.dsn.notify.join(",")}` : ""}${r.dsn.orcpt ? ` orcpt=${r.dsn.orcpt.type};${r.dsn.orcpt.address}` : ""}${r.lastReply ? ` last=${r.lastReply}` : ""}\n`);
        });
      } catch (e) {
        fail(e);
      }
    });
}
