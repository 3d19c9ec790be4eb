/**
 * `petrel import ADDRESS PATH [--mailbox NAME] [--format maildir|mbox|auto]`: existing mail into
 * an account. Progress on stderr (one updating line on a terminal, a line every few seconds
 * otherwise), totals on stdout at the end; exit 1 when any message failed.
 */
import type { Command } from "commander";
import { importMail, type ImportProgress } from "../app/tools/index.js";
import { accountAddress, formatSize } from "./args.js";
import { fail, withStore, type GlobalOptions } from "./context.js";

interface ImportCliOptions extends GlobalOptions {
  mailbox?: string;
  format: string;
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : `${m}:${String(sec).padStart(2, "0")}`;
}

/** Progress as text: counts, rate, share done and the time left. */
function progressLine(p: ImportProgress, elapsedMs: number): string {
  const secs = elapsedMs / 1000;
  const rate = secs > 0 ? (p.imported + p.skipped) / secs : 0;
  const share = p.total > 0 ? p.done / p.total : 1;
  const eta = share > 0 && share < 1 ? (secs / share) * (1 - share) : 0;
  const amount = p.unit === "bytes" ? `${formatSize(p.done)} of ${formatSize(p.total)}` : `${p.done}/${p.total}`;
  return `${p.folder}: ${p.imported} imported, ${p.skipped} skipped${p.failed ? `, ${p.failed} failed` : ""} (${amount}, ${(share * 100).toFixed(0)}%), ${rate.toFixed(0)} msg/s, ETA ${duration(eta)}`;
}

export function registerImport(program: Command): void {
  program
    .command("import <address> <path>")
    .description("import a Maildir (with its .Sub.Folders) or an mbox file into an account; run again to resume, nothing is imported twice")
    .option("--mailbox <name>", "mailbox for the top folder or the mbox (default INBOX); Maildir subfolders go below it")
    .option("--format <format>", "maildir, mbox or auto", "auto")
    .option("--config <file>", "config file")
    .option("--data-dir <dir>", "data directory")
    .action(async (text: string, path: string, opts: ImportCliOptions) => {
      let failed = 0;
      try {
        if (!["maildir", "mbox", "auto"].includes(opts.format)) throw new Error(`--format ${opts.format}: maildir, mbox or auto`);
        const address = accountAddress(text);
        const tty = process.stderr.isTTY === true;
        const started = performance.now();
        let lastShown = 0;
        let last: ImportProgress | undefined;
        const show = (p: ImportProgress, force = false) => {
          last = p;
          const now = performance.now();
          // A terminal gets a line that updates ten times a second; a log a line every 5 seconds.
          if (!force && now - lastShown < (tty ? 100 : 5000)) return;
          lastShown = now;
          const line = progressLine(p, now - started);
          process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
        };
        await withStore(opts, async (store) => {
          const r = await importMail(store, { account: address, path, mailbox: opts.mailbox, format: opts.format as "maildir" | "mbox" | "auto", onProgress: (p) => show(p) });
          if (tty && last) process.stderr.write(`\r\x1b[K`);
          for (const e of r.errors) process.stderr.write(`petrel import: ${e}\n`);
          const secs = (performance.now() - started) / 1000;
          for (const b of r.mailboxes) process.stdout.write(`${b.name}: ${b.imported} imported, ${b.skipped} already there${b.failed ? `, ${b.failed} failed` : ""}\n`);
          process.stdout.write(`${r.imported} message(s) imported, ${r.skipped} skipped (already there)${r.failed ? `, ${r.failed} failed` : ""}, into ${r.mailboxes.length} mailbox(es) of ${address} in ${secs.toFixed(1)}s\n`);
          failed = r.failed;
        });
      } catch (e) {
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K`);
        fail(e);
      }
      if (failed) process.exit(1);
    });
}
