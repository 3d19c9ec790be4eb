// Starting a server under test as a child process: Petrel itself (the default target) or our SMTP
// sink. Readiness is "the port accepts a TCP connection", polled, rather than parsing the log:
// robust to any log format and to servers that print nothing.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { sleep } from "./stats.js";

export interface ServerChild {
  name: string;
  host: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (the kernel's pick for port 0). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** Keeps the last lines of a child's output, for the error message if it dies during startup. */
function tail(child: ChildProcess): () => string {
  let text = "";
  const keep = (d: Buffer): void => {
    text = (text + d.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => text.trim();
}

async function waitReady(child: ChildProcess, host: string, port: number, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited during startup (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    if (await canConnect(host, port)) return;
    await sleep(100);
  }
  child.kill("SIGKILL");
  throw new Error(`server did not accept connections on ${host}:${port} within ${timeoutMs} ms:\n${output()}`);
}

function stopper(child: ChildProcess, cleanup: () => void): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    cleanup();
  };
}

async function spawnServer(name: string, args: string[], host: string, port: number, cleanup: () => void): Promise<ServerChild> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output = tail(child);
  try {
    await waitReady(child, host, port, output, 30000);
  } catch (err) {
    cleanup();
    throw err;
  }
  return { name, host, port, pid: child.pid!, stop: stopper(child, cleanup) };
}

/** Our SMTP sink (dist/bench/sink-server.js) on a free loopback port. */
export async function startSinkChild(): Promise<ServerChild> {
  const port = await freePort();
  const script = new URL("./sink-server.js", import.meta.url).pathname;
  return spawnServer("sink", [script, `127.0.0.1:${port}`], "127.0.0.1", port, () => {});
}

const PETREL_MAIN = "dist/src/cli/main.js";

/**
 * Petrel with a temporary data directory, SMTP only, on a free loopback port. The config is the
 * documented YAML; limits are raised so the idle-connection test measures memory, not a cap.
 */
export async function startPetrel(recipient: string | null, extraConfig: Record<string, unknown> = {}): Promise<ServerChild & { config: string; dataDir: string }> {
  // listenExtra opens more listeners (IMAP...) beside the SMTP one the benchmark waits for.
  // nodeArgs: more node options for the child (e.g. --cpu-prof for profiling).
  const { listenExtra, nodeArgs = [], ...extra } = extraConfig as { listenExtra?: Record<string, string>; nodeArgs?: string[] };
  if (!existsSync(PETREL_MAIN)) {
    throw new Error(`${PETREL_MAIN} not found: build Petrel first (npm run build), or pass --target / --sink`);
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "petrel-bench-"));
  const config = join(dir, "petrel.yaml");
  writeFileSync(
    config,
    stringify({
      dataDir: join(dir, "data"),
      hostname: "bench.petrel.test",
      listen: {
        smtp: `127.0.0.1:${port}`,
        submission: false,
        submissions: false,
        imap: false,
        imaps: false,
        pop3: false,
        pop3s: false,
        http: false,
        ...listenExtra,
      },
      log: { level: "warn" },
      limits: { maxConnections: 20000, maxConnectionsPerIp: 20000 },
      ...extra,
    }),
  );
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  // null: nothing to provision (a data directory that already has its accounts).
  if (recipient !== null) provisionRecipient(config, recipient);
  // The same V8 flag as the petrel command's shebang and `npm start`: a small young generation
  // keeps RSS flat while a large message streams through.
  const child = await spawnServer("petrel", ["--max-semi-space-size=2", ...nodeArgs, PETREL_MAIN, "serve", "--config", config], "127.0.0.1", port, cleanup);
  return Object.assign(child, { config, dataDir: join(dir, "data") });
}

/**
 * Best effort: make the benchmark recipient a real local mailbox, through the CLI the design
 * documents (`petrel domain add`, `petrel user add`). Warns instead of failing: a server that
 * rejects the recipient shows up plainly as "550 ..." in the error list.
 */
function provisionRecipient(config: string, recipient: string): void {
  const at = recipient.lastIndexOf("@");
  const steps = [
    ["domain", "add", recipient.slice(at + 1)],
    ["user", "add", recipient, "--password-stdin"],
  ];
  for (const step of steps) {
    const r = spawnSync(process.execPath, [PETREL_MAIN, ...step, "--config", config], {
      encoding: "utf8",
      timeout: 30000,
      input: "bench-password-not-secret\n",
    });
    if (r.status !== 0) {
      const lines = (r.stderr || r.stdout || String(r.error ?? "")).trim().split("\n");
      const why = lines.find((l) => /error/i.test(l)) ?? lines[0];
      console.warn(`bench: warning: "petrel ${step.slice(0, 3).join(" ")}" failed (${why}); continuing`);
    }
  }
}
