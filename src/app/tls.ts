/**
 * Certificates: from the configured files, or a self-signed one generated on first start
 * (development profile, or a server not yet given a real certificate).
 */
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import { existsSync, mkdirSync, readFileSync, unwatchFile, watchFile, writeFileSync, type Stats } from "node:fs";
import { join } from "node:path";
import { generate } from "selfsigned";
import type { Logger } from "../core/logger.js";
import { TLS_MIN_VERSION, type TlsProvider } from "./serve-socket.js";

export interface CertificateFiles {
  cert: string;
  key: string;
}

export async function ensureSelfSigned(dir: string, hostname: string, log: Logger): Promise<CertificateFiles> {
  const cert = join(dir, "selfsigned.crt");
  const key = join(dir, "selfsigned.key");
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const notAfterDate = new Date(Date.now() + 825 * 86_400_000);
  const pems = await generate([{ name: "commonName", value: hostname }], {
    keySize: 2048,
    algorithm: "sha256",
    notAfterDate,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "extKeyUsage", serverAuth: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: hostname }, { type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }, { type: 7, ip: "::1" }] },
    ],
  });
  writeFileSync(key, pems.private, { mode: 0o600 });
  writeFileSync(cert, pems.cert, { mode: 0o644 });
  log.info({ event: "tls", cert }, "generated a self-signed certificate");
  return { cert, key };
}

/** A certificate served to clients that ask for one of these names (SNI, RFC 6066 3). */
export interface NamedCertificate extends CertificateFiles {
  hostnames: readonly string[];
}

interface Loaded {
  opts: SecureContextOptions;
  ctx: SecureContext;
}

/** Reads a certificate and its key; throws when they are unreadable or do not match. */
function load(files: CertificateFiles): Loaded {
  try {
    // TLS 1.2 and 1.3 only (RFC 8996 retires 1.0 and 1.1; RFC 8314 4.1 asks for current TLS).
    const opts: SecureContextOptions = { cert: readFileSync(files.cert), key: readFileSync(files.key), minVersion: TLS_MIN_VERSION, maxVersion: "TLSv1.3" };
    return { opts, ctx: createSecureContext(opts) };
  } catch (e) {
    throw new Error(`cannot load certificate ${files.cert} with key ${files.key}: ${(e as Error).message}`);
  }
}

const normalName = (n: string) => n.toLowerCase().replace(/\.$/, "");

/**
 * Holds the current secure contexts: the default one and one per configured host name set.
 * reload() re-reads the files without touching open sessions; watch() does it by itself when
 * a file changes. A file that does not load keeps the certificate that was there before.
 */
export class FileTlsProvider implements TlsProvider {
  private main: Loaded;
  private readonly named: { names: Set<string>; files: CertificateFiles; loaded: Loaded }[];
  private watched: string[] = [];
  private listener?: (curr: Stats, prev: Stats) => void;
  private debounce?: NodeJS.Timeout;

  constructor(
    private readonly files: CertificateFiles,
    named: readonly NamedCertificate[] = [],
  ) {
    this.main = load(files);
    this.named = named.map((n) => ({ names: new Set(n.hostnames.map(normalName)), files: { cert: n.cert, key: n.key }, loaded: load(n) }));
  }

  /**
   * Re-read every certificate. Each that loads replaces its old one; each that does not keeps
   * its old one and is reported in the error thrown at the end (nothing is half-replaced).
   */
  reload(): void {
    const failures: string[] = [];
    try {
      this.main = load(this.files);
    } catch (e) {
      failures.push((e as Error).message);
    }
    for (const n of this.named) {
      try {
        n.loaded = load(n.files);
      } catch (e) {
        failures.push((e as Error).message);
      }
    }
    if (failures.length) throw new Error(failures.join("; "));
  }

  /** Options for a tls.Server's default context (clients that send no SNI). */
  options(): SecureContextOptions {
    return this.main.opts;
  }

  /** The context for a requested server name: exact name, then "*.parent" (one label), then the default. */
  context(servername?: string): SecureContext {
    if (servername) {
      const name = normalName(servername);
      const dot = name.indexOf(".");
      const wildcard = dot > 0 ? `*${name.slice(dot)}` : null;
      const hit = this.named.find((n) => n.names.has(name)) ?? (wildcard ? this.named.find((n) => n.names.has(wildcard)) : undefined);
      if (hit) return hit.loaded.ctx;
    }
    return this.main.ctx;
  }

  /**
   * Poll the files' status every `intervalMs` (stat polling also sees files replaced by a rename,
   * as certbot and similar tools do); after a change, wait for the writes to settle, reload, and
   * call `changed` (the listeners take the new default context). A failed reload is logged.
   */
  watch(intervalMs: number, log: Logger, changed: () => void): void {
    if (intervalMs <= 0 || this.watched.length) return;
    const files = [this.files, ...this.named.map((n) => n.files)].flatMap((f) => [f.cert, f.key]);
    this.watched = [...new Set(files)];
    const settle = Math.max(100, intervalMs);
    const onChange = (curr: Stats, prev: Stats) => {
      if (curr.mtimeMs === prev.mtimeMs && curr.ino === prev.ino && curr.size === prev.size) return;
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => {
        try {
          this.reload();
          log.info({ event: "tls-reload", reason: "file-changed" }, "certificates changed on disk; reloaded");
        } catch (e) {
          log.error({ event: "tls-reload-failed", err: e }, "certificate files changed but do not load; keeping the old certificates");
        }
        // Some may have loaded even when another failed: the listeners take what is current.
        changed();
      }, settle);
      this.debounce.unref();
    };
    this.listener = onChange;
    for (const f of this.watched) watchFile(f, { interval: intervalMs, persistent: false }, onChange);
  }

  /** Stop watching the files. */
  close(): void {
    clearTimeout(this.debounce);
    if (this.listener) for (const f of this.watched) unwatchFile(f, this.listener);
    this.watched = [];
    this.listener = undefined;
  }
}
