/**
 * POP3 scenario helpers: mail delivered through SMTP (swaks) and waited for in the store, and
 * Python poplib scripts that get their input as JSON on stdin and print JSON.
 */
import assert from "node:assert/strict";
import { runPython } from "./python.js";
import { waitFor } from "./wait.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { TestServer } from "./server.js";
import type { MailMessage } from "../../src/store/types.js";

const run = promisify(execFile);


export async function inbox(server: TestServer, address: string): Promise<MailMessage[]> {
  const account = (await server.petrel.store.directory.getAccount(address))!;
  const box = await server.petrel.store.mailstore.getMailbox(account.id, "INBOX");
  return box ? server.petrel.store.mailstore.listMessages(box.id) : [];
}

export async function uidValidity(server: TestServer, address: string): Promise<number> {
  const account = (await server.petrel.store.directory.getAccount(address))!;
  return (await server.petrel.store.mailstore.getMailbox(account.id, "INBOX"))!.uidValidity;
}

/** Send one message through SMTP with swaks and wait until the INBOX has `total` messages. */
export async function deliver(server: TestServer, to: string, body: string, total: number): Promise<MailMessage[]> {
  await run("swaks", ["--server", `127.0.0.1:${server.port("smtp")}`, "--from", "sender@client.test", "--to", to, "--data", body, "--hide-all"]);
  return waitFor(`${total} message(s) for ${to}`, async () => {
    const list = await inbox(server, to);
    return list.length >= total ? list : null;
  });
}

export async function fullMessage(server: TestServer, m: MailMessage): Promise<Buffer> {
  const blob = await server.petrel.store.mailstore.blob(m.blobId);
  assert.ok(blob);
  return Buffer.concat([m.prefix, blob]);
}

/** Shared by every script: input, an unverified TLS context, and helpers. */
const PRELUDE = `
import base64, json, poplib, socket, ssl, sys
inp = json.loads(sys.stdin.read())
POP3 = inp["ports"]["pop3"]
POP3S = inp["ports"]["pop3s"]
ctx = ssl._create_unverified_context()
out = {}

def s(b):
    return b.decode("latin1") if isinstance(b, bytes) else b

def err(f, *a):
    """The reply of a command expected to fail, as text ("OK: ..." when it did not fail)."""
    try:
        return "OK: " + s(f(*a))
    except poplib.error_proto as e:
        return s(e.args[0])

def plain():
    return poplib.POP3("127.0.0.1", POP3, timeout=15)

def tls():
    p = poplib.POP3("127.0.0.1", POP3, timeout=15)
    p.stls(ctx)
    return p

def pop3s():
    return poplib.POP3_SSL("127.0.0.1", POP3S, context=ctx, timeout=15)

def login(p, user, pw):
    p.user(user)
    return s(p.pass_(pw))

def joined(lines):
    return base64.b64encode(b"".join(l + b"\\r\\n" for l in lines)).decode()
`;

export function python(script: string, input: object): Promise<Record<string, any>> {
  return runPython(PRELUDE, script, input);
}

export { waitFor };
