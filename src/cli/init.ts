/**
 * `petrel init --domain D --hostname H`: set up a server for a real domain. Writes a production
 * config (standard ports, commented), creates the data directory, the domain and its DKIM key,
 * and prints the DNS records to publish. An existing config is kept unless --force.
 */
import type { Command } from "commander";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { isValidDomain } from "../core/address.js";
import { asciiDomain } from "../store/domain-name.js";
import { formatZone } from "../ops/index.js";
import { fail, load, withStore } from "./context.js";
import { checkIps, recordsFor } from "./dns.js";
import { newKey } from "./dkim.js";

interface InitOptions {
  domain: string;
  hostname: string;
  config: string;
  dataDir: string;
  force?: boolean;
  ip?: string;
  ipv6?: string;
}

export const DEFAULT_CONFIG_FILE = "/etc/petrel/petrel.yaml";
export const DEFAULT_DATA_DIR = "/var/lib/petrel";

const yamlString = (s: string) => JSON.stringify(s);

/** The production config as commented YAML. Values the loader would default are written anyway, to be seen. */
export function productionConfig(o: { hostname: string; dataDir: string; letsencrypt: boolean }): string {
  const le = `/etc/letsencrypt/live/${o.hostname}`;
  const tls = o.letsencrypt
    ? [`  cert: ${yamlString(`${le}/fullchain.pem`)}`, `  key: ${yamlString(`${le}/privkey.pem`)}`]
    : [
        "  # No certificate was found in " + le + "/: until one is set here, Petrel uses a",
        `  # self-signed one that it makes in ${join(o.dataDir, "tls")}/ (mail clients will warn).`,
        `  # Get one with: certbot certonly --standalone -d ${o.hostname}, then uncomment:`,
        `  # cert: ${yamlString(`${le}/fullchain.pem`)}`,
        `  # key: ${yamlString(`${le}/privkey.pem`)}`,
      ];
  return `# Petrel configuration, written by petrel init. Every key is optional; an unknown key is an
# error. Reload after editing with: systemctl reload petrel (SIGHUP). Limits, log level and
# timeouts apply at once to new sessions; listen, storage and dataDir need a restart.

# The name the server gives itself (SMTP greeting, HELO, Received:). It must match the MX
# record, the A/AAAA records, and the PTR record of the server's IP address.
hostname: ${o.hostname}

# Queue, mailboxes and keys (SQLite database and spool files). Back it up.
dataDir: ${yamlString(o.dataDir)}

storage:
  backend: sqlite            # sqlite | postgres (several nodes sharing one database)
  # postgresUrl: postgres://petrel@db/petrel

# host:port, or false to switch a listener off. Ports below 1024 need CAP_NET_BIND_SERVICE
# (the systemd unit in contrib/petrel.service grants it).
listen:
  smtp: 0.0.0.0:25           # mail from other servers (MX)
  submission: 0.0.0.0:587    # mail from your users, STARTTLS
  submissions: 0.0.0.0:465   # mail from your users, implicit TLS (RFC 8314)
  imap: 0.0.0.0:143
  imaps: 0.0.0.0:993
  pop3: 0.0.0.0:110
  pop3s: 0.0.0.0:995
  http: 127.0.0.1:8025

# Certificate for ${o.hostname}. Renewed files are picked up by themselves (tls.watchInterval).
tls:
${tls.join("\n")}
  watchInterval: 10s         # how often the files are checked for renewal

smtp:
  maxMessageSize: 50MiB
  maxRecipients: 1000

delivery:
  # Account that receives postmaster@ and abuse@ of every local domain (DMARC and TLS reports
  # go to postmaster@). Create it first: petrel user add admin@DOMAIN
  # postmaster: admin@example.com
  retryDelays: [1m, 5m, 15m, 30m, 1h]

outbound:
  maxQueueTime: 5d

dns:
  servers: []                # empty: the system's resolvers (/etc/resolv.conf)

log:
  format: json               # json (for journald) | pretty
  level: info
`;
}

