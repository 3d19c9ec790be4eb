/**
 * IMAP session tests over the real parts: an ImapSession (src/imap/session.ts) on an in-memory
 * transport with a FakeClock (the socket adapter's seam, as in the POP3 and SMTP engine tests;
 * the clock drives the autologout, IDLE and login-failure timers), talking to the real backend
 * (app/imap-backend.ts) over a temporary SQLite store with the inline writer, the real
 * MailboxEvents/notifyingMailstore, and the real Authenticator (scrypt hashes from
 * auth/password.ts, the lockout, the Directory).
 *
 *   test("...", async (t) => {
 *     const env = await imapEnv(t);              // removed after the test
 *     await env.deliver("INBOX", "Subject: hi\r\n\r\nx\r\n", { flags: ["\\Seen"] });
 *     const c = env.connect();
 *     await c.login();
 *     assert.equal(await c.send("a NOOP\r\n"), "a OK NOOP completed\r\n");
 *   });
 *
 * `send` waits until the session is quiet: no backend call in flight (the store, scrypt in the
 * thread pool) and the event loop idle for a while. Timers of the FakeClock never fire by
 * themselves: advance the clock.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { nullLogger } from "../../src/core/logger.js";
import { parseMessage } from "../../src/mime/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import type { Account, FlagOperation, ImapMailstore, MailMessage, Mailbox, Mailstore, Store } from "../../src/store/types.js";
import { Authenticator } from "../../src/auth/authenticator.js";
import { hashPassword, type ScryptParams } from "../../src/auth/password.js";
import { createImapBackend } from "../../src/app/imap-backend.js";
import { MailboxEvents, notifyingMailstore } from "../../src/app/mailbox-events.js";
import type { ImapBackend, ImapOptions, ImapTransport } from "../../src/imap/backend.js";
import { ImapSession } from "../../src/imap/session.js";
import { FakeClock } from "./fake-clock.js";

export const DOMAIN = "x.test";
export const USER = "u@x.test";
export const PASSWORD = "pw";
/** Real scrypt, at a cost that keeps a login well under a millisecond (production: ln=15). */
export const TEST_SCRYPT: ScryptParams = { ln: 4, r: 8, p: 1 };
/** The account's storage quota: STORAGE limit 10240 (KiB). */
export const QUOTA = 10 * 1024 * 1024;
/** Internal date of delivered messages unless a test says otherwise. */
export const DELIVERY_DATE = Date.UTC(2026, 0, 2, 3, 4, 5);

export const OPTIONS: ImapOptions = {
  hostname: "mail.x.test",
  listener: "imap",
  starttls: true,
  allowInsecureAuth: true,
  idleTimeoutMs: 30 * 60_000,
  idleMaxMs: 29 * 60_000,
  authFailureDelayMs: 1000,
  maxLineLength: 8192,
  maxLiteralSize: 64 * 1024,
  maxMessageSize: 1024 * 1024,
};

export interface DeliverOptions {
  flags?: string[];
  internalDate?: number;
  /** Header lines delivery adds before the blob (Return-Path, Delivered-To); none by default. */
  prefix?: string;
}

