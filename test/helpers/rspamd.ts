/**
 * A real rspamd (Debian package `rspamd`, installed by .ci/run) for tests: one normal worker on
 * a free loopback port, a minimal config in a temporary directory over the packaged rules
 * (/etc/rspamd), no redis, DNS pointed at a dead loopback port (no network lookups), greylisting
 * off, and rspamd's test patterns on (GTUBE variants: XJS... reject, YJS... add header, ZJS...
 * rewrite subject). The compiled regexp cache is kept between runs in the OS temp directory:
 * the first start compiles it (tens of seconds), later ones take a second.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/** The rspamd binary, or null when it is not installed. */
export function rspamdBinary(): string | null {
  try {
    return execFileSync("sh", ["-c", "command -v rspamd"], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export interface TestRspamd {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRspamd(): Promise<TestRspamd> {
  const bin = rspamdBinary();
  if (!bin) throw new Error("rspamd is not installed");
  const dir = mkdtempSync(join(tmpdir(), "petrel-rspamd-"));
  const cache = join(tmpdir(), "petrel-rspamd-cache");
  mkdirSync(cache, { recursive: true });
  mkdirSync(join(dir, "local"), { recursive: true });
  const port = await freePort();
  const conf = join(dir, "rspamd.conf");
  writeFileSync(
    conf,
    `.include "$CONFDIR/common.conf"
options {
  pidfile = "$RUNDIR/rspamd.pid";
  .include "$CONFDIR/options.inc"
  filters = "regexp";
  enable_test_patterns = true;
  dns { nameserver = ["127.0.0.1:1"]; timeout = 0.2s; retransmits = 1; }
}
actions { greylist = null; }
logging { type = "file"; filename = "$LOGDIR/rspamd.log"; level = "warning"; }
worker "normal" { bind_socket = "127.0.0.1:${port}"; mime = true; count = 1; }
`,
  );
  const root = process.getuid?.() === 0;
  const args = ["-f", ...(root ? ["-u", "root", "-g", "root", "-i"] : []), "-c", conf, `--var=LOCAL_CONFDIR=${join(dir, "local")}`, `--var=DBDIR=${cache}`, `--var=RUNDIR=${dir}`, `--var=LOGDIR=${dir}`];
  const proc: ChildProcess = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += d));
  let exited = false;
  const exit = new Promise<void>((r) => proc.on("exit", () => ((exited = true), r())));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 180_000;
  for (;;) {
    if (exited) throw new Error(`rspamd exited: ${stderr.slice(-2000)}`);
    try {
      const r = await fetch(`${url}/ping`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) {
      proc.kill("SIGKILL");
      throw new Error("rspamd did not start within 180 s");
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    port,
    async stop() {
      if (!exited) {
        proc.kill("SIGTERM");
        const t = setTimeout(() => proc.kill("SIGKILL"), 5_000);
        await exit;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
