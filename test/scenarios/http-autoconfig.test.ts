/**
 * Mail client autoconfiguration on the HTTP listener: Thunderbird's config-v1.1.xml (both
 * paths, by emailaddress and by the autoconfig.<domain> Host) and Outlook's autodiscover POST,
 * parsed with a real XML parser (Python's ElementTree) and compared with the open listeners;
 * 404 for a domain that is not local, whether or not the user exists.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { runPython } from "../helpers/python.js";
import { http } from "../helpers/http.js";

/** The document as {tag, attrs, text, children} trees, namespaces stripped. */
interface Node {
  tag: string;
  attrs: Record<string, string>;
  text: string;
  children: Node[];
}

const PRELUDE = `
import json, sys
import xml.etree.ElementTree as ET
inp = json.load(sys.stdin)
def tree(e):
    return {"tag": e.tag.split("}")[-1], "attrs": dict(e.attrib), "text": (e.text or "").strip(), "children": [tree(c) for c in e]}
out = tree(ET.fromstring(inp["xml"].encode("utf-8")))
`;

function parseXml(xml: string): Promise<Node> {
  return runPython<Node>(PRELUDE, "", { xml });
}

const child = (n: Node, tag: string) => n.children.find((c) => c.tag === tag);
const childText = (n: Node, tag: string) => child(n, tag)?.text;

