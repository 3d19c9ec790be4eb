/**
 * Shared bits of the outbound scenario tests (MTA-STS, REQUIRETLS, SRS, ARC): reading a test
 * server's mailbox, queueing a message directly, waiting for a queue state, and an HTTPS server
 * for MTA-STS policies.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TestServer } from "./server.js";
import { waitFor } from "./wait.js";

export const SHORT_TIMEOUTS = { greeting: "5s", mail: "5s", rcpt: "5s", dataInit: "5s", dataBlock: "5s", dataFinal: "10s" };

export async function mailbox(server: TestServer, address: string): Promise<Buffer[]> {
  const account = await server.petrel.store.directory.getAccount(address);
  assert.ok(account, `no account ${address}`);
  const box = await server.petrel.store.mailstore.getMailbox(account.id, "INBOX");
  if (!box) return [];
  const out: Buffer[] = [];
  for (const m of await server.petrel.store.mailstore.listMessages(box.id)) out.push((await server.petrel.store.mailstore.blob(m.blobId))!);
  return out;
}

export function waitForMail(server: TestServer, address: string, n = 1): Promise<Buffer[]> {
  return waitFor(`${n} message(s) for ${address}`, async () => {
    const list = await mailbox(server, address);
    return list.length >= n ? list : null;
  });
}

export function queueMessage(s: TestServer, from: string, rcpts: string[], body: Buffer, mail: Record<string, unknown> = {}): Promise<string> {
  const id = s.petrel.queue.submit(from, rcpts, body, { smtputf8: false, requireTls: false, ...mail }, { listener: "test", helo: "test" });
  void id.then(() => s.petrel.scheduler.wake());
  return id;
}

/** The first recipient of a queue entry once it is in `state` (deferred, failed, ...). */
export async function waitForRecipient(s: TestServer, id: string, state: string): Promise<{ state: string; lastReply?: string | null }> {
  return waitFor(`recipient ${state} in ${id}`, async () => {
    const e = await s.petrel.store.queue.get(id);
    const r = e?.recipients[0];
    return r && r.state === state ? r : null;
  });
}

export function message(subject: string, from = "sender@petrel.test", to = "user@remote.test"): Buffer {
  return Buffer.from(`From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}.${Date.now()}@petrel.test>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\r\nHello.\r\n`);
}

export interface PolicyServer {
  port: number;
  /** Policy text per domain (served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt). */
  policies: Map<string, string>;
  /** Requests per domain. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** An HTTPS server for MTA-STS policies with the given certificate (it must name mta-sts.DOMAIN). */
export async function startPolicyServer(tls: { cert: string; key: string }): Promise<PolicyServer> {
  const policies = new Map<string, string>();
  const hits = new Map<string, number>();
  const server: Server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    const host = String(req.headers.host ?? "").replace(/:\d+$/, "").toLowerCase();
    const domain = host.replace(/^mta-sts\./, "");
    hits.set(domain, (hits.get(domain) ?? 0) + 1);
    const text = policies.get(domain);
    if (req.url !== "/.well-known/mta-sts.txt" || text === undefined) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(text);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    policies,
    hits,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export function stsPolicy(mode: "enforce" | "testing" | "none", mx: string[], maxAge = 86400): string {
  return `version: STSv1\r\nmode: ${mode}\r\n${mx.map((m) => `mx: ${m}\r\n`).join("")}max_age: ${maxAge}\r\n`;
}

/** The scheduler's "delivery" log entry for a recipient with this status. */
export function waitForOutcome(log: readonly Record<string, unknown>[], rcpt: string, status: string): Promise<Record<string, unknown>> {
  return waitFor(`${status} for ${rcpt}`, async () => log.find((e) => e.event === "delivery" && e.rcpt === rcpt && e.status === status));
}
