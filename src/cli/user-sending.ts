/**
 * `petrel user send-as ADDRESS add|remove|list [ADDR...]` and `petrel user limits ADDRESS
 * [--messages-per-day N ...]`: what an account may send as, and how much.
 */
import type { Command } from "commander";
import type { Account, SendLimits, SendLimitsOverride, Store } from "../store/types.js";
import { buckets, effectiveLimits } from "../policy/send-limits.js";
import { accountAddress, domainName, targetAddress } from "./args.js";
import { printJson, run, withStore, type GlobalOptions } from "./context.js";

const common = (c: Command) => c.option("--config <file>", "config file").option("--data-dir <dir>", "data directory");

async function mustGet(store: Store, address: string): Promise<Account> {
  const a = await store.directory.getAccount(address);
  if (!a) throw new Error(`no account ${address}`);
  return a;
}

/** A send-as entry: an address, or "@domain" for every address of a domain. */
export function sendAsEntry(text: string): string {
  if (text.startsWith("@")) return `@${domainName(text.slice(1))}`;
  return targetAddress(text);
}

const LIMIT_KEYS = ["messagesPerHour", "messagesPerDay", "recipientsPerHour", "recipientsPerDay"] as const satisfies readonly (keyof SendLimits)[];
const FLAG: Record<keyof SendLimits, string> = { messagesPerHour: "messages-per-hour", messagesPerDay: "messages-per-day", recipientsPerHour: "recipients-per-hour", recipientsPerDay: "recipients-per-day" };

/** A limit value: a count, "none" (unlimited) or "default" (the configured one). */
export function parseLimit(flag: string, text: string): number | null | "default" {
  const t = text.trim().toLowerCase();
  if (t === "none" || t === "unlimited") return null;
  if (t === "default") return "default";
  if (!/^\d{1,9}$/.test(t)) throw new Error(`invalid --${flag} "${text}": give a number, none (unlimited) or default`);
  return Number(t);
}

const show = (v: number | null) => (v === null ? "unlimited" : String(v));

/** What `user show` prints about sending: limits in force and this hour's and today's counts. */
export async function sendingSummary(store: Store, a: Account, defaults: SendLimits, now = Date.now()) {
  const b = buckets(now);
  const counts = await store.sendCounters.get(a.id, [b.hour, b.day]);
  return { sendAs: a.sendAs, limits: effectiveLimits(defaults, a.sendLimits), limitOverrides: a.sendLimits, thisHour: counts[b.hour]!, today: counts[b.day]! };
}

export function formatSending(s: Awaited<ReturnType<typeof sendingSummary>>): string[] {
  const l = s.limits;
  return [
    `send as:   ${s.sendAs.length ? s.sendAs.join(", ") : "-"}`,
    `sent:      this hour ${s.thisHour.messages} message(s) to ${s.thisHour.recipients} recipient(s); today ${s.today.messages} message(s) to ${s.today.recipients} recipient(s) (UTC)`,
    `limits:    messages ${show(l.messagesPerHour)}/hour, ${show(l.messagesPerDay)}/day; recipients ${show(l.recipientsPerHour)}/hour, ${show(l.recipientsPerDay)}/day`,
  ];
}

export function registerUserSending(user: Command): void {
  common(
    user
      .command("send-as <address> <action> [entries...]")
      .description("addresses an account may send as, besides its own and its aliases': action add, remove or list; an entry is an address or @domain")
      .option("--json", "print JSON (list)"),
  ).action(
    run(async (text: string, action: string, entries: string[], opts: GlobalOptions & { json?: boolean }) => {
      const address = accountAddress(text);
      if (!["add", "remove", "list"].includes(action)) throw new Error(`unknown action ${action}: use add, remove or list`);
      if (action !== "list" && entries.length === 0) throw new Error(`send-as ${action} needs at least one address or @domain`);
      const given = entries.map(sendAsEntry);
      await withStore(opts, async (store) => {
        const a = await mustGet(store, address);
        const key = (e: string) => e.toLowerCase();
        if (action === "list") {
          if (opts.json) return printJson(a.sendAs);
          for (const e of a.sendAs) process.stdout.write(`${e}\n`);
          return;
        }
        let list = [...a.sendAs];
        if (action === "add") {
          for (const e of given) if (!list.some((x) => key(x) === key(e))) list.push(e);
        } else {
          const missing = given.filter((e) => !list.some((x) => key(x) === key(e)));
          if (missing.length) throw new Error(`${a.address} has no send-as entry ${missing.join(", ")}`);
          list = list.filter((x) => !given.some((e) => key(x) === key(e)));
        }
        await store.directory.updateAccount(a.address, { sendAs: list });
        process.stdout.write(`send-as of ${a.address}: ${list.length ? list.join(", ") : "(none)"}\n`);
      });
    }),
  );

  let cmd = user
    .command("limits <address>")
    .description("show or set an account's sending limits: a number, none (unlimited) or default (submission.limits of the config)")
    .option("--json", "print JSON");
  for (const k of LIMIT_KEYS) cmd = cmd.option(`--${FLAG[k]} <n>`, `${k.replace(/([A-Z])/g, " $1").toLowerCase()}`);
  common(cmd).action(
    run(async (text: string, opts: GlobalOptions & { json?: boolean } & Partial<Record<keyof SendLimits, string>>) => {
      const address = accountAddress(text);
      const changes: [keyof SendLimits, number | null | "default"][] = [];
      for (const k of LIMIT_KEYS) if (opts[k] !== undefined) changes.push([k, parseLimit(FLAG[k], opts[k]!)]);
      await withStore(opts, async (store, loaded) => {
        let a = await mustGet(store, address);
        if (changes.length) {
          const next: SendLimitsOverride = { ...a.sendLimits };
          for (const [k, v] of changes) {
            if (v === "default") delete next[k];
            else next[k] = v;
          }
          await store.directory.updateAccount(a.address, { sendLimits: next });
          a = await mustGet(store, address);
        }
        const s = await sendingSummary(store, a, loaded.config.submission.limits);
        if (opts.json) return printJson({ address: a.address, limits: s.limits, overrides: s.limitOverrides, thisHour: s.thisHour, today: s.today });
        process.stdout.write(formatSending(s).slice(1).join("\n") + "\n");
      });
    }),
  );
}
