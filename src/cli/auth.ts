/** `petrel auth blocked|unblock`: the authentication lockout shared by SMTP AUTH, IMAP and POP3. */
import type { Command } from "commander";
import { isIP } from "node:net";
import { fail, printJson, withStore, type GlobalOptions } from "./context.js";
import { ipKey, userKey } from "../auth/lockout.js";

const common = (c: Command) => c.option("--config <file>", "config file").option("--data-dir <dir>", "data directory");

/** "ip:..." / "user:..." as listed; a bare IP address or user name is accepted too. */
function lockoutKey(text: string): string {
  if (text.startsWith("ip:") || text.startsWith("user:")) return text.startsWith("user:") ? userKey(text.slice(5)) : text;
  return isIP(text) ? ipKey(text) : userKey(text);
}

export function registerAuth(program: Command): void {
  const auth = program.command("auth").description("logins: the authentication lockout");

  common(auth.command("blocked").description("list the IP addresses and users that are blocked after failed logins").option("--json", "print JSON")).action(async (opts: GlobalOptions & { json?: boolean }) => {
    try {
      await withStore(opts, async (store) => {
        const now = Date.now();
        const list = (await store.authFailures.listBlocked(now)).map((r) => ({ key: r.key, failures: r.failures, until: new Date(r.blockedUntil!).toISOString(), level: r.level }));
        if (opts.json) return printJson(list);
        if (list.length === 0) return void process.stdout.write("nothing is blocked\n");
        const width = Math.max(...list.map((b) => b.key.length));
        for (const b of list) process.stdout.write(`${b.key.padEnd(width)}  ${b.failures} failure(s)  blocked until ${b.until}${b.level > 1 ? ` (block ${b.level})` : ""}\n`);
      });
    } catch (e) {
      fail(e);
    }
  });

  common(auth.command("unblock [key]").description("lift a block (KEY as listed by `auth blocked`: ip:ADDRESS or user:NAME; a bare address or name works too), or every one with --all").option("--all", "clear every block and failure count")).action(
    async (key: string | undefined, opts: GlobalOptions & { all?: boolean }) => {
      try {
        if ((opts.all === true) === (key !== undefined)) throw new Error("give one KEY, or --all");
        await withStore(opts, async (store) => {
          if (opts.all) {
            const n = await store.authFailures.remove();
            process.stdout.write(`cleared ${n} entr${n === 1 ? "y" : "ies"}\n`);
            return;
          }
          const k = lockoutKey(key!);
          if ((await store.authFailures.remove([k])) === 0) throw new Error(`${k} is not blocked`);
          process.stdout.write(`${k} unblocked\n`);
        });
      } catch (e) {
        fail(e);
      }
    },
  );
}