describe("HTTP autoconfig and autodiscover", () => {
  let server: TestServer;
  let port: number;

  before(async () => {
    server = await startServer({ domains: ["petrel.test", "second.test"] });
    port = server.port("http");
  });
  after(async () => server.stop());

  test("Thunderbird config-v1.1.xml lists the listeners, implicit TLS first", async () => {
    for (const path of ["/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"]) {
      const res = await http(port, `${path}?emailaddress=${encodeURIComponent("Alice@Second.test")}`);
      assert.equal(res.status, 200, path);
      assert.match(String(res.headers["content-type"]), /^application\/xml/);
      const doc = await parseXml(res.body);
      assert.equal(doc.tag, "clientConfig");
      assert.equal(doc.attrs.version, "1.1");
      const provider = child(doc, "emailProvider")!;
      assert.equal(provider.attrs.id, "second.test");
      assert.equal(childText(provider, "domain"), "second.test");
      const servers = provider.children
        .filter((c) => c.tag === "incomingServer" || c.tag === "outgoingServer")
        .map((c) => ({ type: c.attrs.type, host: childText(c, "hostname"), port: Number(childText(c, "port")), socket: childText(c, "socketType"), user: childText(c, "username"), auth: childText(c, "authentication") }));
      const user = "%EMAILADDRESS%";
      const host = "mx.petrel.test";
      assert.deepEqual(servers, [
        { type: "imap", host, port: server.port("imaps"), socket: "SSL", user, auth: "password-cleartext" },
        { type: "imap", host, port: server.port("imap"), socket: "STARTTLS", user, auth: "password-cleartext" },
        { type: "pop3", host, port: server.port("pop3s"), socket: "SSL", user, auth: "password-cleartext" },
        { type: "pop3", host, port: server.port("pop3"), socket: "STARTTLS", user, auth: "password-cleartext" },
        { type: "smtp", host, port: server.port("submissions"), socket: "SSL", user, auth: "password-cleartext" },
        { type: "smtp", host, port: server.port("submission"), socket: "STARTTLS", user, auth: "password-cleartext" },
      ]);
    }
  });

  test("the autoconfig.<domain> Host names the domain when no address is given", async () => {
    const res = await http(port, "/mail/config-v1.1.xml", { headers: { host: "autoconfig.petrel.test" } });
    assert.equal(res.status, 200);
    assert.equal(child(await parseXml(res.body), "emailProvider")!.attrs.id, "petrel.test");
    assert.equal((await http(port, "/mail/config-v1.1.xml", { headers: { host: "autoconfig.elsewhere.test" } })).status, 404);
  });

  test("404 for foreign domains and malformed addresses, HEAD without a body", async () => {
    for (const q of ["someone@elsewhere.test", "catchall@petrel.test.evil", "not-an-address", "a@", "@petrel.test", "<x>@petrel.test"]) {
      const res = await http(port, `/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(q)}`);
      assert.equal(res.status, 404, q);
      assert.doesNotMatch(res.body, /petrel\.test|elsewhere/);
    }
    // Same answer for an account that exists and one that does not: nothing tells them apart.
    const a = await http(port, `/mail/config-v1.1.xml?emailaddress=catchall@petrel.test`);
    const b = await http(port, `/mail/config-v1.1.xml?emailaddress=nobody-here@petrel.test`);
    assert.equal(a.body, b.body);
    const head = await http(port, `/mail/config-v1.1.xml?emailaddress=a@petrel.test`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.equal(Number(head.headers["content-length"]), a.body.length);
  });

  test("Outlook autodiscover POST answers IMAP, POP3 and SMTP settings for the address", async () => {
    const request = (address: string) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>${address}</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`;
    for (const path of ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"]) {
      const res = await http(port, path, { method: "POST", body: request("bob@petrel.test"), headers: { "content-type": "text/xml" } });
      assert.equal(res.status, 200, path);
      const doc = await parseXml(res.body);
      assert.equal(doc.tag, "Autodiscover");
      const account = child(child(doc, "Response")!, "Account")!;
      assert.equal(childText(account, "AccountType"), "email");
      assert.equal(childText(account, "Action"), "settings");
      const protocols = account.children
        .filter((c) => c.tag === "Protocol")
        .map((p) => ({ type: childText(p, "Type"), server: childText(p, "Server"), port: Number(childText(p, "Port")), ssl: childText(p, "SSL"), login: childText(p, "LoginName") }));
      assert.deepEqual(protocols, [
        { type: "IMAP", server: "mx.petrel.test", port: server.port("imaps"), ssl: "on", login: "bob@petrel.test" },
        { type: "POP3", server: "mx.petrel.test", port: server.port("pop3s"), ssl: "on", login: "bob@petrel.test" },
        { type: "SMTP", server: "mx.petrel.test", port: server.port("submissions"), ssl: "on", login: "bob@petrel.test" },
      ]);
    }
    assert.equal((await http(port, "/autodiscover/autodiscover.xml", { method: "POST", body: request("bob@elsewhere.test") })).status, 404);
    assert.equal((await http(port, "/autodiscover/autodiscover.xml", { method: "POST", body: "<nothing/>" })).status, 404);
    assert.equal((await http(port, "/autodiscover/autodiscover.xml", { method: "POST", body: "x".repeat(40_000) })).status, 413);
    const get = await http(port, "/autodiscover/autodiscover.xml");
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, "POST");
  });

  test("Apple configuration profile: a plist with the IMAP and submission listeners", async () => {
    const res = await http(port, `/mail/petrel.mobileconfig?emailaddress=${encodeURIComponent("carol@petrel.test")}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/x-apple-aspen-config");
    const plist = await runPython<Record<string, unknown>>("import json, sys, plistlib\ninp = json.load(sys.stdin)\n", "out = plistlib.loads(inp['xml'].encode('utf-8'))", { xml: res.body });
    assert.equal(plist.PayloadType, "Configuration");
    const mail = (plist.PayloadContent as Record<string, unknown>[])[0]!;
    assert.deepEqual(
      [mail.PayloadType, mail.EmailAccountType, mail.EmailAddress, mail.IncomingMailServerHostName, mail.IncomingMailServerPortNumber, mail.IncomingMailServerUseSSL, mail.IncomingMailServerUsername, mail.OutgoingMailServerPortNumber, mail.OutgoingMailServerUseSSL],
      ["com.apple.mail.managed", "EmailTypeIMAP", "carol@petrel.test", "mx.petrel.test", server.port("imaps"), true, "carol@petrel.test", server.port("submissions"), true],
    );
    // The same address gets the same identifiers (a new download replaces the profile).
    assert.equal((await http(port, `/mail/petrel.mobileconfig?emailaddress=carol@petrel.test`)).body, res.body);
    assert.equal((await http(port, `/mail/petrel.mobileconfig?emailaddress=carol@elsewhere.test`)).status, 404);
    assert.equal((await http(port, `/mail/petrel.mobileconfig`)).status, 404);
  });
});
