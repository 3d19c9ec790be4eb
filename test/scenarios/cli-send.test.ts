/**
 * `petrel send` against a running server: the real submission listener with AUTH PLAIN and LOGIN
 * after STARTTLS, implicit TLS, attachments that arrive intact, the transcript (timed lines,
 * masked secrets), and failures that exit non-zero with the reply (certificate, password,
 * relay refused, nothing listening).
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import { startServer, type TestServer } from "../helpers/server.js";
import { petrel } from "../helpers/cli.js";
import { hashPassword } from "../../src/auth/password.js";
import { parseMessage, walkParts } from "../../src/mime/index.js";

const USER = "alice@petrel.test";
const PASSWORD = "correct horse battery";
const FAST = { ln: 10, r: 8, p: 1 };

const queuedId = (out: string) => /<- 250 2\.0\.0 Ok: queued as (\S+)/.exec(out)?.[1];

describe("petrel send", () => {
  let server: TestServer;
  let files: string;
  const sub = () => `127.0.0.1:${server.port("submission")}`;
  const send = (args: string[], input = "") => petrel(server.dataDir, ["send", "--timeout", "10s", ...args], input);
  const stored = async (out: string) => {
    const id = queuedId(out);
    assert.ok(id, `no queue id in:\n${out}`);
    const body = await server.petrel.queue.body(id);
    assert.ok(body);
    return { id, body, entry: (await server.petrel.store.queue.get(id))! };
  };

  before(async () => {
    server = await startServer({ overrides: { auth: { failureDelay: "10ms", lockout: { maxFailures: 1000 } } } });
    await server.petrel.store.directory.addAccount({ address: USER, passwordHash: await hashPassword(PASSWORD, FAST) });
    files = mkdtempSync(join(tmpdir(), "petrel-send-"));
  });
  after(async () => {
    await server.stop();
    rmSync(files, { recursive: true, force: true });
  });

  test("STARTTLS + AUTH PLAIN on submission: timed transcript, secret masked, message queued", async () => {
    const r = await send(["--server", sub(), "--starttls", "--insecure", "--auth", `${USER}:${PASSWORD}`, "--from", USER, "--to", "bob@petrel.test", "--to", "carol@petrel.test", "--subject", "Hello there", "--header", "X-Test: 42", "--body", "line one\nline two\n"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.split("\n");
    assert.match(lines.find((l) => l.includes("<- 220 "))!, /^ +\d+\.\d{3}s <- 220 /);
    assert.ok(lines.some((l) => /^ +\d+\.\d{3}s -> EHLO /.test(l)));
    assert.ok(lines.some((l) => /-> STARTTLS$/.test(l)));
    assert.ok(lines.some((l) => /== TLS started: TLSv1\.[23], .*certificate NOT verified/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /-> AUTH PLAIN \*{8}$/.test(l)), r.stdout);
    assert.ok(!r.stdout.includes(Buffer.from(`\0${USER}\0${PASSWORD}`).toString("base64")), "the AUTH secret is masked");
    assert.match(r.stdout, /<- 235 2\.7\.0 /);
    assert.match(r.stdout, /-> RCPT TO:<carol@petrel\.test>/);
    assert.match(r.stdout, /-> Subject: Hello there/);
    assert.match(r.stdout, /-> QUIT/);
    const m = await stored(r.stdout);
    assert.deepEqual(m.entry.recipients.map((x) => x.address), ["bob@petrel.test", "carol@petrel.test"]);
    assert.equal(m.entry.sender, USER);
    const text = m.body.toString();
    assert.match(text, /\r\nX-Test: 42\r\n/);
    assert.match(text, /\r\n\r\nline one\r\nline two\r\n$/);
  });

  test("AUTH LOGIN with the password on stdin: both secrets masked", async () => {
    const r = await send(["--server", sub(), "--starttls", "--insecure", "--auth", USER, "--auth-password-stdin", "--auth-method", "LOGIN", "--from", USER, "--to", "bob@petrel.test"], PASSWORD + "\n");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /-> AUTH LOGIN\n/);
    assert.equal((r.stdout.match(/-> \*{8}\n/g) ?? []).length, 2, r.stdout);
    assert.ok(!r.stdout.includes(Buffer.from(PASSWORD).toString("base64")));
    assert.ok(!r.stdout.includes(Buffer.from(USER).toString("base64")));
    assert.ok(queuedId(r.stdout));
  });

  test("implicit TLS on submissions with attachments: received intact, types from the extension", async () => {
    const pdf = Buffer.concat([Buffer.from("%PDF-1.4\n"), Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37) & 0xff))]);
    const png = Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 101) & 0xff));
    writeFileSync(join(files, "report.pdf"), pdf);
    writeFileSync(join(files, "pixel.png"), png);
    writeFileSync(join(files, "body.txt"), "Grüße aus Petrel\n");
    const r = await send(["--server", `127.0.0.1:${server.port("submissions")}`, "--tls", "--insecure", "--auth", `${USER}:${PASSWORD}`, "--from", USER, "--to", "bob@petrel.test", "--body", `@${join(files, "body.txt")}`, "--attach", join(files, "report.pdf"), "--attach", join(files, "pixel.png")]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.stdout.split("\n").findIndex((l) => l.includes("== TLS started")) < r.stdout.split("\n").findIndex((l) => l.includes("<- 220 ")), "TLS from the first byte");
    assert.match(r.stdout, /\[\.\.\. \d+ more line\(s\), \d+ octets\]/, "long data is summarised in the transcript");
    const { body } = await stored(r.stdout);
    const parsed = parseMessage(body);
    const parts: { type: string; filename?: string; data: Buffer }[] = [];
    for (const p of walkParts(parsed.root)) {
      if (p.children.length) continue;
      const raw = body.subarray(p.bodyStart, p.bodyEnd);
      parts.push({ type: `${p.type}/${p.subtype}`, filename: p.disposition?.params.filename ?? p.params.name, data: p.encoding === "BASE64" ? Buffer.from(raw.toString(), "base64") : raw });
    }
    assert.equal(`${parsed.root.type}/${parsed.root.subtype}`.toLowerCase(), "multipart/mixed");
    assert.deepEqual(parts.map((p) => p.type), ["text/plain", "application/pdf", "image/png"]);
    assert.deepEqual(parts.slice(1).map((p) => p.filename), ["report.pdf", "pixel.png"]);
    assert.ok(parts[1]!.data.equals(pdf), "the PDF arrived intact");
    assert.ok(parts[2]!.data.equals(png), "the PNG arrived intact");
  });

  test("--data sends a file as is (LF converted to CRLF)", async () => {
    writeFileSync(join(files, "raw.eml"), "From: alice@petrel.test\nTo: bob@petrel.test\nSubject: raw\nX-Raw: yes\n\n.dot line\nend\n");
    const r = await send(["--server", sub(), "--starttls", "--insecure", "--auth", `${USER}:${PASSWORD}`, "--from", USER, "--to", "bob@petrel.test", "--data", join(files, "raw.eml")]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const { body } = await stored(r.stdout);
    assert.ok(body.toString().endsWith("From: alice@petrel.test\r\nTo: bob@petrel.test\r\nSubject: raw\r\nX-Raw: yes\r\n\r\n.dot line\r\nend\r\n"), body.toString());
  });

  test("the certificate is verified by default: a self-signed one fails, with a hint", async () => {
    const r = await send(["--server", sub(), "--starttls", "--auth", `${USER}:${PASSWORD}`, "--to", "bob@petrel.test"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /certificate is not valid: .*--insecure/i);
    assert.ok(!/-> AUTH/.test(r.stdout), "no credentials to an unverified server");
  });

  test("a wrong password: exit 1 with the 535 reply", async () => {
    const r = await send(["--server", sub(), "--starttls", "--insecure", "--auth", `${USER}:wrong`, "--to", "bob@petrel.test"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /535 5\.7\.8/);
    assert.match(r.stdout, /<- 535 5\.7\.8/);
  });

  test("a refused recipient (relay without AUTH on port 25): exit 1 with the 5xx reply", async () => {
    const r = await send(["--server", `127.0.0.1:${server.port("smtp")}`, "--from", "x@remote.test", "--to", "someone@elsewhere.test"]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /<someone@elsewhere\.test>: 55\d 5\.7\.1/);
  });

  test("plain SMTP on port 25 to a local address works without TLS or AUTH", async () => {
    const r = await send(["--server", `127.0.0.1:${server.port("smtp")}`, "--from", "x@remote.test", "--to", "bob@petrel.test", "--helo", "client.test"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /-> EHLO client\.test/);
    assert.ok(!/-> STARTTLS/.test(r.stdout));
  });

  test("nothing listening: exit 1 with the connection error", async () => {
    const srv = createServer();
    await new Promise<void>((res) => srv.listen(0, "127.0.0.1", res));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((res) => srv.close(() => res()));
    const r = await send(["--server", `127.0.0.1:${port}`, "--to", "bob@petrel.test"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ECONNREFUSED/);
  });

  test("usage errors: no --to, --tls with --starttls", async () => {
    assert.notEqual((await send(["--server", sub()])).code, 0);
    const r = await send(["--server", sub(), "--to", "a@petrel.test", "--tls", "--starttls"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exclude each other/);
  });
});
