/**
 * What a message forwarded to a remote alias target gets before it is queued again: the
 * envelope sender rewritten with SRS (delivery/srs.ts), so that SPF at the target sees our
 * domain and bounces come back here; and an ARC set (msgauth/arc-seal.ts) signed with the
 * forwarding domain's DKIM key, so that the target can trust our record of SPF/DKIM/DMARC.
 * The SRS secret is config `srs.secret`, else DATADIR/srs.secret (made on first start).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import type { Config } from "../config/schema.js";
import type { Logger } from "../core/logger.js";
import type { Resolver } from "../dns/types.js";
import { mailauthResolver } from "../dns/mailauth.js";
import type { DkimKeyStore } from "../store/types.js";
import { Srs } from "../delivery/srs.js";
import { arcSeal } from "../msgauth/arc-seal.js";

export function loadSrsSecret(config: Config, log: Logger): string {
  if (config.srs.secret) return config.srs.secret;
  const file = join(config.dataDir, "srs.secret");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const secret = randomBytes(32).toString("hex");
  mkdirSync(dirname(file), { recursive: true });
  try {
    writeFileSync(file, secret + "\n", { mode: 0o600, flag: "wx" });
  } catch (e) {
    // Another process on this data directory made it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return readFileSync(file, "utf8").trim();
    throw e;
  }
  log.info({ event: "srs-secret", file }, "SRS secret created");
  return secret;
}

export interface ForwardingDeps {
  config: Config & { hostname: string };
  keys: DkimKeyStore;
  resolver: Resolver;
  log: Logger;
  now?: () => number;
}

export class Forwarding {
  readonly srs: Srs | null;

  constructor(private readonly deps: ForwardingDeps) {
    const c = deps.config;
    this.srs = c.srs.enabled ? new Srs({ secrets: [loadSrsSecret(c, deps.log), ...c.srs.oldSecrets], maxAgeDays: c.srs.maxAgeDays, ...(deps.now ? { now: deps.now } : {}) }) : null;
  }

  /** The sender and message to queue for the remote targets of an alias at `aliasDomain`. */
  async prepare(sender: string, body: Buffer, aliasDomain: string | undefined): Promise<{ sender: string; body: Buffer }> {
    const { config, log } = this.deps;
    const domain = (config.srs.domain ?? aliasDomain ?? "").toLowerCase();
    if (!domain) return { sender, body };
    const newSender = this.srs ? this.srs.forward(sender, domain) : sender;
    let out = body;
    if (config.arc.sealForwarded) {
      try {
        const key = (await this.deps.keys.active(domain)).find((k) => k.algorithm === "rsa");
        if (key) {
          const r = await arcSeal(body, { key, authservId: config.hostname, resolver: mailauthResolver(this.deps.resolver), ...(this.deps.now ? { now: this.deps.now } : {}) });
          if (r.sealed) out = Buffer.concat([r.headers, body]);
          else log.info({ event: "arc-seal", domain, reason: r.reason }, "forwarded message not ARC-sealed");
        }
      } catch (e) {
        // A seal is an addition: the message goes on without one.
        log.warn({ event: "arc-seal", domain, error: (e as Error).message }, "ARC sealing failed");
      }
    }
    return { sender: newSender, body: out };
  }
}
