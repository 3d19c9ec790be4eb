/**
 * Config reload (SIGHUP): which keys a running server takes at once, and which need a restart.
 *
 * Live keys are read when they are used: by each new session (SMTP, IMAP, POP3 limits and
 * timeouts), at each delivery attempt (retry delays), at each check (connection and sending
 * limits), or by the logger. Sessions already open keep the values they started with. Every
 * other key (listen addresses, storage, dataDir, hostname, certificate paths, DNS servers,
 * outbound settings, delivery concurrency...) is built into long-lived objects at start and
 * needs a restart; a reload reports such changes and keeps the running values.
 */
import type { Config } from "./schema.js";

/** Key paths (or their prefixes) applied live. Documented in README "Reloading the config". */
export const LIVE_KEYS: readonly string[] = [
  "log.level",
  "limits.maxConnections",
  "limits.maxConnectionsPerIp",
  "limits.shutdownGrace",
  "smtp.maxMessageSize",
  "smtp.maxRecipients",
  "smtp.maxTransactions",
  "smtp.maxErrors",
  "smtp.maxJunkCommands",
  "smtp.maxTextLineLength",
  "smtp.bareLineEndings",
  "smtp.commandTimeout",
  "smtp.dataTimeout",
  "smtp.dataMaxTime",
  "smtp.submissionRequiresAuth",
  "smtp.allowInsecureAuth",
  "submission.limits",
  "pop3.idleTimeout",
  "pop3.allowInsecureAuth",
  "imap.idleTimeout",
  "imap.idleMax",
  "imap.allowInsecureAuth",
  "imap.maxLineLength",
  "delivery.retryDelays",
  "outbound.maxQueueTime",
  "outbound.delayWarning",
];

export interface ReloadChanges {
  /** Changed keys now in effect (for new sessions). */
  applied: string[];
  /** Changed keys that keep their running value until a restart. */
  needsRestart: string[];
}

/** Leaves of a config as "a.b.c" -> JSON text; arrays are leaves. */
function leaves(v: unknown, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) leaves(x, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, JSON.stringify(v));
  }
  return out;
}

const isLive = (path: string) => LIVE_KEYS.some((k) => path === k || path.startsWith(`${k}.`));

/** The keys that differ between two configs, split into live and needs-restart. */
export function diffConfig(running: Config, next: Config): ReloadChanges {
  const a = leaves(running);
  const b = leaves(next);
  const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
  return { applied: changed.filter(isLive), needsRestart: changed.filter((k) => !isLive(k)) };
}

/**
 * Write the live keys of `next` into `running`, in place: the objects that hold parts of the
 * running config (e.g. submission.limits) see the new values. Returns what changed.
 */
export function applyLiveKeys(running: Config, next: Config): ReloadChanges {
  const changes = diffConfig(running, next);
  for (const path of changes.applied) {
    const keys = path.split(".");
    let from: Record<string, unknown> = next as unknown as Record<string, unknown>;
    let to: Record<string, unknown> = running as unknown as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) {
      from = from[k] as Record<string, unknown>;
      to = (to[k] ??= {}) as Record<string, unknown>;
    }
    const last = keys[keys.length - 1]!;
    to[last] = structuredClone(from[last]);
  }
  return changes;
}
