/** `petrel init` as a real process: a production config, the data directory, the domain, its DKIM key, the DNS records. */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { tempDir } from "../helpers/server.js";
import { json, ok, petrel } from "../helpers/cli.js";
import { loadConfig } from "../../src/config/load.js";

describe("petrel init", () => {
  let root: string;
  let data: string;
  let cfg: string;
  const init = (...extra: string[]) => petrel(data, ["init", "--domain", "example.test", "--hostname", "mail.example.test", "--config", cfg, ...extra]);

  before(() => {
    root = tempDir("petrel-cli-init-");
    data = join(root, "var/lib/petrel");
    cfg = join(root, "etc/petrel/petrel.yaml");
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test("writes a commented production config that the loader accepts, and creates the data directory", async () => {
    const r = await init("--ip", "192.0.2.7");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync(data).isDirectory());
    const text = readFileSync(cfg, "utf8");
    assert.match(text, /^# Petrel configuration, written by petrel init/);
    assert.match(text, /^hostname: mail\.example\.test$/m);
    assert.match(text, /# cert: "\/etc\/letsencrypt\/live\/mail\.example\.test\/fullchain\.pem"/, "the Let's Encrypt paths, commented while the files do not exist");
    assert.equal(statSync(cfg).mode & 0o777, 0o640);
    const raw = parse(text) as { listen: Record<string, string> };
    assert.deepEqual(raw.listen, { smtp: "0.0.0.0:25", submission: "0.0.0.0:587", submissions: "0.0.0.0:465", imap: "0.0.0.0:143", imaps: "0.0.0.0:993", pop3: "0.0.0.0:110", pop3s: "0.0.0.0:995", http: "127.0.0.1:8025" });
    const { config } = loadConfig({ configFile: cfg, env: {} });
    assert.equal(config.dataDir, data);
    assert.equal(config.hostname, "mail.example.test");
    assert.equal(config.tls.cert, null);

    assert.match(r.stdout, new RegExp(`^wrote ${cfg.replace(/[.]/g, "\\.")}$`, "m"));
    assert.match(r.stdout, /^domain example\.test added$/m);
    assert.match(r.stdout, /^DKIM rsa key petrel\d{6} created$/m);
    assert.match(r.stdout, /^example\.test\. 3600 IN MX 10 mail\.example\.test\.$/m);
    assert.match(r.stdout, /^mail\.example\.test\. 3600 IN A 192\.0\.2\.7$/m);
    assert.match(r.stdout, /^petrel\d{6}\._domainkey\.example\.test\. 3600 IN TXT "v=DKIM1; k=rsa; p=/m);
    assert.match(r.stdout, /^_dmarc\.example\.test\. 3600 IN TXT "v=DMARC1; p=quarantine/m);
    assert.match(r.stdout, /^7\.2\.0\.192\.in-addr\.arpa\. 3600 IN PTR mail\.example\.test\.$/m);
    assert.match(r.stdout, /petrel doctor --config .* --ip 192\.0\.2\.7/);
    assert.doesNotMatch(r.stdout, /PRIVATE KEY/);

    const domains = await json<{ name: string }[]>(data, ["domain", "list", "--config", cfg]);
    assert.deepEqual(domains.map((d) => d.name), ["example.test"]);
    const keys = await json<{ state: string; algorithm: string }[]>(data, ["dkim", "show", "example.test", "--config", cfg]);
    assert.deepEqual(keys.map((k) => [k.algorithm, k.state]), [["rsa", "active"]]);
  });

  test("refuses to overwrite the config without --force; with --force keeps the data, the domain and its key", async () => {
    const before = readFileSync(cfg, "utf8");
    const keys = await json<{ selector: string }[]>(data, ["dkim", "show", "--config", cfg]);
    const r = await init();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /petrel\.yaml already exists; use --force to overwrite it/);
    assert.equal(readFileSync(cfg, "utf8"), before);

    const f = await init("--force");
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stdout, /^domain example\.test exists$/m);
    assert.match(f.stdout, new RegExp(`^DKIM key ${keys[0]!.selector} exists$`, "m"));
    assert.deepEqual(await json(data, ["dkim", "show", "--config", cfg]).then((k) => (k as { selector: string }[]).map((x) => x.selector)), keys.map((k) => k.selector));
  });

  test("refuses names that are not fully qualified and a bad --ip; needs --domain and --hostname", async () => {
    const other = join(root, "other.yaml");
    assert.match((await petrel(data, ["init", "--domain", "example.test", "--hostname", "mail", "--config", other])).stderr, /hostname mail is not a fully qualified domain name/);
    assert.match((await petrel(data, ["init", "--domain", "bad_domain!", "--hostname", "mail.example.test", "--config", other])).stderr, /domain bad_domain! is not a fully qualified/);
    assert.match((await petrel(data, ["init", "--domain", "example.test", "--hostname", "mail.example.test", "--ip", "nope", "--config", other])).stderr, /--ip nope is not an IPv4 address/);
    assert.match((await petrel(data, ["init", "--hostname", "mail.example.test", "--config", other])).stderr, /required option '--domain <domain>'/);
    assert.ok(!existsSync(other), "nothing written");
    await ok(data, ["domain", "list", "--config", cfg]);
  });
});
