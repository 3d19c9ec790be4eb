/**
 * `petrel dkim keygen|show|rotate`: the DKIM keys that sign submitted mail, and the DNS records
 * that publish them. Private keys are kept in the store as PEM (the SQLite file in the data
 * directory, or the PostgreSQL database): protect those as you would the keys themselves.
 */
import type { Command } from "commander";
import { isValidDomain } from "../core/address.js";
import { parseDuration } from "../config/duration.js";
import { asciiDomain } from "../store/domain-name.js";
import type { DkimAlgorithm, DkimKey, Store } from "../store/types.js";
import { defaultSelector, dkimRecordName, dkimRecordValue, generateDkimKeyPair, isValidSelector, zoneFileStrings } from "../msgauth/dkim-keys.js";
import { fail, printJson, withStore, type GlobalOptions } from "./context.js";

const common = (c: Command) => c.option("--config <file>", "config file").option("--data-dir <dir>", "data directory");

interface KeyOptions extends GlobalOptions {
  selector?: string;
  algorithm?: string;
}

function algorithmOf(v: string | undefined): DkimAlgorithm {
  const a = (v ?? "rsa").toLowerCase();
  if (a !== "rsa" && a !== "ed25519") throw new Error(`unknown algorithm ${v} (use rsa or ed25519)`);
  return a;
}

function checkSelector(s: string | undefined): void {
  if (s !== undefined && !isValidSelector(s)) throw new Error(`${s} is not a valid selector (letters, digits and hyphens, dot-separated)`);
}

function domainOf(name: string): string {
  const ascii = asciiDomain(name);
  if (!isValidDomain(ascii) || name.startsWith("[")) throw new Error(`${name} is not a valid domain name`);
  return ascii;
}

/** The given selector, or petrel<yyyymm>[ed], with -2, -3... when that one is taken. */
async function chooseSelector(store: Store, domain: string, algorithm: DkimAlgorithm, given: string | undefined, now: number): Promise<string> {
  if (given !== undefined) {
    checkSelector(given);
    return given;
  }
  const taken = new Set((await store.dkimKeys.list(domain)).map((k) => k.selector));
  const base = defaultSelector(algorithm, now);
  let s = base;
  for (let n = 2; taken.has(s); n++) s = `${base}-${n}`;
  return s;
}

/** A new key pair for the domain with a free selector (also used by `petrel init`). */
export async function newKey(store: Store, domain: string, opts: KeyOptions, algorithm: DkimAlgorithm) {
  const now = Date.now();
  const selector = await chooseSelector(store, domain, algorithm, opts.selector, now);
  return { domain, selector, algorithm, ...generateDkimKeyPair(algorithm), createdAt: now };
}

function recordLines(k: Pick<DkimKey, "domain" | "selector" | "algorithm" | "publicKey">): string {
  const name = dkimRecordName(k.selector, k.domain);
  const value = dkimRecordValue(k.algorithm, k.publicKey);
  return `${name}. IN TXT ${zoneFileStrings(value)}\n  (one string, for DNS providers' forms: ${value})\n`;
}

function describeKey(k: DkimKey): object {
  return {
    domain: k.domain,
    selector: k.selector,
    algorithm: k.algorithm,
    state: k.state,
    createdAt: new Date(k.createdAt).toISOString(),
    retireAt: k.retireAt === null ? null : new Date(k.retireAt).toISOString(),
    record: { name: dkimRecordName(k.selector, k.domain), type: "TXT", value: dkimRecordValue(k.algorithm, k.publicKey) },
    publish: k.state !== "retired",
  };
}

const STATE_NOTE: Record<DkimKey["state"], (k: DkimKey) => string> = {
  active: () => "signs new mail; keep its record published",
  retiring: (k) => `no longer signs; keep its record published until ${new Date(k.retireAt!).toISOString()}`,
  retired: () => "retired: its DNS record can be removed",
};

