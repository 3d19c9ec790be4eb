/**
 * Petrel's IMAP driven by Python's imaplib (an IMAP4rev1 client): STARTTLS and LOGINDISABLED,
 * LIST/SELECT/FETCH/SEARCH/STORE/COPY/APPEND/EXPUNGE, and several sessions on one INBOX: an
 * expunge made by one IMAP session, by POP3 (DELE + QUIT) or a new delivery reaches the others,
 * with sequence numbers shifted and UIDs never reused.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { hashPassword } from "../../src/auth/password.js";
import { deliver, inbox } from "../helpers/pop3.js";
import { runPython } from "../helpers/python.js";

const PASSWORD = "imaplib pass";

const PRELUDE = `
import base64, imaplib, json, poplib, re, ssl, sys
inp = json.loads(sys.stdin.read())
ctx = ssl._create_unverified_context()
out = {}

def s(x):
    if isinstance(x, (list, tuple)):
        return [s(i) for i in x]
    return x.decode("latin1") if isinstance(x, bytes) else x

def starttls():
    m = imaplib.IMAP4("127.0.0.1", inp["ports"]["imap"], timeout=15)
    m.starttls(ssl_context=ctx)
    return m

def imaps():
    return imaplib.IMAP4_SSL("127.0.0.1", inp["ports"]["imaps"], ssl_context=ctx, timeout=15)

def login(m, user="alice@petrel.test"):
    return s(m.login(user, inp["password"]))

def fail(f, *a):
    try:
        return "OK: " + json.dumps(s(f(*a)))
    except imaplib.IMAP4.error as e:
        return str(e)
`;

const run = (script: string, input: object) => runPython<Record<string, any>>(PRELUDE, script, input);

describe("IMAP with Python imaplib", () => {
  let server: TestServer;
  let ports: Record<string, number>;

  before(async () => {
    server = await startServer({ deliver: true, catchAll: false });
    const hash = await hashPassword(PASSWORD);
    for (const u of ["alice", "carol"]) await server.petrel.store.directory.addAccount({ address: `${u}@petrel.test`, passwordHash: hash });
    ports = { imap: server.port("imap"), imaps: server.port("imaps"), pop3s: server.port("pop3s") };
    await deliver(server, "alice@petrel.test", "From: One <one@client.test>\r\nTo: alice@petrel.test\r\nSubject: first message\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\nbody of the first\r\n", 1);
    await deliver(server, "alice@petrel.test", "From: two@client.test\r\nTo: alice@petrel.test\r\nSubject: second message\r\n\r\nanother body, with kiwi\r\n", 2);
    await deliver(server, "alice@petrel.test", "From: three@client.test\r\nTo: alice@petrel.test\r\nSubject: third\r\n\r\nthird body\r\n", 3);
  });
  after(async () => server.stop());

  test("LOGINDISABLED before STARTTLS; login after; CAPABILITY lists the extensions", async () => {
    const r = await run(
      `
m = imaplib.IMAP4("127.0.0.1", inp["ports"]["imap"], timeout=15)
out["before"] = list(m.capabilities)
out["login_plain"] = fail(m.login, "alice@petrel.test", inp["password"])
m.starttls(ssl_context=ctx)
out["after"] = list(m.capabilities)
out["login"] = login(m)
out["caps"] = s(m.capability())
m.logout()
`,
      { ports, password: PASSWORD },
    );
    assert.ok(r.before.includes("LOGINDISABLED") && r.before.includes("STARTTLS"), JSON.stringify(r.before));
    assert.ok(!r.login_plain.startsWith("OK"), r.login_plain);
    assert.ok(!r.after.includes("LOGINDISABLED"));
    assert.equal(r.login[0], "OK");
    const caps = String(r.caps[1]);
    for (const c of ["IMAP4rev2", "IMAP4rev1", "IDLE", "UIDPLUS", "MOVE", "CONDSTORE", "QRESYNC", "SPECIAL-USE", "LIST-EXTENDED", "ESEARCH", "LITERAL+", "NAMESPACE", "QUOTA"]) assert.ok(caps.includes(c), `${c} in ${caps}`);
  });

  test("SELECT, FETCH, SEARCH, STORE, COPY, APPEND with APPENDUID, EXPUNGE", async () => {
    const r = await run(
      `
m = imaps()
login(m)
out["list"] = s(m.list()[1])
typ, data = m.select("INBOX")
out["select"] = s(data)
out["untagged"] = {k: s(v) for k, v in m.untagged_responses.items()}
out["fetch"] = s(m.fetch("1:3", "(UID FLAGS RFC822.SIZE ENVELOPE)")[1])
out["header"] = s(m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])")[1])
out["partial"] = s(m.fetch("2", "(BODY.PEEK[TEXT]<0.7>)")[1])
out["search_kiwi"] = s(m.search(None, "BODY", "kiwi")[1])
out["search_or"] = s(m.search(None, "OR", "SUBJECT", "first", "SUBJECT", "third")[1])
out["search_since"] = s(m.search(None, "SENTBEFORE", "1-Jun-2026")[1])
out["uid_search"] = s(m.uid("SEARCH", None, "NOT", "SUBJECT", "second")[1])
out["store"] = s(m.store("1", "+FLAGS", "(\\\\Answered custom)")[1])
out["copy"] = s(m.copy("1:2", "Archive"))
out["append"] = s(m.append("Drafts", "(\\\\Draft)", None, b"From: alice@petrel.test\\r\\nSubject: draft\\r\\n\\r\\nwork in progress\\r\\n"))
out["append_missing"] = fail(m.append, "NoSuchBox", None, None, b"Subject: x\\r\\n\\r\\ny\\r\\n")
out["store_del"] = s(m.store("2", "+FLAGS.SILENT", "(\\\\Deleted)")[1])
out["expunge"] = s(m.expunge()[1])
out["after"] = s(m.search(None, "ALL")[1])
out["uids"] = s(m.fetch("1:*", "(UID)")[1])
out["bad"] = fail(m.fetch, "1:x", "(FLAGS)")
out["status"] = s(m.status("Archive", "(MESSAGES UIDNEXT UIDVALIDITY)")[1])
m.logout()
`,
      { ports, password: PASSWORD },
    );
    assert.ok(r.list.some((l: string) => /\\Sent/.test(l) && /"Sent"|Sent$/.test(l)), JSON.stringify(r.list));
    assert.deepEqual(r.select, ["3"]);
    assert.ok(r.untagged.UIDVALIDITY && r.untagged.UIDNEXT[0] === "4", JSON.stringify(r.untagged));
    // An IMAP4rev1 client: the first session to see new messages gets them as \Recent.
    assert.match(r.fetch[0], /UID 1 FLAGS \(\\Recent\) RFC822\.SIZE \d+ ENVELOPE \("Mon, 02 Mar 2026 10:00:00 \+0000" "first message" \(\("One" NIL "one" "client\.test"\)\)/);
    assert.ok(r.header[0][1].includes("Subject: first message"), JSON.stringify(r.header));
    assert.equal(r.partial[0][1], "another");
    assert.deepEqual(r.search_kiwi, ["2"]);
    assert.deepEqual(r.search_or, ["1 3"]);
    assert.deepEqual(r.search_since, ["1"]);
    assert.deepEqual(r.uid_search, ["1 3"]);
    assert.match(r.store[0], /FLAGS \(\\Answered custom \\Recent\)/);
    assert.match(String(r.copy[1]), /COPYUID \d+ 1:2 1:2/);
    assert.match(String(r.append[1]), /APPENDUID \d+ 1/);
    assert.match(r.append_missing, /TRYCREATE/);
    assert.deepEqual(r.expunge, ["2"]);
    assert.deepEqual(r.after, ["1 2"]);
    assert.deepEqual(r.uids, ["1 (UID 1)", "2 (UID 3)"]);
    assert.ok(!r.bad.startsWith("OK"), r.bad);
    assert.match(r.status[0], /MESSAGES 2/);
  });

  test("several sessions on one INBOX: expunges, flags and deliveries converge; POP3 expunges are seen", async () => {
    await deliver(server, "carol@petrel.test", "Subject: c1\r\n\r\none\r\n", 1);
    await deliver(server, "carol@petrel.test", "Subject: c2\r\n\r\ntwo\r\n", 2);
    await deliver(server, "carol@petrel.test", "Subject: c3\r\n\r\nthree\r\n", 3);
    await deliver(server, "carol@petrel.test", "Subject: c4\r\n\r\nfour\r\n", 4);
    const r = await run(
      `
a = imaps(); login(a, "carol@petrel.test"); a.select("INBOX")
b = imaps(); login(b, "carol@petrel.test"); b.select("INBOX")
a.store("2", "+FLAGS", "(\\\\Deleted \\\\Flagged)")
a.expunge()
b.noop()
out["b_expunge"] = s(b.untagged_responses.pop("EXPUNGE", []))
out["b_fetch_flags"] = s(b.fetch("1:*", "(UID FLAGS)")[1])
# POP3 deletes the (now) first message and quits: the IMAP sessions see it go.
p = poplib.POP3_SSL("127.0.0.1", inp["ports"]["pop3s"], context=ctx, timeout=15)
p.user("carol@petrel.test"); p.pass_(inp["password"])
p.dele(1)
p.quit()
a.noop()
out["a_expunge"] = s(a.untagged_responses.pop("EXPUNGE", []))
out["a_uids"] = s(a.fetch("1:*", "(UID)")[1])
a.logout(); b.logout()
`,
      { ports, password: PASSWORD },
    );
    assert.deepEqual(r.b_expunge, ["2"]);
    assert.deepEqual(r.b_fetch_flags, ["1 (UID 1 FLAGS ())", "2 (UID 3 FLAGS ())", "3 (UID 4 FLAGS ())"]);
    assert.deepEqual(r.a_expunge, ["1"]);
    assert.deepEqual(r.a_uids, ["1 (UID 3)", "2 (UID 4)"]);
    const left = await inbox(server, "carol@petrel.test");
    assert.deepEqual(left.map((m) => m.uid), [3, 4]);
  });
});
