/**
 * Inbound rate limits on the MX listener with tiny values: connections per client address per
 * minute (421 4.7.0 at the greeting), messages (MAIL) per client address and per sender domain
 * per minute (451 4.7.0). Clients come from several 127.0.0.x addresses; loopback is removed
 * from inbound.localNetworks (it is exempt by default). The submission listener is not limited.
 * No DNS: inbound.clientChecks is off.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, type TestServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";

describe("anti-abuse: inbound rate limits", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      overrides: {
        inbound: { localNetworks: ["127.0.0.9"], clientChecks: false, rateLimits: { connectionsPerMinute: 2, messagesPerMinutePerIp: 2, messagesPerMinutePerSenderDomain: 3 } },
        smtp: { submissionRequiresAuth: false },
      },
    });
  });
  after(() => server.stop());

  test("the third connection from one address in a minute gets 421 4.7.0; other addresses do not", async () => {
    const from = { localAddress: "127.0.0.2" };
    for (let i = 0; i < 2; i++) await (await SmtpClient.open(server.port("smtp"), from)).expect("QUIT", 221);
    const c = await SmtpClient.connect(server.port("smtp"), from);
    const r = await c.reply();
    assert.equal(r.code, 421);
    assert.equal(r.enhanced, "4.7.0");
    assert.match(r.lines.join(" "), /Too many connections from your address/);
    await c.closed;
    await (await SmtpClient.open(server.port("smtp"), { localAddress: "127.0.0.3" })).expect("QUIT", 221);
    // Local networks are not limited; nor is the submission listener.
    for (let i = 0; i < 3; i++) await (await SmtpClient.open(server.port("smtp"), { localAddress: "127.0.0.9" })).expect("QUIT", 221);
    for (let i = 0; i < 3; i++) await (await SmtpClient.open(server.port("submission"), from)).expect("QUIT", 221);
  });

  test("the third message from one address in a minute gets 451 4.7.0 at MAIL", async () => {
    const c = await SmtpClient.open(server.port("smtp"), { localAddress: "127.0.0.4" });
    await c.expect("EHLO client.test", 250);
    await c.expect("MAIL FROM:<a@one.test>", 250);
    await c.expect("RSET", 250);
    await c.expect("MAIL FROM:<a@two.test>", 250);
    await c.expect("RSET", 250);
    const r = await c.expect("MAIL FROM:<a@three.test>", 451, "4.7.0");
    assert.match(r.lines.join(" "), /Too many messages from your address/);
    await c.expect("QUIT", 221);
  });

  test("the fourth message from one sender domain in a minute gets 451 4.7.0, whatever the address", async () => {
    for (const ip of ["127.0.0.5", "127.0.0.6", "127.0.0.7"]) {
      const c = await SmtpClient.open(server.port("smtp"), { localAddress: ip });
      await c.expect("EHLO client.test", 250);
      await c.expect("MAIL FROM:<x@bulk.test>", 250);
      await c.expect("QUIT", 221);
    }
    const c = await SmtpClient.open(server.port("smtp"), { localAddress: "127.0.0.8" });
    await c.expect("EHLO client.test", 250);
    const r = await c.expect("MAIL FROM:<y@Bulk.test>", 451, "4.7.0");
    assert.match(r.lines.join(" "), /Too many messages from your sender domain/);
    // The null sender has no domain to count.
    await c.expect("MAIL FROM:<>", 250);
    await c.expect("QUIT", 221);
  });
});