export interface ImapEnv {
  dir: string;
  store: Store;
  /** The mailstore every writer in the server uses: writes wake watching sessions. */
  mailstore: Mailstore & ImapMailstore;
  events: MailboxEvents;
  /** The real backend (wrapped only to count calls in flight, see `settle`). */
  backend: ImapBackend;
  authenticator: Authenticator;
  account: Account;
  /** Backend calls not finished yet. */
  readonly inflight: number;
  /** A session over an in-memory transport, with its own FakeClock. */
  connect(over?: Partial<ImapOptions>, tls?: boolean): Transcript;
  /** Add another account of the domain (scrypt hash of `password`). */
  addAccount(address: string, password: string): Promise<Account>;
  /**
   * Local delivery into a mailbox, as the delivery stage does it (Mailstore.deliver); returns
   * the UID. Strings are octets (latin1), as for `send`.
   */
  deliver(mailbox: string, raw: string | Buffer, opts?: DeliverOptions, account?: Account): Promise<number>;
  /** IMAP-style append through the mailstore (another client's APPEND). */
  append(mailbox: string, raw: string | Buffer, flags?: string[], internalDate?: number): Promise<number>;
  /** Flag change by another writer (another session, another node). */
  storeFlags(mailbox: string, uids: number[], op: FlagOperation, flags: string[]): Promise<void>;
  /** Expunge by another writer. */
  expunge(mailbox: string, uids: number[]): Promise<number[]>;
  /** The stored mailbox, or null. */
  mailbox(name: string, account?: Account): Promise<Mailbox | null>;
  /** Stored messages of a mailbox in UID order ([] when the mailbox does not exist). */
  messages(name: string, account?: Account): Promise<MailMessage[]>;
  /** Stored flags of one message, or undefined when it is not there. */
  flags(name: string, uid: number): Promise<string[] | undefined>;
  close(): Promise<void>;
}

export interface Transcript {
  s: ImapSession;
  clock: FakeClock;
  env: ImapEnv;
  readonly closed: boolean;
  /** Everything written since the last take. */
  take(): string;
  /** Wait until the session has nothing more to do without input or clock. */
  settle(): Promise<void>;
  /** Feed octets (latin1 for strings) and return what the server wrote once it is quiet. */
  send(text: string | Buffer): Promise<string>;
  /** LOGIN as the test user; throws unless OK. */
  login(user?: string, password?: string): Promise<void>;
}

/** A backend that counts its pending calls, so that tests know when the session is quiet. */
function counting(inner: ImapBackend, counter: { n: number }): ImapBackend {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (r instanceof Promise) {
          counter.n++;
          return r.finally(() => counter.n--);
        }
        return r;
      };
    },
  });
}

const immediate = () => new Promise<void>((r) => setImmediate(r));