export function registerDkim(program: Command): void {
  const dkim = program.command("dkim").description("DKIM signing keys for local domains");

  common(
    dkim
      .command("keygen <domain>")
      .description("create a DKIM key that signs the domain's submitted mail, and print its DNS record")
      .option("--selector <selector>", "selector (default petrel<yyyymm>, with 'ed' for ed25519)")
      .option("--algorithm <algorithm>", "rsa (2048 bits) or ed25519", "rsa"),
  ).action(async (name: string, opts: KeyOptions) => {
    try {
      const domain = domainOf(name);
      const algorithm = algorithmOf(opts.algorithm);
      checkSelector(opts.selector);
      await withStore(opts, async (store) => {
        const active = (await store.dkimKeys.active(domain)).find((k) => k.algorithm === algorithm);
        if (active) throw new Error(`${domain} already has an active ${algorithm} key (selector ${active.selector}); use: petrel dkim rotate ${domain}`);
        const k = await store.dkimKeys.add(await newKey(store, domain, opts, algorithm));
        process.stdout.write(`DKIM ${algorithm} key ${k.selector} created for ${k.domain}. Publish this DNS record:\n\n${recordLines(k)}`);
      });
    } catch (e) {
      fail(e);
    }
  });

  common(dkim.command("show [domain]").description("list DKIM keys, their states and DNS records").option("--json", "print JSON")).action(
    async (name: string | undefined, opts: GlobalOptions & { json?: boolean }) => {
      try {
        const domain = name === undefined ? undefined : domainOf(name);
        await withStore(opts, async (store) => {
          await store.dkimKeys.expire(Date.now());
          const keys = await store.dkimKeys.list(domain);
          if (opts.json) return printJson(keys.map(describeKey));
          if (keys.length === 0) {
            process.stdout.write(domain ? `no DKIM keys for ${domain} (create one with: petrel dkim keygen ${domain})\n` : "no DKIM keys (create one with: petrel dkim keygen DOMAIN)\n");
            return;
          }
          for (const k of keys) {
            process.stdout.write(`${k.domain} ${k.selector} ${k.algorithm} ${k.state} (created ${new Date(k.createdAt).toISOString()}): ${STATE_NOTE[k.state](k)}\n`);
            if (k.state !== "retired") process.stdout.write(`  ${recordLines(k).replace(/\n(?=.)/g, "\n  ")}`);
            else process.stdout.write(`  remove: ${dkimRecordName(k.selector, k.domain)}. TXT\n`);
          }
        });
      } catch (e) {
        fail(e);
      }
    },
  );

  common(
    dkim
      .command("rotate <domain>")
      .description("create a new active key; the current one stops signing and stays published (retiring) for a while")
      .option("--selector <selector>", "selector of the new key")
      .option("--algorithm <algorithm>", "rotate only this algorithm's key (default: each active one)")
      .option("--retire-after <duration>", "how long the old key stays published (default: dkim.retireAfter, 7d)"),
  ).action(async (name: string, opts: KeyOptions & { retireAfter?: string }) => {
    try {
      const domain = domainOf(name);
      checkSelector(opts.selector);
      const given = opts.retireAfter === undefined ? undefined : parseDuration(opts.retireAfter);
      if (given === null) throw new Error(`invalid duration ${opts.retireAfter} (use e.g. 7d, 48h)`);
      await withStore(opts, async (store, loaded) => {
        const retireAfter = given ?? loaded.config.dkim.retireAfter;
        const active = await store.dkimKeys.active(domain);
        const algorithms: DkimAlgorithm[] = opts.algorithm !== undefined ? [algorithmOf(opts.algorithm)] : [...new Set(active.map((k) => k.algorithm))];
        if (algorithms.length === 0) throw new Error(`${domain} has no active DKIM key to rotate (create one with: petrel dkim keygen ${domain})`);
        if (opts.selector !== undefined && algorithms.length > 1) throw new Error("--selector needs --algorithm when the domain has keys of both algorithms");
        const retireAt = Date.now() + retireAfter;
        for (const algorithm of algorithms) {
          const retired = await store.dkimKeys.rotate(await newKey(store, domain, opts, algorithm), retireAt);
          const k = (await store.dkimKeys.active(domain)).find((x) => x.algorithm === algorithm)!;
          process.stdout.write(`DKIM ${algorithm} key ${k.selector} created for ${k.domain} and now signs. Publish this DNS record:\n\n${recordLines(k)}\n`);
          for (const r of retired) process.stdout.write(`key ${r.selector} is retiring: keep its record published until ${new Date(retireAt).toISOString()}\n`);
        }
      });
    } catch (e) {
      fail(e);
    }
  });
}
