/**
 * SIGHUP re-reads the config of a running `petrel serve`: a changed limit applies to new SMTP
 * sessions while a session opened before keeps its own; keys that need a restart are logged as
 * such; a config that does not load is logged and the running one kept.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { startChild, type ChildServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { waitFor } from "../helpers/wait.js";

async function session(port: number): Promise<SmtpClient> {
  const c = await SmtpClient.connect(port);
  assert.equal((await c.reply()).code, 220);
  await c.ehlo();
  await c.expect("MAIL FROM:<sender@remote.test>", 250);
  return c;
}

describe("config reload on SIGHUP", () => {
  let child: ChildServer;
  let original: Record<string, unknown>;
  before(async () => {
    child = await startChild({ domains: ["petrel.test"] });
    original = parse(readFileSync(child.configFile, "utf8")) as Record<string, unknown>;
  });
  after(async () => {
    child.proc.kill("SIGTERM");
    await child.exited;
    rmSync(child.dataDir, { recursive: true, force: true });
  });

  const logged = (event: string, from: number) => waitFor(`log event ${event}`, async () => child.logs.slice(from).find((l) => l.event === event));
  const hup = (config: string | object) => {
    writeFileSync(child.configFile, typeof config === "string" ? config : stringify(config));
    const from = child.logs.length;
    child.proc.kill("SIGHUP");
    return from;
  };

  test("a lower maxRecipients applies to a new session; the session opened before keeps the old one", async () => {
    const old = await session(child.ports.smtp!);
    const from = hup({ ...original, smtp: { maxRecipients: 2 } });
    const reload = await logged("config-reload", from);
    assert.deepEqual(reload.applied, ["smtp.maxRecipients"]);
    assert.deepEqual(reload.needsRestart, []);

    const fresh = await session(child.ports.smtp!);
    await fresh.expect("RCPT TO:<a@petrel.test>", 250);
    await fresh.expect("RCPT TO:<b@petrel.test>", 250);
    await fresh.expect("RCPT TO:<c@petrel.test>", 452, "4.5.3");
    await fresh.expect("QUIT", 221);

    for (const r of ["a", "b", "c"]) await old.expect(`RCPT TO:<${r}@petrel.test>`, 250);
    await old.expect("DATA", 354);
    await old.expect("Subject: old session\r\n\r\nstill here\r\n.", 250);
    await old.expect("QUIT", 221);
  });

  test("a key that needs a restart is logged as such and keeps its running value", async () => {
    const from = hup({ ...original, smtp: { maxRecipients: 2 }, hostname: "other.petrel.test" });
    const warn = await logged("config-needs-restart", from);
    assert.deepEqual(warn.keys, ["hostname"]);
    const c = await SmtpClient.connect(child.ports.smtp!);
    assert.match((await c.reply()).lines[0]!, /^mx\.petrel\.test /);
    await c.expect("QUIT", 221);
  });

  test("a broken config is logged and the running one kept", async () => {
    const from = hup("smtp:\n  maxRecipients: lots\n  noSuchKey: 1\n");
    const failed = await logged("config-reload-failed", from);
    assert.match(String(failed.msg), /keeping the running config.*smtp\.maxRecipients/);
    const c = await session(child.ports.smtp!);
    await c.expect("RCPT TO:<a@petrel.test>", 250);
    await c.expect("RCPT TO:<b@petrel.test>", 250);
    await c.expect("RCPT TO:<c@petrel.test>", 452, "4.5.3");
    await c.expect("QUIT", 221);
    assert.equal(child.proc.exitCode, null, "still running");
  });
});
