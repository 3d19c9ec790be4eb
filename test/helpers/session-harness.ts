/**
 * Transcript-style tests of the SMTP session without sockets: an SmtpSession over a
 * MemoryTransport with a FakeClock and a FakeHandler that records what the sink received.
 *
 *   const t = await openSession();
 *   await t.cmd("EHLO client.test", "250");
 *   await t.cmd("MAIL FROM:<a@b.test>", "250 2.1.0");
 */
import assert from "node:assert/strict";
import type { Reply } from "../../src/core/reply.js";
import type { MailFrom, RcptTo, SessionFacts } from "../../src/core/envelope.js";
import type { LogFields, Logger } from "../../src/core/logger.js";
import type { MessageSink, SaslExchange, SessionView, SmtpHandler, TransactionView } from "../../src/smtp/handler.js";
import { R } from "../../src/smtp/replies.js";
import { SmtpSession } from "../../src/smtp/session/session.js";
import { RFC_DEFAULTS, type SessionOptions } from "../../src/smtp/session/options.js";
import { FakeClock } from "./fake-clock.js";
import { MemoryTransport } from "./memory-transport.js";

/** One message as the sink saw it. */
export interface RecordedMessage {
  id: string;
  from: MailFrom;
  rcpts: RcptTo[];
  /** Every octet written to the sink (Received: header first). */
  data: Buffer;
  writes: number;
  committed: boolean;
  aborted: boolean;
  facts?: SessionFacts;
  /** Set when abort() was called while commit() had not finished yet. */
  abortedDuringCommit: boolean;
}

type Hook<A extends unknown[]> = (...args: A) => Reply | undefined | Promise<Reply | undefined>;

export interface FakeHandlerOptions {
  connect?: Hook<[SessionView]>;
  helo?: Hook<[SessionView, string]>;
  mail?: Hook<[SessionView, MailFrom]>;
  /** Default: accept every recipient except those at "elsewhere.test" (550 5.7.1). */
  rcpt?: Hook<[SessionView, TransactionView, RcptTo]>;
  /** Throw here to make openMessage fail. */
  open?: (s: SessionView, txn: TransactionView) => void | Promise<void>;
  /** Called on each sink write before it is recorded (make it slow, or throw). */
  write?: (m: RecordedMessage, parts: readonly Buffer[]) => void | Promise<void>;
  /** The reply of commit (default 250 queued); throw to fail the commit. */
  commit?: (m: RecordedMessage) => Reply | Promise<Reply>;
  mechanisms?: readonly string[];
  sasl?: (mechanism: string) => SaslExchange | undefined;
}

export class FakeHandler implements SmtpHandler {
  readonly messages: RecordedMessage[] = [];
  readonly calls: string[] = [];
  private seq = 0;

  constructor(private readonly o: FakeHandlerOptions = {}) {}

  /** Messages whose commit succeeded. */
  get committed(): RecordedMessage[] {
    return this.messages.filter((m) => m.committed);
  }

  async connect(s: SessionView): Promise<Reply | undefined> {
    this.calls.push("connect");
    return this.o.connect?.(s);
  }

  async helo(s: SessionView, name: string): Promise<Reply | undefined> {
    this.calls.push(`helo ${name}`);
    return this.o.helo?.(s, name);
  }

  async mail(s: SessionView, from: MailFrom): Promise<Reply | undefined> {
    this.calls.push(`mail ${from.address ? `${from.address.local}@${from.address.domain}` : "<>"}`);
    return this.o.mail?.(s, from);
  }

  async rcpt(s: SessionView, txn: TransactionView, rcpt: RcptTo): Promise<Reply | undefined> {
    this.calls.push(`rcpt ${rcpt.address.local}@${rcpt.address.domain}`);
    if (this.o.rcpt) return this.o.rcpt(s, txn, rcpt);
    return rcpt.address.domain === "elsewhere.test" ? R.relayDenied() : undefined;
  }

  async openMessage(s: SessionView, txn: TransactionView): Promise<MessageSink> {
    this.calls.push("open");
    await this.o.open?.(s, txn);
    const m: RecordedMessage = { id: `Q${String(++this.seq).padStart(15, "0")}`, from: txn.from, rcpts: [...txn.rcpts], data: Buffer.alloc(0), writes: 0, committed: false, aborted: false, abortedDuringCommit: false };
    this.messages.push(m);
    let committing = false;
    const commitHook = this.o.commit;
    const writeHook = this.o.write;
    const record = (parts: readonly Buffer[]) => {
      assert.ok(!m.aborted && !m.committed, "write after the end of the message");
      m.data = Buffer.concat([m.data, ...parts]);
      m.writes++;
    };
    return {
      id: m.id,
      write: (parts) => {
        if (!writeHook) return record(parts);
        // Copy now: the session may reuse nothing, but a slow sink must not depend on that.
        const copy = parts.map((p) => Buffer.from(p));
        return Promise.resolve(writeHook(m, copy)).then(() => record(copy));
      },
      commit: async (facts) => {
        this.calls.push("commit");
        m.facts = facts;
        committing = true;
        try {
          const r = commitHook ? await commitHook(m) : R.queued(m.id);
          if (r.code < 300) m.committed = true;
          return r;
        } finally {
          committing = false;
        }
      },
      abort: async () => {
        this.calls.push("abort");
        if (committing) m.abortedDuringCommit = true;
        m.aborted = true;
      },
    };
  }

  saslMechanisms(): readonly string[] {
    return this.o.mechanisms ?? [];
  }

