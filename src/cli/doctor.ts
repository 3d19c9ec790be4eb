/**
 * `petrel doctor`: a short report on what stands between this server and working mail, with a
 * fix for each problem. Exit 0 when nothing failed (warnings allowed), 1 otherwise. A config
 * that does not load, or a store that does not open, is reported like any other problem.
 */
import type { Command } from "commander";
import { isIP } from "node:net";
import { formatDoctor, runDoctor, type DoctorReport } from "../ops/index.js";
import type { DkimKeyInfo } from "../ops/index.js";
import { asciiDomain } from "../store/domain-name.js";
import { load, printJson, withStore, type GlobalOptions } from "./context.js";
import { freshResolver } from "./dns.js";

interface DoctorOptions extends GlobalOptions {
  ip?: string;
  json?: boolean;
}

function report(r: DoctorReport, json: boolean | undefined): void {
  if (json) printJson(r);
  else process.stdout.write(formatDoctor(r));
  process.exitCode = r.ok ? 0 : 1;
}

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check the config, listeners, certificates, DNS, reverse DNS and blocklists; exit 1 when something needs fixing")
    .option("--config <file>", "config file")
    .option("--data-dir <dir>", "data directory")
    .option("--ip <address>", "the server's public IP address (for reverse DNS and blocklists)")
    .option("--json", "print JSON")
    .action(async (opts: DoctorOptions) => {
      if (opts.ip !== undefined && !isIP(opts.ip)) {
        process.stderr.write(`petrel: --ip ${opts.ip} is not an IP address\n`);
        process.exit(1);
      }
      let loaded;
      try {
        loaded = load(opts);
      } catch (e) {
        return report({ ok: false, checks: [{ section: "config", status: "fail", message: (e as Error).message, fix: "fix the config file; petrel doctor runs the other checks once it loads" }] }, opts.json);
      }
      let domains: { name: string; dkimKeys: DkimKeyInfo[] }[];
      try {
        domains = await withStore(opts, async (store) => {
          await store.dkimKeys.expire(Date.now());
          const list = await store.directory.listDomains();
          return Promise.all(list.map(async (d) => ({ name: asciiDomain(d.name), dkimKeys: await store.dkimKeys.list(d.name) })));
        });
      } catch (e) {
        return report({ ok: false, checks: [{ section: "config", status: "fail", message: `the store does not open: ${(e as Error).message}`, fix: `check storage and dataDir (${loaded.config.dataDir}) in the config, and their permissions` }] }, opts.json);
      }
      report(await runDoctor({ config: loaded.config, source: loaded.source, resolver: freshResolver(loaded.config), domains, ip: opts.ip }), opts.json);
    });
}
