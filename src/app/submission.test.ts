import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MAX_SUBMITTED_HEADER, MessageGate, missingFields } from "./submission.js";
import { reply } from "../core/reply.js";

const RECEIVED = Buffer.from("Received: from x by y; date\r\n");
const crlf = (s: string) => Buffer.from(s.replace(/\n/g, "\r\n"));

function gate(opts: { add?: string; refuse?: boolean } = {}) {
  const out: Buffer[] = [];
  const seen: string[] = [];
  const g = new MessageGate((parts) => void out.push(...parts), {
    additions: opts.add === undefined ? undefined : () => Buffer.from(opts.add!),
    check: async (h) => (seen.push(h.toString()), opts.refuse ? reply(550, "5.7.1", "no") : undefined),
  });
  return { g, out: () => Buffer.concat(out).toString(), seen };
}

describe("MessageGate", () => {
  test("added fields go after our Received:, the header block is checked, the body passes", async () => {
    const { g, out, seen } = gate({ add: "Date: now\r\n" });
    await g.write([RECEIVED]);
    await g.write([crlf("From: a@b\nSubj"), crlf("ect: hi\n")]);
    assert.equal(out(), "", "held until the header is complete");
    await g.write([crlf("\nbody line\n")]);
    await g.write([crlf("more\n")]);
    assert.equal(await g.end(), undefined);
    assert.equal(out(), `${RECEIVED}Date: now\r\nFrom: a@b\r\nSubject: hi\r\n\r\nbody line\r\nmore\r\n`);
    assert.deepEqual(seen, ["From: a@b\r\nSubject: hi\r\n"]);
  });

  test("a CRLF CRLF split across writes is found", async () => {
    const { g, out } = gate({ add: "X: 1\r\n" });
    await g.write([RECEIVED]);
    await g.write([Buffer.from("A: 1\r\n\r")]);
    await g.write([Buffer.from("\nbody\r\n")]);
    await g.end();
    assert.equal(out(), `${RECEIVED}X: 1\r\nA: 1\r\n\r\nbody\r\n`);
  });

  test("a message with no header (starts with an empty line) and one with no body", async () => {
    const a = gate({ add: "X: 1\r\n" });
    await a.g.write([RECEIVED]);
    await a.g.write([crlf("\nbody\n")]);
    await a.g.end();
    assert.equal(a.out(), `${RECEIVED}X: 1\r\n\r\nbody\r\n`);
    assert.deepEqual(a.seen, [""]);
    const b = gate({ add: "X: 1\r\n" });
    await b.g.write([RECEIVED]);
    await b.g.write([crlf("Subject: only\n")]);
    await b.g.end();
    assert.equal(b.out(), `${RECEIVED}X: 1\r\nSubject: only\r\n`);
  });

  test("the check's refusal is the end-of-data reply", async () => {
    const { g } = gate({ refuse: true });
    await g.write([RECEIVED]);
    await g.write([crlf("From: x@y\n\nb\n")]);
    assert.equal((await g.end())?.code, 550);
  });

  test("an endless header is refused with 552 5.3.4 and not held in memory", async () => {
    const { g, out } = gate();
    await g.write([RECEIVED]);
    const line = Buffer.from(`X-Filler: ${"a".repeat(990)}\r\n`);
    for (let i = 0; i <= MAX_SUBMITTED_HEADER / line.length + 1; i++) await g.write([line]);
    assert.ok(out().length > MAX_SUBMITTED_HEADER, "released once over the limit");
    const r = await g.end();
    assert.deepEqual([r?.code, r?.enhanced], [552, "5.3.4"]);
  });
});

describe("RFC 6409 8: missing Date: and Message-ID:", () => {
  const now = Date.UTC(2026, 10, 30, 10, 0, 0);
  test("both missing: both added, Message-ID from the queue id and host name", () => {
    const add = missingFields(crlf("From: a@b\nSubject: x\n"), "Q123", "mx.example.com", now)!.toString();
    assert.match(add, /^Date: \w{3}, \d{1,2} Nov 2026 \d\d:\d\d:\d\d [+-]\d{4}\r\nMessage-ID: <Q123@mx\.example\.com>\r\n$/);
  });
  test("present (any case) : nothing added", () => {
    assert.equal(missingFields(crlf("DATE: Mon, 30 Nov 2026 10:00:00 +0000\nmessage-id: <a@b>\n"), "Q", "h", now), null);
    assert.equal(missingFields(crlf("Date: Mon, 30 Nov 2026 10:00:00 +0000\n"), "Q", "h", now)!.toString(), "Message-ID: <Q@h>\r\n");
  });
});

describe("Submission: counting accepted messages", () => {
  test("charges the hour and day buckets once accepted, and prunes old buckets once per hour", async () => {
    const { Submission } = await import("./submission.js");
    const { nullLogger } = await import("../core/logger.js");
    const calls: string[] = [];
    let now = Date.UTC(2026, 10, 30, 9, 59, 0);
    const account = { id: 7, address: "alice@example.com", displayName: null, quota: null, usedBytes: 0, enabled: true, createdAt: 0, sendAs: [], sendLimits: {} };
    const sub = new Submission({
      directory: { getAccount: async () => account, getAlias: async () => null } as never,
      sendCounters: {
        get: async () => ({}),
        charge: async (id, buckets, m, r) => void calls.push(`charge ${id} ${buckets.join(",")} ${m} ${r}`),
        prune: async (keep) => (calls.push(`prune ${[...keep].sort().join(",")}`), 0),
      },
      limits: { messagesPerHour: null, messagesPerDay: null, recipientsPerHour: null, recipientsPerDay: null },
      separator: "+",
      hostname: "mx.test",
      log: nullLogger,
      now: () => now,
    });
    const session = { id: "s", listener: "submission", remoteAddress: "127.0.0.1", remotePort: 1, authUser: "alice@example.com" };
    const send = async (rcpts: number) => {
      const g = (await sub.open(session, "Q1", () => undefined))!;
      await g.write([RECEIVED]);
      await g.write([crlf("From: alice@example.com\n\nhi\n")]);
      assert.equal(await g.end(), undefined);
      await g.accepted(rcpts);
    };
    await send(2);
    await send(1);
    now += 60_000; // 10:00: a new hour
    await send(1);
    assert.deepEqual(calls, [
      "charge 7 h:2026-11-30T09,d:2026-11-30 1 2",
      "prune d:2026-11-29,d:2026-11-30,h:2026-11-30T08,h:2026-11-30T09",
      "charge 7 h:2026-11-30T09,d:2026-11-30 1 1",
      "charge 7 h:2026-11-30T10,d:2026-11-30 1 1",
      "prune d:2026-11-29,d:2026-11-30,h:2026-11-30T09,h:2026-11-30T10",
    ]);
  });

  test("unauthenticated sessions pass straight through (no gate)", async () => {
    const { Submission } = await import("./submission.js");
    const { nullLogger } = await import("../core/logger.js");
    const sub = new Submission({ directory: {} as never, sendCounters: {} as never, limits: { messagesPerHour: 1, messagesPerDay: 1, recipientsPerHour: 1, recipientsPerDay: 1 }, separator: "+", hostname: "h", log: nullLogger, now: Date.now });
    const s = { id: "s", listener: "submission", remoteAddress: "127.0.0.1", remotePort: 1 };
    assert.equal(await sub.open(s, "Q", () => undefined), undefined);
    assert.equal(await sub.mail(s, "x@y"), undefined);
    assert.equal(await sub.rcpt(s, 0), undefined);
  });
});
