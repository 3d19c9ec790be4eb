/**
 * `petrel user add|passwd` on a terminal: the password is asked twice and not echoed. The
 * command runs in a pseudo-terminal made by Python's pty module (skipped without python3).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { CLI, tempDir } from "../helpers/server.js";
import { ok } from "../helpers/cli.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { verifyPassword } from "../../src/auth/password.js";

/** Runs argv in a pty; for each step waits for `expect` in the output, then types `send`. */
const PTY_DRIVER = `
import json, os, pty, select, sys, time
inp = json.loads(sys.stdin.read())
pid, fd = pty.fork()
if pid == 0:
    os.execv(inp["argv"][0], inp["argv"])
out = b""
pos = 0
def read_some(deadline):
    global out
    r, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
    if not r:
        return False
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        return False
    out += chunk
    return len(chunk) > 0
for step in inp["steps"]:
    marker = step["expect"].encode()
    deadline = time.time() + 20
    while out.find(marker, pos) < 0:
        if time.time() > deadline or not read_some(deadline):
            sys.stdout.write(json.dumps({"error": "did not see %r" % step["expect"], "output": out.decode("utf-8", "replace")}))
            sys.exit(0)
    pos = out.find(marker, pos) + len(marker)
    os.write(fd, step["send"].encode())
deadline = time.time() + 20
while read_some(deadline):
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({"output": out.decode("utf-8", "replace"), "code": os.waitstatus_to_exitcode(status)}))
`;

interface PtyResult {
  output: string;
  code: number;
  error?: string;
}

function inPty(dataDir: string, args: string[], steps: { expect: string; send: string }[]): Promise<PtyResult> {
  const env = { ...process.env };
  delete env.PETREL_CONFIG;
  delete env.PETREL_DATA_DIR;
  return new Promise((resolve, reject) => {
    const p = spawn("python3", ["-c", PTY_DRIVER], { env, stdio: ["pipe", "pipe", "pipe"], timeout: 60_000 });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", () => {
      try {
        const r = JSON.parse(stdout) as PtyResult;
        if (r.error) reject(new Error(`${r.error}; output: ${JSON.stringify(r.output)}`));
        else resolve(r);
      } catch {
        reject(new Error(`pty driver failed: ${stderr}`));
      }
    });
    p.stdin.end(JSON.stringify({ argv: [process.execPath, CLI, ...args, "--data-dir", dataDir], steps }));
  });
}

async function hashOf(dir: string, address: string): Promise<string | undefined> {
  const store = openSqliteStore(dir);
  try {
    return (await store.directory.credentials(address))?.passwordHash;
  } finally {
    await store.close();
  }
}

const hasPython = spawnSync("python3", ["-c", "import pty"]).status === 0;

describe("password prompt on a terminal", { skip: hasPython ? false : "python3 with pty is not available" }, () => {
  let dir: string;
  before(async () => {
    dir = tempDir("petrel-cli-tty-");
    await ok(dir, ["domain", "add", "example.com"]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("user add asks twice, echoes nothing, and stores the password", async () => {
    const r = await inPty(dir, ["user", "add", "tty@example.com"], [
      { expect: "New password: ", send: "s3cret-pässword\r" },
      { expect: "Retype new password: ", send: "s3cret-pässword\r" },
    ]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /account tty@example\.com added/);
    assert.ok(!r.output.includes("s3cret"), `echoed: ${JSON.stringify(r.output)}`);
    assert.equal(await verifyPassword("s3cret-pässword", (await hashOf(dir, "tty@example.com"))!), true);
  });

  test("backspace edits what was typed", async () => {
    const r = await inPty(dir, ["user", "passwd", "tty@example.com"], [
      { expect: "New password: ", send: "abcX\x7fd\r" },
      { expect: "Retype new password: ", send: "abcd\r" },
    ]);
    assert.equal(r.code, 0, r.output);
    assert.equal(await verifyPassword("abcd", (await hashOf(dir, "tty@example.com"))!), true);
  });

  test("different passwords, an empty one, or Ctrl-C change nothing", async () => {
    const before = await hashOf(dir, "tty@example.com");
    const mismatch = await inPty(dir, ["user", "passwd", "tty@example.com"], [
      { expect: "New password: ", send: "one\r" },
      { expect: "Retype new password: ", send: "two\r" },
    ]);
    assert.notEqual(mismatch.code, 0);
    assert.match(mismatch.output, /passwords do not match/);
    const empty = await inPty(dir, ["user", "passwd", "tty@example.com"], [{ expect: "New password: ", send: "\r" }]);
    assert.notEqual(empty.code, 0);
    assert.match(empty.output, /empty password/);
    const interrupted = await inPty(dir, ["user", "add", "other@example.com"], [{ expect: "New password: ", send: "abc\x03" }]);
    assert.notEqual(interrupted.code, 0);
    assert.match(interrupted.output, /interrupted/);
    assert.equal(await hashOf(dir, "tty@example.com"), before);
    assert.equal(await hashOf(dir, "other@example.com"), undefined);
  });
});
