/** Running the real `petrel` command (dist/src/cli/main.js) against a temporary data directory. */
import { execFile } from "node:child_process";
import { CLI } from "./server.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without PETREL_CONFIG / PETREL_DATA_DIR, so only the arguments count. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PETREL_CONFIG;
  delete env.PETREL_DATA_DIR;
  return env;
}

/** Run `petrel ARGS --data-dir DIR`, writing `input` to its stdin (a pipe, not a terminal). */
export function petrel(dataDir: string, args: readonly string[], input = ""): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [CLI, ...args, "--data-dir", dataDir], { env: cleanEnv(), timeout: 30_000, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err && typeof err.code !== "number") return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin!.on("error", () => {}); // the command may exit before reading everything
    child.stdin!.end(input);
  });
}

/** Like petrel(), but the command must succeed; returns its stdout. */
export async function ok(dataDir: string, args: readonly string[], input = ""): Promise<string> {
  const r = await petrel(dataDir, args, input);
  if (r.code !== 0) throw new Error(`petrel ${args.join(" ")} exited with ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Like petrel(), but the command must fail; returns its stderr. */
export async function refused(dataDir: string, args: readonly string[], input = ""): Promise<string> {
  const r = await petrel(dataDir, args, input);
  if (r.code === 0) throw new Error(`petrel ${args.join(" ")} succeeded but should have failed: ${r.stdout}`);
  return r.stderr;
}

/** Run a command with --json and parse what it printed. */
export async function json<T = unknown>(dataDir: string, args: readonly string[]): Promise<T> {
  return JSON.parse(await ok(dataDir, [...args, "--json"])) as T;
}