/** Open a fresh store with one account (USER / PASSWORD); closed and removed after the test. */
export async function imapEnv(t?: TestContext): Promise<ImapEnv> {
  const dir = mkdtempSync(join(tmpdir(), "petrel-imap-"));
  const store = openSqliteStore(dir);
  const events = new MailboxEvents(store.mailstore, null);
  const mailstore = notifyingMailstore(store.mailstore, events);
  const authenticator = new Authenticator(store.directory, store.authFailures, {}, new FakeClock(), nullLogger);
  await store.directory.addDomain(DOMAIN);
  const account = await store.directory.addAccount({ address: USER, passwordHash: await hashPassword(PASSWORD, TEST_SCRYPT), quota: QUOTA });
  const counter = { n: 0 };
  const backend = counting(
    createImapBackend({
      directory: store.directory,
      mailstore,
      events,
      // As app/petrel.ts wires it.
      checkPassword: async (user, password, remoteIp) => {
        const a = await authenticator.password({ user, password, remoteIp, protocol: "imap" });
        return a ? { accountId: a.id, address: a.address } : null;
      },
    }),
    counter,
  );

  const box = async (name: string, acc: Account = account): Promise<Mailbox> => {
    const b = await store.mailstore.getMailbox(acc.id, name);
    if (!b) throw new Error(`no mailbox ${name}`);
    return b;
  };

  let closed = false;
  const env: ImapEnv = {
    dir,
    store,
    mailstore,
    events,
    backend,
    authenticator,
    account,
    get inflight() {
      return counter.n;
    },
    connect: (over = {}, tls = false) => transcript(env, counter, over, tls),
    async addAccount(address, password) {
      return store.directory.addAccount({ address, passwordHash: await hashPassword(password, TEST_SCRYPT), quota: QUOTA });
    },
    async deliver(mailbox, raw, opts = {}, acc = account) {
      const data = typeof raw === "string" ? Buffer.from(raw, "latin1") : raw;
      const blob = { id: createHash("sha256").update(data).digest("hex"), data, size: data.length, parsed: parseMessage(data) };
      const [results] = await mailstore.deliver([
        {
          queueId: randomBytes(8).toString("hex"),
          rcptIdx: 0,
          internalDate: opts.internalDate ?? DELIVERY_DATE,
          blob,
          flags: opts.flags ?? [],
          items: [{ accountId: acc.id, mailbox, prefix: Buffer.from(opts.prefix ?? "", "latin1") }],
        },
      ]);
      const r = results![0]!;
      if (r.status !== "delivered" || r.uid === null) throw new Error(`delivery failed: ${r.status}`);
      return r.uid;
    },
    async append(mailbox, raw, flags = [], internalDate = DELIVERY_DATE) {
      const data = typeof raw === "string" ? Buffer.from(raw, "latin1") : raw;
      const blob = { id: createHash("sha256").update(data).digest("hex"), data, size: data.length, parsed: parseMessage(data) };
      return (await mailstore.append({ accountId: account.id, mailbox, internalDate, flags, blob })).uid;
    },
    async storeFlags(mailbox, uids, op, flags) {
      await mailstore.storeFlags({ mailboxId: (await box(mailbox)).id, uids, op, flags });
    },
    async expunge(mailbox, uids) {
      return mailstore.expunge((await box(mailbox)).id, uids);
    },
    mailbox: (name, acc = account) => store.mailstore.getMailbox(acc.id, name),
    async messages(name, acc = account) {
      const b = await store.mailstore.getMailbox(acc.id, name);
      return b ? store.mailstore.listMessages(b.id) : [];
    },
    async flags(name, uid) {
      return (await env.messages(name)).find((m) => m.uid === uid)?.flags;
    },
    async close() {
      if (closed) return;
      closed = true;
      events.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  t?.after(() => env.close());
  return env;
}

function transcript(env: ImapEnv, counter: { n: number }, over: Partial<ImapOptions>, tls: boolean): Transcript {
  const clock = new FakeClock();
  let out = "";
  let closed = false;
  const tlsInfo = { version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256" };
  const transport: ImapTransport = {
    remoteAddress: "192.0.2.1",
    remotePort: 1234,
    tls: tls ? tlsInfo : undefined,
    write: (d) => ((out += (typeof d === "string" ? Buffer.from(d, "utf8") : d).toString("latin1")), true),
    waitDrain: async () => undefined,
    startTls: async () => tlsInfo,
    pause: () => undefined,
    resume: () => undefined,
    close: () => void (closed = true),
  };
  const s = new ImapSession({ ...OPTIONS, ...over }, env.backend, transport, nullLogger, clock);
  const settle = async () => {
    // Quiet = no backend call pending (SQLite answers in microtasks, scrypt in the thread pool)
    // for 30 turns of the event loop in a row (MailboxEvents wakes sessions with setImmediate).
    const deadline = Date.now() + 20_000;
    for (let quiet = 0; quiet < 30; ) {
      await immediate();
      if (counter.n > 0) {
        quiet = 0;
        if (Date.now() > deadline) throw new Error("the IMAP backend did not answer within 20 s");
      } else quiet++;
    }
  };
  const take = () => {
    const o = out;
    out = "";
    return o;
  };
  const send = async (text: string | Buffer): Promise<string> => {
    s.receive(typeof text === "string" ? Buffer.from(text, "latin1") : text);
    await settle();
    return take();
  };
  return {
    s,
    clock,
    env,
    get closed() {
      return closed;
    },
    take,
    settle,
    send,
    async login(user = USER, password = PASSWORD) {
      take();
      const r = await send(`L1 LOGIN ${user} ${password}\r\n`);
      if (!/^L1 OK /m.test(r)) throw new Error(`login failed: ${r}`);
    },
  };
}