  startSasl(_s: SessionView, mechanism: string): SaslExchange | undefined {
    return this.o.sasl?.(mechanism);
  }
}

export interface LogEntry {
  level: "info" | "warn" | "error" | "debug";
  fields: LogFields;
  msg: string;
}

/** A Logger that keeps every entry (children share the list). */
export function recordingLogger(entries: LogEntry[] = [], bound: LogFields = {}): Logger & { entries: LogEntry[] } {
  const at = (level: LogEntry["level"]) => (fields: LogFields, msg: string) => void entries.push({ level, fields: { ...bound, ...fields }, msg });
  return { entries, info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug"), child: (f) => recordingLogger(entries, { ...bound, ...f }) };
}

export function sessionOptions(overrides: Partial<SessionOptions> = {}): SessionOptions {
  return { ...RFC_DEFAULTS, hostname: "mx.petrel.test", listener: "smtp", starttls: true, requireAuth: false, ...overrides };
}

const REPLY_LINE = /^\d{3}([ -].*)?$/;

export class Transcript {
  readonly clock: FakeClock;
  readonly transport: MemoryTransport;
  readonly log: Logger & { entries: LogEntry[] };
  readonly session: SmtpSession;

  constructor(
    readonly handler: FakeHandler,
    opts: Partial<SessionOptions>,
    transport?: MemoryTransport,
  ) {
    this.clock = new FakeClock();
    this.transport = transport ?? new MemoryTransport();
    this.log = recordingLogger();
    this.session = new SmtpSession(sessionOptions(opts), handler, this.transport, this.log, this.clock);
  }

  /** Bytes from the client, exactly as given. */
  send(data: string | Buffer): void {
    this.session.receive(typeof data === "string" ? Buffer.from(data, "utf8") : data);
  }

  /** One command line (CRLF added). */
  line(text: string): void {
    this.send(text + "\r\n");
  }

  /** Let the session finish what it can do with the input it has. */
  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }

  /** The next complete reply (all lines, CRLFs included). */
  async reply(): Promise<string> {
    const deadline = Date.now() + 2000;
    for (;;) {
      const r = this.transport.takeReply();
      if (r !== null) return r;
      if (this.transport.closed) await this.settle();
      const again = this.transport.takeReply();
      if (again !== null) return again;
      if (this.transport.closed) assert.fail(`session closed while a reply was expected; unread: ${JSON.stringify(this.transport.rest)}`);
      if (Date.now() > deadline) assert.fail(`no reply; unread: ${JSON.stringify(this.transport.rest)}`);
      await Promise.race([this.transport.changed(), new Promise((r) => setTimeout(r, 20))]);
    }
  }

  /** Read the next reply and check that it starts with `prefix` (e.g. "250 2.1.0"). */
  async expect(prefix: string): Promise<string> {
    const r = await this.reply();
    const lines = r.split("\r\n").slice(0, -1);
    for (const l of lines) assert.match(l, REPLY_LINE, `malformed reply line ${JSON.stringify(l)}`);
    const last = lines[lines.length - 1]!;
    assert.ok(lines.every((l) => l.slice(0, 3) === last.slice(0, 3)), `code changed inside a multi-line reply: ${JSON.stringify(r)}`);
    assert.ok(last.startsWith(prefix.length > 3 ? prefix : prefix + " ") || (prefix.length === 3 && last === prefix), `expected ${JSON.stringify(prefix)}, got ${JSON.stringify(r)}`);
    return r;
  }

  /** Send a command line and check its reply. */
  async cmd(text: string, prefix: string): Promise<string> {
    this.line(text);
    return this.expect(prefix);
  }

  /** Check that nothing more was written. */
  async noReply(): Promise<void> {
    await this.settle();
    assert.equal(this.transport.rest, "", "no reply expected");
  }

  /** Check that the session has closed the connection. */
  async expectClosed(): Promise<void> {
    await this.settle();
    assert.ok(this.transport.closed, "the session should have closed the connection");
    assert.ok(this.session.isClosed);
  }

  /** Entries logged at error level (an internal failure). */
  get errors(): LogEntry[] {
    return this.log.entries.filter((e) => e.level === "error");
  }

  /** EHLO, MAIL and RCPT for one recipient, each checked. */
  async envelope(from = "sender@client.test", rcpts: string[] = ["rcpt@petrel.test"]): Promise<void> {
    if (!this.session.helo) await this.cmd("EHLO client.test", "250");
    await this.cmd(`MAIL FROM:<${from}>`, "250 2.1.0");
    for (const r of rcpts) await this.cmd(`RCPT TO:<${r}>`, "250 2.1.5");
  }
}

/** Open a session and read its greeting. */
export async function openSession(opts: { options?: Partial<SessionOptions>; handler?: FakeHandler | FakeHandlerOptions; transport?: MemoryTransport; greeting?: string } = {}): Promise<Transcript> {
  const handler = opts.handler instanceof FakeHandler ? opts.handler : new FakeHandler(opts.handler);
  const t = new Transcript(handler, opts.options ?? {}, opts.transport);
  await t.expect(opts.greeting ?? "220 mx.petrel.test ESMTP");
  return t;
}

/** Split a stored message into its Received: header block and the rest. */
export function splitReceived(data: Buffer): { received: string; content: Buffer } {
  assert.equal(data.subarray(0, 10).toString("latin1"), "Received: ", "the sink must get the Received: header first");
  let end = data.indexOf("\r\n") + 2;
  while (data[end] === 0x09) end = data.indexOf("\r\n", end) + 2;
  return { received: data.subarray(0, end).toString("utf8"), content: data.subarray(end) };
}
