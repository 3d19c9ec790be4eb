/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) on submission, driven by an independent client: Python's
 * `scramp` computes the client side over a raw smtplib AUTH exchange. Keys come from
 * `petrel user add` / `petrel user passwd` (the real CLI), never from the password at login.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { ok } from "../helpers/cli.js";
import { runPython } from "../helpers/python.js";
import { hashPassword } from "../../src/auth/password.js";

const PRELUDE = `
import base64, json, smtplib, ssl, sys
from scramp import ScramClient
inp = json.loads(sys.stdin.read())
ctx = ssl._create_unverified_context()
out = {}
b64 = lambda s: base64.b64encode(s.encode()).decode()
unb64 = lambda b: base64.b64decode(b).decode()

def scram(user, password, port=None):
    """One SCRAM-SHA-256 login over submissions; returns what happened at each step."""
    s = smtplib.SMTP_SSL("127.0.0.1", port or inp["port"], context=ctx, timeout=15)
    s.ehlo("client.test")
    r = {"mechanisms": s.esmtp_features.get("auth", "").split()}
    c = ScramClient(["SCRAM-SHA-256"], user, password)
    code, msg = s.docmd("AUTH", "SCRAM-SHA-256 " + b64(c.get_client_first()))
    r["first"] = code
    if code != 334:
        r["text"] = msg.decode(); s.close(); return r
    r["server_first"] = unb64(msg)
    c.set_server_first(r["server_first"])
    code, msg = s.docmd(b64(c.get_client_final()))
    r["final"] = code
    r["text"] = msg.decode()
    if code == 334:
        c.set_server_final(unb64(msg))   # raises unless the server proved it knows the keys
        r["server_verified"] = True
        code, msg = s.docmd("")
        r["done"] = code
        r["text"] = msg.decode()
    s.close()
    return r
`;

type Step = { mechanisms: string[]; first: number; server_first?: string; final?: number; server_verified?: boolean; done?: number; text: string };

describe("SCRAM-SHA-256 with Python scramp", () => {
  let server: TestServer;
  const scram = (user: string, password: string) => runPython<{ r: Step }>(PRELUDE, `out["r"] = scram(inp["user"], inp["password"])`, { port: server.port("submissions"), user, password }).then((o) => o.r);

  before(async () => {
    server = await startServer({ overrides: { auth: { failureDelay: "50ms", lockout: { maxFailures: 1000 } } } });
    await ok(server.dataDir, ["user", "add", "carol@petrel.test", "--password-stdin"], "pencil ünïcode\n");
    // Created before SCRAM keys existed: a hash only.
    await server.petrel.store.directory.addAccount({ address: "old@petrel.test", passwordHash: await hashPassword("pencil", { ln: 10, r: 8, p: 1 }) });
  });
  after(async () => server.stop());

  test("the CLI stores SCRAM keys in PostgreSQL's format, not the password", async () => {
    const c = (await server.petrel.store.directory.credentials("carol@petrel.test"))!;
    assert.match(c.scramSha256!, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    assert.ok(!c.scramSha256!.includes("pencil"));
  });

  test("a full exchange: scramp verifies the server signature; 235", async () => {
    const r = await scram("carol@petrel.test", "pencil ünïcode");
    assert.deepEqual(r.mechanisms, ["SCRAM-SHA-256", "PLAIN", "LOGIN"]);
    assert.equal(r.first, 334);
    assert.match(r.server_first!, /^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
    assert.equal(r.final, 334);
    assert.equal(r.server_verified, true);
    assert.equal(r.done, 235, r.text);
  });

  test("a wrong password fails at the proof with 535 5.7.8", async () => {
    const r = await scram("carol@petrel.test", "pencil");
    assert.equal(r.first, 334);
    assert.equal(r.final, 535);
    assert.match(r.text, /^5\.7\.8 /);
  });

  test("an unknown user gets a fake exchange: a stable salt, the same iterations, failure at the proof", async () => {
    const a = await scram("nobody@petrel.test", "pencil");
    const b = await scram("nobody@petrel.test", "other");
    const real = await scram("carol@petrel.test", "wrong");
    const salt = (r: Step) => /,s=([^,]+),/.exec(r.server_first!)![1];
    const iter = (r: Step) => /,i=(\d+)$/.exec(r.server_first!)![1];
    assert.equal(a.first, 334);
    assert.equal(salt(a), salt(b));
    assert.equal(Buffer.from(salt(a)!, "base64").length, Buffer.from(salt(real)!, "base64").length);
    assert.equal(iter(a), iter(real));
    assert.equal(a.final, 535);
    assert.equal(b.final, 535);
  });

  test("an account without SCRAM keys cannot use SCRAM (fake exchange) but can use PLAIN", async () => {
    const r = await scram("old@petrel.test", "pencil");
    assert.equal(r.first, 334);
    assert.equal(r.final, 535);
    const plain = await runPython<{ code: number }>(PRELUDE, `
s = smtplib.SMTP_SSL("127.0.0.1", inp["port"], context=ctx, timeout=15)
s.ehlo("client.test")
out["code"] = s.docmd("AUTH", "PLAIN " + b64("\\0old@petrel.test\\0pencil"))[0]
s.close()
`, { port: server.port("submissions") });
    assert.equal(plain.code, 235);
  });

  test("petrel user passwd replaces the keys: the old password fails, the new one works", async () => {
    await ok(server.dataDir, ["user", "passwd", "carol@petrel.test", "--password-stdin"], "new secret\n");
    assert.equal((await scram("carol@petrel.test", "pencil ünïcode")).final, 535);
    assert.equal((await scram("carol@petrel.test", "new secret")).done, 235);
  });
});
