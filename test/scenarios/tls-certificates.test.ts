/**
 * TLS certificates (RFC 8314, RFC 6066 3): SNI picks the certificate per host name, TLS 1.2
 * and 1.3 only, and a certificate replaced on disk is served to new connections while open
 * sessions go on; a broken new file keeps the old certificate and logs an error.
 * Clients: Node tls.connect and openssl s_client.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { once } from "node:events";
import { startServer, type TestServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { waitFor } from "../helpers/wait.js";
import { recordingLogger } from "../helpers/session-harness.js";

/** A self-signed EC certificate for `cn` (with it as DNS SAN), written to dir/name.{crt,key}. */
function makeCert(dir: string, name: string, cn: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`, "-keyout", key, "-out", cert], { stdio: "ignore" });
  return { cert, key };
}

/** Replace a file the way deploy tools do: write aside, then rename over it. */
function replaceFile(path: string, from: string): void {
  const tmp = `${path}.new`;
  writeFileSync(tmp, execFileSync("cat", [from]));
  renameSync(tmp, path);
}

async function handshake(port: number, servername?: string, extra: Record<string, unknown> = {}): Promise<{ cn: string; fingerprint: string; protocol: string; socket: TLSSocket }> {
  const socket = tlsConnect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false, ...extra });
  await once(socket, "secureConnect");
  const peer = socket.getPeerCertificate();
  return { cn: String(peer.subject.CN), fingerprint: peer.fingerprint256, protocol: socket.getProtocol() ?? "", socket };
}

async function peerCn(port: number, servername?: string): Promise<string> {
  const h = await handshake(port, servername);
  h.socket.destroy();
  return h.cn;
}

/** openssl s_client with STARTTLS on the submission port: the subject it was shown. */
function sClientSubject(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = execFile("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-starttls", "smtp", "-servername", servername, "-brief"], { timeout: 15_000 }, (err, stdout, stderr) => {
      const m = /(?:subject=|Peer certificate:).*?CN\s*=\s*([^\s,/]+)/i.exec(stdout + stderr);
      if (m) resolve(m[1]!);
      else reject(err ?? new Error(`no subject in: ${stdout}${stderr}`));
    });
    p.stdin!.end("QUIT\r\n");
  });
}

describe("TLS: SNI, versions, and certificates reloaded from disk", () => {
  let dir: string;
  let server: TestServer;
  const log = recordingLogger();
  let main: { cert: string; key: string };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "petrel-tls-"));
    main = makeCert(dir, "main", "default.test");
    const a = makeCert(dir, "a", "a.test");
    const w = makeCert(dir, "w", "wild.test");
    server = await startServer({
      log,
      overrides: {
        tls: { cert: main.cert, key: main.key, watchInterval: "100ms", certificates: [{ hostnames: ["a.test", "A2.test"], ...a }, { hostnames: ["*.wild.test"], ...w }] },
      },
    });
  });

  after(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("implicit TLS: SNI picks the certificate by host name; no or an unknown name gets the default", async () => {
    const port = server.port("submissions");
    assert.equal(await peerCn(port, "a.test"), "a.test");
    assert.equal(await peerCn(port, "a2.TEST"), "a.test");
    assert.equal(await peerCn(port, "mail.wild.test"), "wild.test");
    assert.equal(await peerCn(port, "deep.mail.wild.test"), "default.test", "a wildcard covers one label only");
    assert.equal(await peerCn(port, "other.test"), "default.test");
    assert.equal(await peerCn(port), "default.test");
  });

  test("STARTTLS: openssl s_client -servername gets the matching certificate", async () => {
    assert.equal(await sClientSubject(server.port("submission"), "a.test"), "a.test");
    assert.equal(await sClientSubject(server.port("smtp"), "x.wild.test"), "wild.test");
    assert.equal(await sClientSubject(server.port("submission"), "nothing.test"), "default.test");
  });

  test("TLS 1.3 by default, 1.2 accepted, 1.1 refused", async () => {
    const port = server.port("submissions");
    const v13 = await handshake(port, "a.test");
    assert.equal(v13.protocol, "TLSv1.3");
    v13.socket.destroy();
    const v12 = await handshake(port, "a.test", { maxVersion: "TLSv1.2" });
    assert.equal(v12.protocol, "TLSv1.2");
    v12.socket.destroy();
    const old = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false, minVersion: "TLSv1", maxVersion: "TLSv1.1", ciphers: "DEFAULT:@SECLEVEL=0" });
    const outcome = await new Promise<string>((resolve) => {
      old.once("secureConnect", () => resolve("connected"));
      old.once("error", () => resolve("refused"));
    });
    old.destroy();
    assert.equal(outcome, "refused");
  });

  test("a certificate replaced on disk is served to new connections; an open session goes on", async () => {
    const port = server.port("submissions");
    const open = await SmtpClient.open(port, { tls: true });
    await open.expect("EHLO client.test", 250);
    const before = await handshake(port);
    before.socket.destroy();
    const next = makeCert(dir, "main-v2", "default.test");
    replaceFile(main.key, next.key);
    replaceFile(main.cert, next.cert);
    const fingerprint = await waitFor("the new certificate", async () => {
      const h = await handshake(port);
      h.socket.destroy();
      return h.fingerprint !== before.fingerprint && h.fingerprint;
    });
    // STARTTLS listeners take it too.
    const plain = await SmtpClient.open(server.port("submission"));
    await plain.expect("EHLO client.test", 250);
    await plain.expect("STARTTLS", 220);
    await plain.startTls();
    assert.equal((plain.socket as TLSSocket).getPeerCertificate().fingerprint256, fingerprint);
    await plain.quit();
    // The session opened before the change still works on its old TLS connection.
    await open.expect("NOOP", 250);
    await open.quit();
  });

  test("a broken new file keeps the old certificate and logs an error; a fixed one is taken", async () => {
    const port = server.port("submissions");
    const current = await handshake(port, "a.test");
    current.socket.destroy();
    const errorsBefore = log.entries.filter((e) => e.fields.event === "tls-reload-failed").length;
    writeFileSync(join(dir, "a.crt"), "-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n");
    await waitFor("the reload error", async () => log.entries.filter((e) => e.fields.event === "tls-reload-failed").length > errorsBefore);
    const still = await handshake(port, "a.test");
    still.socket.destroy();
    assert.equal(still.fingerprint, current.fingerprint);
    // Other certificates are unaffected.
    assert.equal(await peerCn(port), "default.test");
    const fixed = makeCert(dir, "a-v2", "a.test");
    replaceFile(join(dir, "a.key"), fixed.key);
    replaceFile(join(dir, "a.crt"), fixed.cert);
    await waitFor("the fixed certificate", async () => {
      const h = await handshake(port, "a.test");
      h.socket.destroy();
      return h.fingerprint !== current.fingerprint;
    });
  });

  test("SIGHUP reload (reloadTls) reports a broken file and keeps serving", async () => {
    const port = server.port("submissions");
    const good = await handshake(port);
    good.socket.destroy();
    writeFileSync(main.key, "garbage");
    assert.throws(() => server.petrel.reloadTls(), /cannot load certificate/);
    const after = await handshake(port);
    after.socket.destroy();
    assert.equal(after.fingerprint, good.fingerprint);
  });

  test("a configured certificate that cannot be read stops the start with a clear error", async () => {
    await assert.rejects(startServer({ overrides: { tls: { certificates: [{ hostnames: ["b.test"], cert: join(dir, "missing.crt"), key: join(dir, "missing.key") }] } } }), /cannot load certificate .*missing\.crt/);
  });
});
