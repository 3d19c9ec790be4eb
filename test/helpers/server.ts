/**
 * Starting a whole Petrel for a test: temporary data directory, random loopback ports,
 * in-process (fast, for most tests) or as a child process (for kill -9 and signal tests).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { Petrel } from "../../src/app/petrel.js";
import { configSchema, type ConfigInput } from "../../src/config/schema.js";
import { nullLogger, type Logger } from "../../src/core/logger.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { openStore } from "../../src/app/open-store.js";
import pg from "pg";

/** PostgreSQL for tests: PETREL_TEST_POSTGRES_URL, or null (those tests are skipped). */
export const POSTGRES_URL = process.env.PETREL_TEST_POSTGRES_URL || null;

/** Storage overrides for a fresh PostgreSQL schema of this test run. */
export function postgresStorage(): Partial<ConfigInput> {
  if (!POSTGRES_URL) throw new Error("PETREL_TEST_POSTGRES_URL is not set");
  const schema = `petrel_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  return { storage: { backend: "postgres", postgresUrl: POSTGRES_URL, postgresSchema: schema } };
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

/** dist/src/cli/main.js, from dist/test/helpers/server.js. */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), "../../src/cli/main.js");

const ALL_OFF = { smtp: false, submission: false, submissions: false, imap: false, imaps: false, pop3: false, pop3s: false, http: false } as const;

export function tempDir(prefix = "petrel-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A config with the SMTP, POP3 and IMAP listeners on random loopback ports and everything else off. */
export function testConfig(dataDir: string, overrides: Partial<ConfigInput> = {}): ConfigInput {
  return {
    hostname: "mx.petrel.test",
    dataDir,
    ...overrides,
    listen: { ...ALL_OFF, smtp: "127.0.0.1:0", submission: "127.0.0.1:0", submissions: "127.0.0.1:0", pop3: "127.0.0.1:0", pop3s: "127.0.0.1:0", imap: "127.0.0.1:0", imaps: "127.0.0.1:0", http: "127.0.0.1:0", ...(overrides.listen ?? {}) },
    log: { level: "silent", ...(overrides.log ?? {}) },
    // Inbound SPF/DKIM/DMARC would query real DNS for test domains: tests that want it turn it on.
    inbound: { authentication: false, ...(overrides.inbound ?? {}) },
  };
}

export interface TestServer {
  petrel: Petrel;
  dataDir: string;
  port(name: "smtp" | "submission" | "submissions" | "pop3" | "pop3s" | "imap" | "imaps" | "http"): number;
  stop(): Promise<void>;
}

/** The account that catch-all aliases point at in test servers. */
export const CATCH_ALL_ACCOUNT = "catchall";

/**
 * Start Petrel in this process with local domains already added. By default every address at
 * those domains is accepted (a catch-all alias to catchall@<domain>) and nothing is delivered
 * (messages stay in the queue for the test to read); deliver: true starts the scheduler.
 */
export async function startServer(opts: { overrides?: Partial<ConfigInput>; domains?: string[]; log?: Logger; deliver?: boolean; catchAll?: boolean } = {}): Promise<TestServer> {
  const dataDir = tempDir();
  const config = { ...configSchema.parse(testConfig(dataDir, opts.overrides)), hostname: "mx.petrel.test" };
  const { store: pre } = await openStore(config, { server: false });
  for (const d of opts.domains ?? ["petrel.test"]) {
    await pre.directory.addDomain(d);
    if (opts.catchAll !== false) {
      await pre.directory.addAccount({ address: `${CATCH_ALL_ACCOUNT}@${d}`, passwordHash: "!" });
      await pre.directory.addAlias(`@${d}`, [`${CATCH_ALL_ACCOUNT}@${d}`]);
    }
  }
  await pre.close();
  const petrel = await Petrel.start({ config, development: false, log: opts.log ?? nullLogger, deliver: opts.deliver ?? false });
  return {
    petrel,
    dataDir,
    port: (name) => petrel.port(name),
    async stop() {
      await petrel.stop();
      rmSync(dataDir, { recursive: true, force: true });
      if (config.storage.backend === "postgres") await dropSchema(config.storage.postgresUrl!, config.storage.postgresSchema!);
    },
  };
}

export interface ChildServer {
  proc: ChildProcess;
  dataDir: string;
  configFile: string;
  ports: Record<string, number>;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Run `petrel serve` as a child process; resolves once it logged "ready". */
export async function startChild(opts: { dataDir?: string; overrides?: Partial<ConfigInput>; domains?: string[]; catchAll?: boolean } = {}): Promise<ChildServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const configFile = join(dataDir, "petrel.yaml");
  writeFileSync(configFile, stringify(testConfig(dataDir, { log: { level: "info" }, ...opts.overrides })));
  if (opts.domains) {
    const pre = openSqliteStore(dataDir);
    for (const d of opts.domains) {
      await pre.directory.addDomain(d);
      if (opts.catchAll !== false) {
        await pre.directory.addAccount({ address: `${CATCH_ALL_ACCOUNT}@${d}`, passwordHash: "!" });
        await pre.directory.addAlias(`@${d}`, [`${CATCH_ALL_ACCOUNT}@${d}`]);
      }
    }
    await pre.close();
  }
  const proc = spawn(process.execPath, [CLI, "serve", "--config", configFile, "--log-format", "json"], { stdio: ["ignore", "pipe", "pipe"] });
  const logs: Record<string, unknown>[] = [];
  const ports: Record<string, number> = {};
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    let buf = "";
    proc.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          logs.push(j);
          if (j.event === "listening") ports[j.listener as string] = j.port as number;
          if (j.event === "ready") resolve();
        } catch {
          /* not JSON: ignore */
        }
      }
    });
    void exited.then((code) => reject(new Error(`petrel exited with ${code} before ready: ${stderr}`)));
  });
  return { proc, dataDir, configFile, ports, logs, exited };
}
