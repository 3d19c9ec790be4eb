/** Running a Python client script (smtplib, poplib): input as JSON on stdin, `out` printed as JSON. */
import { spawn } from "node:child_process";

export function runPython<T = Record<string, unknown>>(prelude: string, script: string, input: object, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn("python3", ["-c", prelude + script + "\nprint(json.dumps(out))\n"], { stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", (code) => {
      if (code !== 0) return reject(new Error(`python3 exited with ${code}:\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`python3 printed no JSON: ${stdout}\n${stderr}`));
      }
    });
    p.stdin.end(JSON.stringify(input));
  });
}
