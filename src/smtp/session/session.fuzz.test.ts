/**
 * Fuzzing the session (fast-check): random command lines, message content, BDAT chunks and
 * raw bytes, cut into random packets, with hooks that sometimes refuse or throw and a clock
 * that jumps. Whatever comes in: no crash, no unhandled rejection, every reply line is
 * well formed, nothing is written after close, and every "queued as" names a committed message.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { reply } from "../../core/reply.js";
import { R } from "../replies.js";
import { FakeHandler, Transcript, type FakeHandlerOptions } from "../../../test/helpers/session-harness.js";

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => void unhandled.push(e);
before(() => process.on("unhandledRejection", onUnhandled));
after(() => process.off("unhandledRejection", onUnhandled));

const INJECTED = "injected failure";

/** Mostly the usual value, so that transactions get far; sometimes one of the others. */
const mostly = <T>(usual: T, ...others: T[]) => fc.oneof({ weight: 4, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: fc.constantFrom(...others) });

const address = fc.constantFrom("a@petrel.test", "b@elsewhere.test", "", "postmaster", "Postmaster", "jérôme@petrel.test", '"q u"@petrel.test', "@r.test:c@petrel.test", "x@[127.0.0.1]", "bad", "a@b@c", "x".repeat(70) + "@petrel.test");
const param = fc.constantFrom("", " SIZE=100", " SIZE=99999999999", " BODY=8BITMIME", " BODY=BINARYMIME", " SMTPUTF8", " REQUIRETLS", " RET=HDRS", " ENVID=a+2Bb", " NOTIFY=SUCCESS,FAILURE", " NOTIFY=NEVER", " ORCPT=rfc822;a@b", " ORCPT=utf-8;\\x{FFFFFF}", " FOO=bar", " AUTH=<>", " SIZE");
const commandLine = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom("EHLO client.test", "HELO client.test", "EHLO", "EHLO [127.0.0.1]", "RSET", "NOOP", "VRFY x", "HELP", "EXPN x", "STARTTLS", "AUTH PLAIN", "AUTH PLAIN AHVzZXIAc2VjcmV0", "AUTH LOGIN", "*", "DATA", "DATA x", "") },
  { weight: 1, arbitrary: fc.constantFrom("GET / HTTP/1.0", "Host: x") },
  { weight: 40, arbitrary: fc.tuple(fc.constantFrom("MAIL FROM:", "mail from: ", "MAIL FROM"), address, param).map(([v, a, p]) => `${v}<${a}>${p}`) },
  { weight: 50, arbitrary: fc.tuple(fc.constantFrom("RCPT TO:", "rcpt to:"), address, param).map(([v, a, p]) => `${v}<${a}>${p}`) },
  { weight: 3, arbitrary: fc.constantFrom("QUIT") },
  { weight: 5, arbitrary: fc.string({ maxLength: 30 }) },
);

/** A whole (mostly valid) transaction, pipelined, by DATA or by BDAT. */
const transaction = fc
  .tuple(fc.array(fc.constantFrom("a@petrel.test", "c@petrel.test", "b@elsewhere.test"), { minLength: 1, maxLength: 3 }), fc.constantFrom("Subject: t\r\n\r\nhi\r\n", "..x\r\n", "", "a\nb\r\n", "y".repeat(3000) + "\r\n"), fc.boolean())
  .map(([rcpts, body, bdat]) => {
    const env = `MAIL FROM:<s@client.test>\r\n${rcpts.map((r) => `RCPT TO:<${r}>\r\n`).join("")}`;
    if (bdat) {
      const half = Math.floor(body.length / 2);
      return Buffer.from(`${env}BDAT ${half}\r\n${body.slice(0, half)}BDAT ${body.length - half} LAST\r\n${body.slice(half)}`);
    }
    return Buffer.from(`${env}DATA\r\n${body.replace(/^\./gm, "..")}.\r\n`);
  });

/** One step of client input. */
const step = fc.oneof(
  { weight: 16, arbitrary: commandLine.map((l) => Buffer.from(l + "\r\n")) },
  { weight: 8, arbitrary: transaction },
  // Message content, sometimes with the terminator and smuggling attempts.
  { weight: 6, arbitrary: fc.array(fc.constantFrom("header line\r\n", "\r\n", "..dot\r\n", ".\r\n", "\n.\n", "\r\n.\n", "bare\rcr", "x".repeat(1100) + "\r\n", "MAIL FROM:<z@z>\r\n"), { maxLength: 6 }).map((a) => Buffer.from(a.join(""))) },
  // BDAT with its octets (the size sometimes lies).
  { weight: 4, arbitrary: fc.tuple(fc.nat({ max: 40 }), fc.boolean(), fc.integer({ min: -3, max: 3 })).map(([n, last, lie]) => Buffer.from(`BDAT ${n}${last ? " LAST" : ""}\r\n${"b".repeat(Math.max(0, n + lie))}`)) },
  { weight: 1, arbitrary: fc.constantFrom("BDAT", "BDAT x", "BDAT 99999999999999999 LAST", "BDAT -1").map((l) => Buffer.from(l + "\r\n")) },
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) },
);

type Action = { kind: "send"; data: Buffer; cuts: number[] } | { kind: "tick"; ms: number } | { kind: "shutdown" } | { kind: "peer-close" };

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 150, arbitrary: fc.tuple(step, fc.array(fc.nat({ max: 1200 }), { maxLength: 3 })).map(([data, cuts]): Action => ({ kind: "send", data, cuts })) },
  { weight: 6, arbitrary: fc.constantFrom(1000, 60_000, 170_000, 200_000, 400_000).map((ms): Action => ({ kind: "tick", ms })) },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: "shutdown" }) },
  { weight: 1, arbitrary: fc.constant<Action>({ kind: "peer-close" }) },
);

