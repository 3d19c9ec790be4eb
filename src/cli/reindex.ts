/**
 * `petrel reindex [ADDRESS]`: parse stored messages again (every blob, or one account's) and store
 * their new MIME structure. Progress on stderr (an updating line on a terminal, a line every few
 * seconds otherwise), totals on stdout; exit 1 when a blob could not be read.
 */
import type { Command } from "commander";
import { reindex, type ReindexProgress } from "../app/tools/index.js";
import { accountAddress } from "./args.js";
import { fail, withStore, type GlobalOptions } from "./context.js";

function progressLine(p: ReindexProgress, elapsedMs: number): string {
  const secs = elapsedMs / 1000;
  const rate = secs > 0 ? p.done / secs : 0;
  const share = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const eta = rate > 0 ? Math.max(0, p.total - p.done) / rate : 0;
  return `reindex: ${p.done}/${p.total} message(s) (${(share * 100).toFixed(0)}%)${p.failed ? `, ${p.failed} failed` : ""}, ${rate.toFixed(0)}/s, ETA ${Math.round(eta)}s`;
}

export function registerReindex(program: Command): void {
  program
    .command("reindex [address]")
    .description("parse stored messages again and store their MIME structure (after an upgrade of the parser); all accounts, or one")
    .option("--config <file>", "config file")
    .option("--data-dir <dir>", "data directory")
    .action(async (text: string | undefined, opts: GlobalOptions) => {
      let failed = 0;
      try {
        const account = text === undefined ? undefined : accountAddress(text);
        const tty = process.stderr.isTTY === true;
        const started = performance.now();
        let lastShown = -Infinity;
        const show = (p: ReindexProgress) => {
          const now = performance.now();
          // A terminal gets a line that updates ten times a second; a log a line every 5 seconds.
          if (now - lastShown < (tty ? 100 : 5000) && p.done < p.total) return;
          lastShown = now;
          const line = progressLine(p, now - started);
          process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
        };
        await withStore(opts, async (store) => {
          const r = await reindex(store, { account, onProgress: show });
          if (tty) process.stderr.write("\n");
          for (const e of r.errors) process.stderr.write(`petrel reindex: ${e}\n`);
          const secs = (performance.now() - started) / 1000;
          process.stdout.write(`${r.reindexed} message(s) reindexed${r.failed ? `, ${r.failed} failed` : ""}${account ? ` for ${account}` : ""} in ${secs.toFixed(1)}s\n`);
          failed = r.failed;
        });
      } catch (e) {
        fail(e);
      }
      if (failed) process.exit(1);
    });
}
