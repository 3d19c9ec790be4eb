/**
 * Petrel's POP3 listeners driven by fetchmail (Debian package): mail delivered through SMTP is
 * fetched into an MDA command, kept (--keep) over STLS, then fetched and deleted over pop3s.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { startServer, tempDir, type TestServer } from "../helpers/server.js";
import { hashPassword } from "../../src/auth/password.js";
import { deliver, inbox } from "../helpers/pop3.js";

const run = promisify(execFile);
const PASSWORD = "fetch me if you can";

function hasFetchmail(): boolean {
  try {
    execFileSync("fetchmail", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("POP3 with fetchmail", { skip: hasFetchmail() ? false : "fetchmail is not installed (apt-get install fetchmail; .ci/run does)" }, () => {
  let server: TestServer;
  let home: string;
  before(async () => {
    server = await startServer({ deliver: true, catchAll: false });
    await server.petrel.store.directory.addAccount({ address: "fetch@petrel.test", passwordHash: await hashPassword(PASSWORD) });
    await deliver(server, "fetch@petrel.test", "From: a@client.test\r\nSubject: fetch one\r\n\r\nfirst body\r\n.dotted line\r\n", 1);
    await deliver(server, "fetch@petrel.test", "From: a@client.test\r\nSubject: fetch two\r\n\r\nsecond body\r\n", 2);
    home = tempDir("petrel-fetchmail-");
  });
  after(async () => server.stop());

  async function fetchmail(name: string, port: number, options: string, mbox: string): Promise<void> {
    const rc = join(home, `${name}.rc`);
    writeFileSync(
      rc,
      `set no syslog\npoll 127.0.0.1 protocol POP3 service ${port} auth password timeout 20\n` +
        `  user "fetch@petrel.test" there with password "${PASSWORD}" is "nobody" here\n` +
        `  options ${options} sslproto TLS1.2+ no sslcertck mda "cat >> ${mbox}"\n`,
    );
    chmodSync(rc, 0o600);
    await run("fetchmail", ["--nodetach", "--fetchmailrc", rc, "--pidfile", join(home, `${name}.pid`), "--idfile", join(home, `${name}.ids`)], { env: { ...process.env, HOME: home, FETCHMAILHOME: home }, timeout: 30_000 });
  }

  test("--keep over STLS fetches everything and leaves it; then pop3s without --keep deletes it", async () => {
    const kept = join(home, "kept.mbox");
    await fetchmail("keep", server.port("pop3"), "keep", kept);
    const text = readFileSync(kept, "latin1");
    assert.match(text, /Subject: fetch one/);
    assert.match(text, /Subject: fetch two/);
    assert.match(text, /\n\.dotted line\r?\n/, "byte-stuffing undone by the client");
    assert.equal((await inbox(server, "fetch@petrel.test")).length, 2, "--keep leaves the mail");

    const fetched = join(home, "fetched.mbox");
    await fetchmail("fetch", server.port("pop3s"), "ssl fetchall", fetched);
    assert.ok(existsSync(fetched));
    const text2 = readFileSync(fetched, "latin1");
    assert.match(text2, /Subject: fetch one/);
    assert.match(text2, /Subject: fetch two/);
    assert.equal((await inbox(server, "fetch@petrel.test")).length, 0, "fetched mail is deleted");
  });
});
