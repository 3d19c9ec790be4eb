/** `petrel user add|list|show|passwd|remove|disable|enable|quota`: the accounts of local domains. */
import type { Command } from "commander";
import { hashPassword } from "../auth/password.js";
import { scramKeys } from "../auth/sasl/scram.js";
import type { Account, Store } from "../store/types.js";
import { accountAddress, domainName, formatSize, parseQuota } from "./args.js";
import { printJson, run, withStore, type GlobalOptions } from "./context.js";
import { readNewPassword } from "./read-password.js";
import { formatSending, registerUserSending, sendingSummary } from "./user-sending.js";

const common = (c: Command) => c.option("--config <file>", "config file").option("--data-dir <dir>", "data directory");

type Json = { json?: boolean };

function summary(a: Account) {
  return { address: a.address, name: a.displayName, quota: a.quota, usedBytes: a.usedBytes, enabled: a.enabled, createdAt: new Date(a.createdAt).toISOString() };
}

const usage = (a: Account) => `${formatSize(a.usedBytes)} / ${a.quota === null ? "unlimited" : formatSize(a.quota)}`;

async function mustGet(store: Store, address: string): Promise<Account> {
  const a = await store.directory.getAccount(address);
  if (!a) throw new Error(`no account ${address}`);
  return a;
}

/** What is stored for a password: its scrypt hash, and SCRAM-SHA-256 keys (never the password). */
async function secrets(password: string, scramIterations: number): Promise<{ passwordHash: string; scramSha256: string }> {
  return { passwordHash: await hashPassword(password), scramSha256: await scramKeys(password, scramIterations) };
}

export function registerUser(program: Command): void {
  const user = program.command("user").description("manage accounts (mail users)");

  common(
    user
      .command("add <address>")
      .description("create an account with an INBOX; the password is read from the terminal (twice) or from stdin")
      .option("--password-stdin", "read the password from the first line of stdin")
      .option("--name <name>", "display name")
      .option("--quota <size>", "mailbox quota, e.g. 1GiB, 500MB, or bytes (default: unlimited)"),
  ).action(
    run(async (text: string, opts: GlobalOptions & { passwordStdin?: boolean; name?: string; quota?: string }) => {
      const address = accountAddress(text);
      const quota = opts.quota === undefined ? null : parseQuota(opts.quota);
      await withStore(opts, async (store, loaded) => {
        // Refuse early, before asking for a password the user would type for nothing.
        const domain = address.slice(address.lastIndexOf("@") + 1);
        if (!(await store.directory.isLocalDomain(domain))) throw new Error(`${domain} is not a local domain (add it with: petrel domain add ${domain})`);
        if (await store.directory.getAccount(address)) throw new Error(`account ${address} already exists`);
        const { passwordHash, scramSha256 } = await secrets(await readNewPassword(opts.passwordStdin === true), loaded.config.auth.scramIterations);
        const a = await store.directory.addAccount({ address, displayName: opts.name ?? null, passwordHash, scramSha256, quota });
        process.stdout.write(`account ${a.address} added\n`);
      });
    }),
  );

  common(user.command("list [domain]").description("list accounts, of one domain or of all").option("--json", "print JSON")).action(
    run(async (domain: string | undefined, opts: GlobalOptions & Json) => {
      const name = domain === undefined ? undefined : domainName(domain);
      await withStore(opts, async (store) => {
        if (name !== undefined && !(await store.directory.isLocalDomain(name))) throw new Error(`${name} is not a local domain`);
        const list = await store.directory.listAccounts(name);
        if (opts.json) return printJson(list.map(summary));
        const width = Math.max(0, ...list.map((a) => a.address.length));
        for (const a of list) process.stdout.write(`${a.address.padEnd(width)}  ${a.enabled ? "enabled " : "disabled"}  ${usage(a)}${a.displayName ? `  ${a.displayName}` : ""}\n`);
      });
    }),
  );

  common(user.command("show <address>").description("show an account and its mailboxes").option("--json", "print JSON")).action(
    run(async (text: string, opts: GlobalOptions & Json) => {
      const address = accountAddress(text);
      await withStore(opts, async (store, loaded) => {
        const a = await mustGet(store, address);
        const mailboxes = (await store.mailstore.listMailboxes(a.id)).map((m) => ({ name: m.name, specialUse: m.specialUse, messages: m.messages, unseen: m.unseen, size: m.size }));
        const sending = await sendingSummary(store, a, loaded.config.submission.limits);
        if (opts.json) return printJson({ ...summary(a), mailboxes, sending });
        const out = [
          `address:   ${a.address}`,
          `name:      ${a.displayName ?? "-"}`,
          `enabled:   ${a.enabled ? "yes" : "no"}`,
          `quota:     ${a.quota === null ? "unlimited" : `${formatSize(a.quota)} (${a.quota} bytes)`}`,
          `used:      ${formatSize(a.usedBytes)} (${a.usedBytes} bytes)`,
          `created:   ${new Date(a.createdAt).toISOString()}`,
          ...formatSending(sending),
          `mailboxes:`,
          ...mailboxes.map((m) => `  ${m.name}${m.specialUse ? ` (${m.specialUse})` : ""}: ${m.messages} message(s), ${m.unseen} unseen, ${formatSize(m.size)}`),
        ];
        process.stdout.write(out.join("\n") + "\n");
      });
    }),
  );

  common(user.command("passwd <address>").description("set an account's password").option("--password-stdin", "read the password from the first line of stdin")).action(
    run(async (text: string, opts: GlobalOptions & { passwordStdin?: boolean }) => {
      const address = accountAddress(text);
      await withStore(opts, async (store, loaded) => {
        const a = await mustGet(store, address);
        const { passwordHash, scramSha256 } = await secrets(await readNewPassword(opts.passwordStdin === true), loaded.config.auth.scramIterations);
        if (!(await store.directory.updateAccount(a.address, { passwordHash, scramSha256 }))) throw new Error(`no account ${address}`);
        process.stdout.write(`password of ${a.address} changed\n`);
      });
    }),
  );

  common(user.command("remove <address>").description("delete an account with all its mailboxes and messages")).action(
    run(async (text: string, opts: GlobalOptions) => {
      const address = accountAddress(text);
      await withStore(opts, async (store) => {
        const a = await mustGet(store, address);
        if (!(await store.directory.removeAccount(a.address))) throw new Error(`no account ${address}`);
        process.stdout.write(`account ${a.address} removed\n`);
      });
    }),
  );

  for (const [verb, enabled] of [["disable", false], ["enable", true]] as const) {
    common(user.command(`${verb} <address>`).description(enabled ? "enable a disabled account" : "disable an account, keeping its mailboxes")).action(
      run(async (text: string, opts: GlobalOptions) => {
        const address = accountAddress(text);
        await withStore(opts, async (store) => {
          const a = await mustGet(store, address);
          await store.directory.updateAccount(a.address, { enabled });
          process.stdout.write(`account ${a.address} ${verb}d\n`);
        });
      }),
    );
  }

  registerUserSending(user);

  common(user.command("quota <address> <size>").description("set an account's quota: a size like 1GiB, 500MB or bytes, or none")).action(
    run(async (text: string, size: string, opts: GlobalOptions) => {
      const address = accountAddress(text);
      const quota = parseQuota(size);
      await withStore(opts, async (store) => {
        const a = await mustGet(store, address);
        await store.directory.updateAccount(a.address, { quota });
        process.stdout.write(`quota of ${a.address}: ${quota === null ? "unlimited" : `${formatSize(quota)} (${quota} bytes)`}\n`);
      });
    }),
  );
}
