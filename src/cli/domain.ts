/** `petrel domain add|list|remove`: the domains Petrel receives mail for. */
import type { Command } from "commander";
import { isValidDomain } from "../core/address.js";
import { asciiDomain } from "../store/domain-name.js";
import { fail, printJson, withStore, type GlobalOptions } from "./context.js";

const common = (c: Command) => c.option("--config <file>", "config file").option("--data-dir <dir>", "data directory");

export function registerDomain(program: Command): void {
  const domain = program.command("domain").description("manage local domains");
  common(domain.command("add <name>").description("receive mail for a domain")).action(async (name: string, opts: GlobalOptions) => {
    try {
      if (!isValidDomain(asciiDomain(name)) || name.startsWith("[")) throw new Error(`${name} is not a valid domain name`);
      await withStore(opts, async (store) => {
        const d = await store.directory.addDomain(name);
        process.stdout.write(`domain ${d.name} added\n`);
      });
    } catch (e) {
      fail(e);
    }
  });
  common(domain.command("list").description("list local domains").option("--json", "print JSON")).action(async (opts: GlobalOptions & { json?: boolean }) => {
    try {
      await withStore(opts, async (store) => {
        const list = await store.directory.listDomains();
        if (opts.json) return printJson(list.map((d) => ({ name: d.name, createdAt: new Date(d.createdAt).toISOString() })));
        for (const d of list) process.stdout.write(`${d.name}\n`);
      });
    } catch (e) {
      fail(e);
    }
  });
  common(
    domain
      .command("remove <name>")
      .description("stop receiving mail for a domain; refused while it has accounts or aliases, unless --force")
      .option("--force", "also delete its accounts (with their mailboxes and messages) and aliases"),
  ).action(async (name: string, opts: GlobalOptions & { force?: boolean }) => {
    try {
      await withStore(opts, async (store) => {
        const force = opts.force === true;
        const accounts = force ? (await store.directory.listAccounts(name)).length : 0;
        const aliases = force ? (await store.directory.listAliases(name)).length : 0;
        if (!(await store.directory.removeDomain(name, { force }))) throw new Error(`no domain ${name}`);
        process.stdout.write(`domain ${name} removed${accounts + aliases > 0 ? ` with ${accounts} account(s) and ${aliases} alias(es)` : ""}\n`);
      });
    } catch (e) {
      fail(e);
    }
  });
}