const hooksArb = fc.record({
  failHelo: mostly(false, true),
  mail: mostly("ok", "refuse", "throw"),
  rcpt: mostly("ok", "refuse", "throw", "slow"),
  open: mostly("ok", "throw"),
  commit: mostly("ok", "refuse", "throw", "slow"),
});

const optionsArb = fc.record({
  maxErrors: fc.integer({ min: 2, max: 40 }),
  maxJunkCommands: fc.integer({ min: 2, max: 40 }),
  maxTransactions: mostly(100, 1, 2, 5),
  maxRecipients: mostly(100, 1, 2, 5),
  maxMessageSize: mostly(50_000, 10, 100, 3000),
  bareLineEndings: fc.constantFrom("reject" as const, "normalize" as const),
  commandTimeoutMs: fc.constant(300_000),
  dataTimeoutMs: fc.constant(180_000),
  authRequiresTls: fc.boolean(),
});

interface Hooks {
  failHelo: boolean;
  mail: string;
  rcpt: string;
  open: string;
  commit: string;
}

function handlerFor(h: Hooks): FakeHandler {
  const boom = () => {
    throw new Error(INJECTED);
  };
  const later = <T>(v: T) => new Promise<T>((r) => setImmediate(() => r(v)));
  const o: FakeHandlerOptions = {
    helo: h.failHelo ? () => reply(550, "5.7.1", "go away") : undefined,
    mail: h.mail === "refuse" ? () => reply(450, "4.7.1", "try later") : h.mail === "throw" ? boom : undefined,
    rcpt: (_s, _t, r) => {
      if (h.rcpt === "throw" && r.address.local === "a") boom();
      if (h.rcpt === "slow") return later(undefined);
      return h.rcpt === "refuse" || r.address.domain === "elsewhere.test" ? R.relayDenied() : undefined;
    },
    open: h.open === "throw" ? boom : undefined,
    commit: (m) => (h.commit === "throw" ? boom() : h.commit === "refuse" ? reply(554, "5.7.1", "no") : h.commit === "slow" ? later(R.queued(m.id)) : R.queued(m.id)),
    mechanisms: ["PLAIN"],
    sasl: () => ({ step: async (r) => (r === null ? { challenge: Buffer.alloc(0) } : r.toString() === "\0user\0secret" ? { user: "user" } : { failed: true as const }) }),
  };
  return new FakeHandler(o);
}

const REPLY_LINE = /^[2-5]\d\d([ -][\x20-\x7e\u0080-\u{10ffff}]*)?$/u;

test("random input never breaks the session", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 5, maxLength: 40, size: "max" }), hooksArb, optionsArb, mostly(true, false), async (actions, hooks, options, ehloFirst) => {
      const handler = handlerFor(hooks);
      const t = new Transcript(handler, options);
      await t.settle();
      if (ehloFirst) t.send("EHLO client.test\r\n");
      for (const a of actions) {
        if (a.kind === "send") {
          let prev = 0;
          for (const c of [...new Set(a.cuts)].sort((x, y) => x - y).filter((c) => c > 0 && c < a.data.length)) {
            t.send(a.data.subarray(prev, c));
            prev = c;
          }
          t.send(a.data.subarray(prev));
        } else if (a.kind === "tick") t.clock.advance(a.ms);
        else if (a.kind === "shutdown") t.session.shutdown();
        else t.session.remoteClosed();
        await t.settle();
      }
      // Whatever state it is in, the session ends: a timeout at the latest.
      for (let i = 0; i < 4 && !t.session.isClosed; i++) {
        t.clock.advance(400_000);
        await t.settle();
      }
      assert.ok(t.session.isClosed, "the session must end by timeout at the latest");
      await t.session.closed;

      const out = t.transport.output;
      assert.ok(out === "" || out.endsWith("\r\n"), "replies end with CRLF");
      let code: string | undefined;
      for (const line of out.split("\r\n").slice(0, -1)) {
        assert.match(line, REPLY_LINE, `malformed reply line ${JSON.stringify(line)}`);
        if (code !== undefined) assert.equal(line.slice(0, 3), code, "one code per multi-line reply");
        code = line[3] === "-" ? line.slice(0, 3) : undefined;
      }
      assert.equal(code, undefined, "no unfinished multi-line reply");
      assert.equal(t.transport.writesAfterClose, 0, "nothing written after close");
      // Internal failures: only the ones we injected.
      const unexpected = t.errors.filter((e) => (e.fields.err as Error | undefined)?.message !== INJECTED);
      assert.deepEqual(unexpected.map((e) => `${e.msg}: ${String(e.fields.err)}`), []);
      // Acknowledged means committed, and committed messages start with our Received: header.
      for (const m of out.matchAll(/^250 2\.0\.0 Ok: queued as (\S+)/gm)) {
        const msg = handler.messages.find((x) => x.id === m[1]);
        assert.ok(msg?.committed && !msg.aborted, `${m[1]} acknowledged but not committed`);
      }
      for (const m of handler.committed) assert.equal(m.data.subarray(0, 10).toString(), "Received: ");
      assert.deepEqual(unhandled, []);
    }),
    { numRuns: 300 },
  );
});

test("random bytes only", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { maxLength: 20 }), async (chunks) => {
      const t = new Transcript(new FakeHandler(), { maxErrors: 1000, maxJunkCommands: 1000 });
      for (const c of chunks) t.send(Buffer.from(c));
      await t.settle();
      for (const line of t.transport.output.split("\r\n").slice(0, -1)) assert.match(line, REPLY_LINE);
      assert.deepEqual(t.errors, []);
      t.clock.advance(1_000_000);
      await t.settle();
      assert.ok(t.session.isClosed);
    }),
    { numRuns: 300 },
  );
});
