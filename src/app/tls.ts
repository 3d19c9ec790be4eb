/**
 * Certificates: from the configured files, or a self-signed one generated on first start
 * (development profile, or a server not yet given a real certificate).
 */
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
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

/** Holds the current secure context; reload() re-reads the files without touching sessions. */
export class FileTlsProvider implements TlsProvider {
  private ctx: SecureContext;
  private opts: SecureContextOptions;

  constructor(private readonly files: CertificateFiles) {
    this.opts = this.read();
    this.ctx = createSecureContext(this.opts);
  }

  private read(): SecureContextOptions {
    return { cert: readFileSync(this.files.cert), key: readFileSync(this.files.key), minVersion: TLS_MIN_VERSION };
  }

  /** Re-read the files; throws (keeping the old certificate) when they are unusable. */
  reload(): void {
    const opts = this.read();
    const ctx = createSecureContext(opts);
    this.opts = opts;
    this.ctx = ctx;
  }

  /** Options for a tls.Server's default context (clients that send no SNI). */
  options(): SecureContextOptions {
    return this.opts;
  }

  context(): SecureContext {
    return this.ctx;
  }
}
