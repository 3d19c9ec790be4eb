/** `petrel alias add|list|remove`: addresses that forward to other addresses, local or remote. */
import type { Command } from "commander";
import { addressKey } from "../store/address-key.js";
import { aliasSource, domainName, targetAddress } from "./args.js";
import { fail, printJson, withStore, type GlobalOptions } from "./context.js";

const common = (c: Command) => c.option("--config <file>", "config file").option("--data-dir <dir>", "data directory");

export function registerAlias(program: Command): void {
  const alias = program.command("alias").description("manage aliases (forwarding addresses and catch-alls)");

  common(alias.command("add <source> <targets...>").description("forward SOURCE (local@domain, or @domain for a catch-all) to one or more addresses")).action(
    async (source: string, targets: string[], opts: GlobalOptions) => {
      try {
        const src = aliasSource(source);
        const to = targets.map(targetAddress);
        if (to.some((t) => addressKey(t) === addressKey(src))) throw new Error(`alias ${src} cannot point to itself`);
        await withStore(opts, async (store) => {
          // Adding to an existing alias keeps the spelling it was created with.
          const domain = src.slice(src.lastIndexOf("@") + 1);
          const existing = (await store.directory.isLocalDomain(domain)) ? (await store.directory.listAliases(domain)).find((a) => addressKey(a.source) === addressKey(src)) : undefined;
          const a = await store.directory.addAlias(existing?.source ?? src, to);
          process.stdout.write(`alias ${a.source} -> ${a.targets.join(", ")}\n`);
        });
      } catch (e) {
        fail(e);
      }
    },
  );

  common(alias.command("list [domain]").description("list aliases, of one domain or of all").option("--json", "print JSON")).action(
    async (domain: string | undefined, opts: GlobalOptions & { json?: boolean }) => {
      try {
        const name = domain === undefined ? undefined : domainName(domain);
        await withStore(opts, async (store) => {
          if (name !== undefined && !(await store.directory.isLocalDomain(name))) throw new Error(`${name} is not a local domain`);
          const list = await store.directory.listAliases(name);
          if (opts.json) return printJson(list);
          const width = Math.max(0, ...list.map((a) => a.source.length));
          for (const a of list) process.stdout.write(`${a.source.padEnd(width)}  -> ${a.targets.join(", ")}\n`);
        });
      } catch (e) {
        fail(e);
      }
    },
  );

  common(alias.command("remove <source> [target]").description("remove one target of an alias, or the whole alias")).action(
    async (source: string, target: string | undefined, opts: GlobalOptions) => {
      try {
        const src = aliasSource(source);
        const to = target === undefined ? undefined : targetAddress(target);
        await withStore(opts, async (store) => {
          if (!(await store.directory.getAlias(src))) throw new Error(`no alias ${src}`);
          if (!(await store.directory.removeAlias(src, to))) throw new Error(`alias ${src} has no target ${to}`);
          process.stdout.write(to === undefined ? `alias ${src} removed\n` : `target ${to} removed from alias ${src}\n`);
        });
      } catch (e) {
        fail(e);
      }
    },
  );
}
