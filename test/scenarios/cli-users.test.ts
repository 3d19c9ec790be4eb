/**
 * `petrel user ...` run as a real process against a temporary data directory: accounts with
 * passwords from stdin, list/show in text and JSON, passwd, disable/enable, quota, remove,
 * UTF-8 local parts and IDN domains, and the errors a user will meet.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { tempDir } from "../helpers/server.js";
import { json, ok, petrel, refused } from "../helpers/cli.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { verifyPassword } from "../../src/auth/password.js";

interface UserJson {
  address: string;
  name: string | null;
  quota: number | null;
  usedBytes: number;
  enabled: boolean;
  createdAt: string;
}
interface ShowJson extends UserJson {
  mailboxes: { name: string; specialUse: string | null; messages: number; unseen: number; size: number }[];
}

/** The stored hash of an account, read through the store as the server will. */
async function storedHash(dir: string, address: string): Promise<string> {
  const store = openSqliteStore(dir);
  try {
    const c = await store.directory.credentials(address);
    assert.ok(c, `no credentials for ${address}`);
    return c.passwordHash;
  } finally {
    await store.close();
  }
}

describe("petrel user", () => {
  let dir: string;
  before(async () => {
    dir = tempDir("petrel-cli-users-");
    await ok(dir, ["domain", "add", "example.com"]);
    await ok(dir, ["domain", "add", "bücher.example"]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("user add with --password-stdin, --name and --quota; the password is stored as a scrypt hash", async () => {
    const r = await petrel(dir, ["user", "add", "alice@example.com", "--password-stdin", "--name", "Alice Liddell", "--quota", "1GiB"], "wonderland-1\n");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /account alice@example\.com added/);
    const hash = await storedHash(dir, "alice@example.com");
    assert.match(hash, /^\$scrypt\$ln=15,r=8,p=1\$/);
    assert.equal(await verifyPassword("wonderland-1", hash), true);
    assert.equal(await verifyPassword("wonderland-1\n", hash), false, "the line ending is not part of the password");
    for (const out of [r.stdout, r.stderr]) {
      assert.ok(!out.includes("wonderland"), "the password is never printed");
      assert.ok(!out.includes("$scrypt$"), "the hash is never printed");
    }
  });

  test("without --password-stdin, a non-terminal stdin gives the first line", async () => {
    await ok(dir, ["user", "add", "bob@example.com"], "builder\r\nignored second line\n");
    assert.equal(await verifyPassword("builder", await storedHash(dir, "bob@example.com")), true);
  });

  test("user list prints one line per account; --json prints an array", async () => {
    const text = await ok(dir, ["user", "list"]);
    assert.match(text, /^alice@example\.com\s+enabled\s+0 B \/ 1 GiB\s+Alice Liddell$/m);
    assert.match(text, /^bob@example\.com\s+enabled\s+0 B \/ unlimited$/m);
    const list = await json<UserJson[]>(dir, ["user", "list"]);
    assert.ok(Array.isArray(list));
    const alice = list.find((u) => u.address === "alice@example.com");
    assert.deepEqual({ ...alice, createdAt: undefined }, { address: "alice@example.com", name: "Alice Liddell", quota: 1024 ** 3, usedBytes: 0, enabled: true, createdAt: undefined });
    assert.ok(!Number.isNaN(Date.parse(alice!.createdAt)));
    assert.ok(!JSON.stringify(list).includes("scrypt"), "no hash in the JSON");
  });

  test("user list DOMAIN lists that domain only, and an unknown domain is an error", async () => {
    assert.deepEqual(await json(dir, ["user", "list", "bücher.example"]), []);
    assert.equal((await json<UserJson[]>(dir, ["user", "list", "EXAMPLE.COM"])).length, 2);
    assert.match(await refused(dir, ["user", "list", "nowhere.example"]), /nowhere\.example is not a local domain/);
  });

  test("user show: the account and its mailboxes with message counts, in text and JSON", async () => {
    const show = await json<ShowJson>(dir, ["user", "show", "Alice@Example.COM"]);
    assert.equal(show.address, "alice@example.com");
    assert.equal(show.name, "Alice Liddell");
    assert.equal(show.quota, 1024 ** 3);
    assert.equal(show.usedBytes, 0);
    assert.equal(show.enabled, true);
    assert.deepEqual(show.mailboxes.map((m) => [m.name, m.messages, m.unseen]), [["INBOX", 0, 0]]);
    const text = await ok(dir, ["user", "show", "alice@example.com"]);
    assert.match(text, /^address:\s+alice@example\.com$/m);
    assert.match(text, /^quota:\s+1 GiB \(1073741824 bytes\)$/m);
    assert.match(text, /^\s+INBOX: 0 message\(s\), 0 unseen/m);
    assert.match(await refused(dir, ["user", "show", "nobody@example.com"]), /no account nobody@example\.com/);
  });

  test("user passwd replaces the hash", async () => {
    const before = await storedHash(dir, "bob@example.com");
    const r = await petrel(dir, ["user", "passwd", "BOB@example.com", "--password-stdin"], "new-secret\n");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes("new-secret") && !r.stderr.includes("new-secret"));
    const after = await storedHash(dir, "bob@example.com");
    assert.notEqual(after, before);
    assert.equal(await verifyPassword("new-secret", after), true);
    assert.equal(await verifyPassword("builder", after), false);
    assert.match(await refused(dir, ["user", "passwd", "nobody@example.com", "--password-stdin"], "x\n"), /no account nobody@example\.com/);
  });

  test("an empty password is refused, and nothing changes", async () => {
    assert.match(await refused(dir, ["user", "add", "carol@example.com", "--password-stdin"], "\n"), /empty password/);
    assert.match(await refused(dir, ["user", "add", "carol@example.com", "--password-stdin"], ""), /empty password/);
    assert.match(await refused(dir, ["user", "add", "carol@example.com"], ""), /empty password/);
    assert.match(await refused(dir, ["user", "show", "carol@example.com"]), /no account/);
    const before = await storedHash(dir, "bob@example.com");
    assert.match(await refused(dir, ["user", "passwd", "bob@example.com", "--password-stdin"], "\r\n"), /empty password/);
    assert.equal(await storedHash(dir, "bob@example.com"), before);
  });

  test("user disable and enable", async () => {
    assert.match(await ok(dir, ["user", "disable", "bob@example.com"]), /account bob@example\.com disabled/);
    assert.equal((await json<ShowJson>(dir, ["user", "show", "bob@example.com"])).enabled, false);
    assert.match(await ok(dir, ["user", "list"]), /^bob@example\.com\s+disabled/m);
    assert.match(await ok(dir, ["user", "enable", "bob@example.com"]), /account bob@example\.com enabled/);
    assert.equal((await json<ShowJson>(dir, ["user", "show", "bob@example.com"])).enabled, true);
    assert.match(await refused(dir, ["user", "disable", "nobody@example.com"]), /no account nobody@example\.com/);
  });

  test("user quota takes sizes like 500MB, 2GiB, plain bytes, or none", async () => {
    const quota = async () => (await json<ShowJson>(dir, ["user", "show", "bob@example.com"])).quota;
    await ok(dir, ["user", "quota", "bob@example.com", "500MB"]);
    assert.equal(await quota(), 500_000_000);
    await ok(dir, ["user", "quota", "bob@example.com", "2GiB"]);
    assert.equal(await quota(), 2 * 1024 ** 3);
    await ok(dir, ["user", "quota", "bob@example.com", "123456"]);
    assert.equal(await quota(), 123456);
    assert.match(await ok(dir, ["user", "quota", "bob@example.com", "none"]), /unlimited/);
    assert.equal(await quota(), null);
  });

  test("a bad quota is refused", async () => {
    const bads = ["lots", "12 parsecs", "1XB", "", "1e9", "1.2.3"];
    const errs = await Promise.all(bads.map((bad) => refused(dir, ["user", "quota", "bob@example.com", bad])));
    errs.forEach((err, i) => assert.match(err, /invalid quota/, bads[i]));
    assert.match(await refused(dir, ["user", "add", "carol@example.com", "--password-stdin", "--quota", "huge"], "pw\n"), /invalid quota "huge"/);
    assert.match(await refused(dir, ["user", "show", "carol@example.com"]), /no account/);
  });

  test("an unknown domain is refused with a hint, before any password is read", async () => {
    const err = await refused(dir, ["user", "add", "dave@nowhere.example", "--password-stdin"], "pw\n");
    assert.match(err, /nowhere\.example is not a local domain/);
    assert.match(err, /petrel domain add nowhere\.example/);
  });

  test("a duplicate account is refused, whatever the case of the address", async () => {
    assert.match(await refused(dir, ["user", "add", "alice@example.com", "--password-stdin"], "pw\n"), /account alice@example\.com already exists/);
    assert.match(await refused(dir, ["user", "add", "ALICE@EXAMPLE.COM", "--password-stdin"], "pw\n"), /already exists/);
    assert.equal(await verifyPassword("wonderland-1", await storedHash(dir, "alice@example.com")), true, "the first password still holds");
  });

  test("invalid addresses are refused with the reason", async () => {
    assert.match(await refused(dir, ["user", "add", "no-at-sign", "--password-stdin"], "pw\n"), /no-at-sign is not a valid address/);
    assert.match(await refused(dir, ["user", "add", "a b@example.com", "--password-stdin"], "pw\n"), /not a valid address/);
    assert.match(await refused(dir, ["user", "add", "x@exa_mple.com", "--password-stdin"], "pw\n"), /invalid domain/);
    assert.match(await refused(dir, ["user", "add", "x@[127.0.0.1]", "--password-stdin"], "pw\n"), /address literal/);
    assert.match(await refused(dir, ["user", "add", '"a b"@example.com', "--password-stdin"], "pw\n"), /quoted local parts/);
  });

  test("IDN domain: the U-label and A-label forms are one domain", async () => {
    await ok(dir, ["user", "add", "info@xn--bcher-kva.example", "--password-stdin"], "pw-1\n");
    const list = await json<UserJson[]>(dir, ["user", "list", "bücher.example"]);
    assert.deepEqual(list.map((u) => u.address), ["info@bücher.example"]);
    assert.deepEqual((await json<UserJson[]>(dir, ["user", "list", "xn--bcher-kva.example"])).map((u) => u.address), ["info@bücher.example"]);
    assert.equal((await json<ShowJson>(dir, ["user", "show", "INFO@Bücher.example"])).address, "info@bücher.example");
    assert.match(await refused(dir, ["user", "add", "info@bücher.example", "--password-stdin"], "pw\n"), /already exists/);
    assert.equal(await verifyPassword("pw-1", await storedHash(dir, "info@xn--bcher-kva.example")), true);
  });

  test("UTF-8 local part, matched case-insensitively and after NFC normalisation", async () => {
    const decomposed = "ju\u0308rgen@example.com"; // u + combining diaeresis
    await ok(dir, ["user", "add", decomposed, "--password-stdin", "--name", "Jürgen"], "passwört\n");
    const show = await json<ShowJson>(dir, ["user", "show", "JÜRGEN@example.com"]);
    assert.equal(show.address, "jürgen@example.com", "stored in NFC");
    assert.equal(show.name, "Jürgen");
    assert.equal(await verifyPassword("passwört", await storedHash(dir, "jürgen@example.com")), true);
    assert.equal(await verifyPassword("passwo\u0308rt", await storedHash(dir, "jürgen@example.com")), true, "password compared in NFC");
    assert.match(await refused(dir, ["user", "add", "jürgen@example.com", "--password-stdin"], "pw\n"), /already exists/);
  });

  test("user remove deletes the account; removing it again is an error", async () => {
    await ok(dir, ["user", "add", "temp@example.com", "--password-stdin"], "pw\n");
    assert.match(await ok(dir, ["user", "remove", "TEMP@example.com"]), /account temp@example\.com removed/);
    assert.match(await refused(dir, ["user", "show", "temp@example.com"]), /no account temp@example\.com/);
    assert.ok(!(await json<UserJson[]>(dir, ["user", "list"])).some((u) => u.address === "temp@example.com"));
    assert.match(await refused(dir, ["user", "remove", "temp@example.com"]), /no account temp@example\.com/);
  });

  test("every user command has --help", async () => {
    const subs = ["add", "list", "show", "passwd", "remove", "disable", "enable", "quota"];
    const results = await Promise.all(subs.map((sub) => petrel(dir, ["user", sub, "--help"])));
    results.forEach((r, i) => {
      assert.equal(r.code, 0, subs[i]);
      assert.match(r.stdout, /--config <file>/, subs[i]);
    });
  });
});