function hostName(v: string, what: string): string {
  const ascii = asciiDomain(v);
  if (!isValidDomain(ascii) || v.startsWith("[") || !ascii.includes(".")) throw new Error(`${what} ${v} is not a fully qualified domain name`);
  return ascii;
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("set up Petrel for a domain: write a production config, create the data directory, the domain and its DKIM key, print the DNS records")
    .requiredOption("--domain <domain>", "the mail domain (addresses @domain)")
    .requiredOption("--hostname <hostname>", "the server's own name (the MX), e.g. mail.example.com")
    .option("--config <file>", "config file to write", DEFAULT_CONFIG_FILE)
    .option("--data-dir <dir>", "data directory", DEFAULT_DATA_DIR)
    .option("--force", "overwrite an existing config file (the data directory is kept)")
    .option("--ip <address>", "the server's public IPv4 address (for the printed records)")
    .option("--ipv6 <address>", "the server's public IPv6 address")
    .action(async (opts: InitOptions) => {
      try {
        const domain = hostName(opts.domain, "domain");
        const hostname = hostName(opts.hostname, "hostname");
        checkIps(opts);
        const configFile = resolve(opts.config);
        const dataDir = resolve(opts.dataDir);
        if (existsSync(configFile) && !opts.force) throw new Error(`${configFile} already exists; use --force to overwrite it (the data directory is kept)`);
        const letsencrypt = existsSync(`/etc/letsencrypt/live/${hostname}/fullchain.pem`);
        mkdirSync(dirname(configFile), { recursive: true });
        // The config may hold a database password: readable by root and the petrel group only.
        writeFileSync(configFile, productionConfig({ hostname, dataDir, letsencrypt }), { mode: 0o640 });
        // What was written must load: the loader is the judge.
        try {
          load({ config: configFile, dataDir });
        } catch (e) {
          rmSync(configFile, { force: true });
          throw e;
        }
        mkdirSync(dataDir, { recursive: true, mode: 0o750 });
        const out: string[] = [`wrote ${configFile}`, `data directory ${dataDir}`];
        await withStore({ config: configFile, dataDir }, async (store, loaded) => {
          if (await store.directory.isLocalDomain(domain)) out.push(`domain ${domain} exists`);
          else out.push(`domain ${(await store.directory.addDomain(domain)).name} added`);
          const active = (await store.dkimKeys.active(domain)).find((k) => k.algorithm === "rsa");
          if (active) out.push(`DKIM key ${active.selector} exists`);
          else out.push(`DKIM rsa key ${(await store.dkimKeys.add(await newKey(store, domain, {}, "rsa"))).selector} created`);
          const records = await recordsFor(store, loaded.config, domain, opts);
          out.push(
            letsencrypt ? `certificate: /etc/letsencrypt/live/${hostname}/` : `certificate: none found in /etc/letsencrypt/live/${hostname}/ (a self-signed one is made at first start; see tls: in the config)`,
            "",
            "Publish these DNS records (petrel dns records " + domain + " prints them again):",
            "",
            formatZone(records).trimEnd(),
            "",
            "Next:",
            `  petrel user add admin@${domain} --config ${configFile}`,
            ...(typeof process.getuid === "function" && process.getuid() === 0 ? [`  chown -R petrel:petrel ${dataDir} && chgrp petrel ${configFile}`] : []),
            "  systemctl enable --now petrel      (contrib/petrel.service)",
            `  petrel dns check ${domain} --config ${configFile}`,
            `  petrel doctor --config ${configFile}${opts.ip ? ` --ip ${opts.ip}` : " --ip YOUR.PUBLIC.IP"}`,
          );
        });
        process.stdout.write(out.join("\n") + "\n");
      } catch (e) {
        fail(e);
      }
    });
}
