/**
 * /healthz and /readyz through a graceful shutdown: while a session is still sending its
 * message (the grace period), the process is alive (healthz 200) but not ready (readyz 503
 * with a JSON reason), so a load balancer stops sending new connections.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../helpers/server.js";
import { SmtpClient } from "../helpers/smtp-client.js";
import { http } from "../helpers/http.js";

describe("HTTP health checks", () => {
  test("readyz is 503 during shutdown, healthz stays 200 until the listener closes", async () => {
    const server = await startServer({ overrides: { limits: { shutdownGrace: "5s" } } });
    const port = server.port("http");
    assert.equal((await http(port, "/readyz")).status, 200);

    // A session in DATA holds the shutdown in its grace period.
    const c = await SmtpClient.open(server.port("smtp"));
    await c.ehlo();
    c.write("MAIL FROM:<a@client.test>\r\nRCPT TO:<x@petrel.test>\r\nDATA\r\n");
    assert.deepEqual((await c.replies(3)).map((x) => x.code), [250, 250, 354]);
    c.write("Subject: slow\r\n\r\npart one\r\n");
    await new Promise((r) => setTimeout(r, 100));

    const stopping = server.stop();
    try {
      const ready = await http(port, "/readyz");
      assert.equal(ready.status, 503);
      assert.equal(ready.headers["content-type"], "application/json");
      assert.deepEqual(JSON.parse(ready.body), { status: "unavailable", reason: "shutting down" });
      assert.equal((await http(port, "/healthz")).status, 200);
      const head = await http(port, "/readyz", { method: "HEAD" });
      assert.equal(head.status, 503);
      assert.equal(head.body, "");

      // The message still completes, then the server stops and the HTTP listener with it.
      c.write(".\r\n");
      assert.equal((await c.reply()).code, 250);
    } finally {
      await stopping;
    }
    await assert.rejects(http(port, "/healthz"), /ECONNREFUSED/);
  });

  test("readyz is 503 when a mail listener is no longer open", async () => {
    const server = await startServer();
    try {
      const port = server.port("http");
      const imaps = server.petrel.listeners.find((l) => l.name === "imaps")!;
      await new Promise((r) => imaps.server.close(r));
      const ready = await http(port, "/readyz");
      assert.equal(ready.status, 503);
      assert.deepEqual(JSON.parse(ready.body), { status: "unavailable", reason: "listener not open: imaps" });
      assert.equal((await http(port, "/healthz")).status, 200);
    } finally {
      await server.stop();
    }
  });
});
