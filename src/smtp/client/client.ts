/**
 * Our SMTP client (RFC 5321 as the sender; RFC 3207 STARTTLS, RFC 2920 PIPELINING, RFC 1870
 * SIZE, RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN, RFC 4954 AUTH). Sans-I/O: it talks
 * through a ClientIo, so the socket, DNS and MX logic live in delivery/remote.
 *
 * One client is one connection; it may carry several transactions (RSET between them).
 * Connection-level failures throw ClientError (the caller tries the next host); each
 * transaction's outcome is per recipient, with the server's reply text kept verbatim.
 */
import { ClientError, type ClientIo, type ClientTlsInfo } from "./io.js";
import { replyString, type ServerReply } from "./reply-reader.js";
import { parseCapabilities, type Capabilities } from "./capabilities.js";
import { dotStuff } from "./dot-stuff.js";
import { asciiAddress, hasEightBit, headerEnd, isAscii, orcptParam } from "./message.js";
import { encodeXtext } from "../parse/xtext.js";

/** RFC 5321 4.5.3.2: the client's minimum waits, in milliseconds. */
export interface ClientTimeouts {
  greeting: number;
  /** MAIL, and every command without its own timeout (EHLO, STARTTLS, AUTH, RSET, QUIT). */
  mail: number;
  rcpt: number;
  dataInit: number;
  /** Each block of data written. */
  dataBlock: number;
  /** The reply to the final ".". */
  dataFinal: number;
}

export const RFC_CLIENT_TIMEOUTS: ClientTimeouts = {
  greeting: 5 * 60_000,
  mail: 5 * 60_000,
  rcpt: 5 * 60_000,
  dataInit: 2 * 60_000,
  dataBlock: 3 * 60_000,
  dataFinal: 10 * 60_000,
};

export interface ClientOptions {
  /** Our name in EHLO/HELO. */
  hostname: string;
  /** STARTTLS: when offered (opportunistic), always (require: no STARTTLS is a failure), never. */
  starttls: "opportunistic" | "require" | "none";
  /** Only a verified certificate will do (else the connection fails). */
  verify?: boolean;
  /**
   * AUTH PLAIN or LOGIN (smart hosts). `mechanism` forces one (`petrel send --auth-method`);
   * without it PLAIN is preferred when offered.
   */
  auth?: { user: string; password: string; mechanism?: "PLAIN" | "LOGIN" } | null;
  timeouts: ClientTimeouts;
}

export interface OutgoingRecipient {
  address: string;
  /** RFC 3461 NOTIFY values. */
  notify?: readonly string[];
  orcpt?: { type: string; address: string };
}

export interface OutgoingMessage {
  /** Envelope sender; "" for the null reverse-path. */
  sender: string;
  recipients: readonly OutgoingRecipient[];
  /** The message as stored (CRLF line endings). */
  body: Buffer;
  /** The message arrived with SMTPUTF8 (its header fields may be UTF-8). */
  smtputf8?: boolean;
  ret?: "FULL" | "HDRS";
  envid?: string;
  /** RFC 8689: only over verified TLS to a server that announced REQUIRETLS, which is passed on. */
  requireTls?: boolean;
}

export type RecipientStatus = "delivered" | "failed" | "retry";

export interface RecipientResult {
  address: string;
  status: RecipientStatus;
  /** The server's reply ("250 2.0.0 Ok: queued as X"), or ours for a local refusal. */
  reply: string;
  /** The reply came from the server (not made up here because of a missing extension). */
  fromServer?: boolean;
  /** Delivered to a server with DSN, NOTIFY/ORCPT passed on (RFC 3461 5.2.1: it reports success). */
  dsnPassedOn?: boolean;
}

/** Chunks of the data written at once (each with the data-block timeout). */
const DATA_CHUNK = 64 * 1024;

export function statusOf(r: ServerReply): RecipientStatus {
  return r.code >= 200 && r.code < 300 ? "delivered" : r.code >= 500 ? "failed" : "retry";
}

export class SmtpClient {
  private transactions = 0;
  private broken = false;

  private constructor(
    private readonly io: ClientIo,
    private readonly opts: ClientOptions,
    /** The server's greeting. */
    readonly greeting: ServerReply,
    public caps: Capabilities,
    public tls: ClientTlsInfo | undefined,
    public authenticated: boolean,
  ) {}

  /** Greeting, EHLO (HELO fallback), STARTTLS, EHLO again, AUTH. Throws ClientError. */
  static async open(io: ClientIo, opts: ClientOptions): Promise<SmtpClient> {
    const t = opts.timeouts;
    try {
      const greeting = await step(io.readReply(t.greeting), "greeting");
      if (greeting.code !== 220) {
        await quietQuit(io, t.mail);
        throw new ClientError("reply", `greeting: ${replyString(greeting)}`, greeting);
      }
      let tls = io.tls;
      let caps = await hello(io, opts);
      if (!tls && opts.starttls !== "none") {
        if (caps.has("STARTTLS")) {
          await io.write("STARTTLS\r\n", t.mail);
          const r = await step(io.readReply(t.mail), "STARTTLS");
          if (r.code === 220) {
            tls = await io.startTls(t.greeting).catch((e: unknown) => {
              throw e instanceof ClientError ? e : new ClientError("tls", `TLS handshake failed: ${(e as Error).message}`, undefined, { cause: e });
            });
            // RFC 3207 4.2: forget everything learnt before TLS and say EHLO again.
            caps = await hello(io, opts);
          } else if (opts.starttls === "require") {
            throw new ClientError("tls", `STARTTLS refused: ${replyString(r)}`, r);
          }
        } else if (opts.starttls === "require") {
          await quietQuit(io, t.mail);
          throw new ClientError("tls", "TLS is required for this destination and the server does not offer STARTTLS");
        }
      }
      if (tls && opts.verify && !tls.verified) {
        await quietQuit(io, t.mail);
        throw new ClientError("tls", `the server's certificate is not valid: ${tls.verifyError ?? "unverified"}`);
      }
      let authenticated = false;
      if (opts.auth) {
        if (!tls && opts.starttls !== "none") throw new ClientError("tls", "will not send credentials without TLS (the server did not offer STARTTLS)");
        await authenticate(io, opts.auth, caps, t.mail);
        authenticated = true;
      }
      return new SmtpClient(io, opts, greeting, caps, tls, authenticated);
    } catch (e) {
      io.close();
      throw e;
    }
  }

  /** False once a failure left the connection in an unknown state. */
  get usable(): boolean {
    return !this.broken;
  }

  /**
   * One transaction. Results come back in the order of msg.recipients. Throws ClientError when
   * the connection fails before the outcome is known (then every recipient is still to do).
   */
  async send(msg: OutgoingMessage): Promise<RecipientResult[]> {
    try {
      return await this.transaction(msg);
    } catch (e) {
      this.broken = true;
      this.io.close();
      throw e;
    }
  }

  private async transaction(msg: OutgoingMessage): Promise<RecipientResult[]> {
    const { caps, io } = this;
    const t = this.opts.timeouts;
    const results: (RecipientResult | undefined)[] = msg.recipients.map(() => undefined);
    const failAll = (reply: string, status: RecipientStatus = "failed", fromServer = false) => msg.recipients.map((r, i) => results[i] ?? { address: r.address, status, reply, fromServer });

    // A new transaction on a reused connection starts from a clean state: RSET first. With
    // PIPELINING it goes in the same group as MAIL, RCPT and DATA (RFC 2920 3.1 allows RSET
    // anywhere in a group), which saves a round trip per message.
    const rset = this.transactions++ > 0;
    const rsetRead = async (): Promise<void> => {
      const r = await step(io.readReply(t.mail), "RSET");
      if (r.code !== 250) throw new ClientError("reply", `RSET: ${replyString(r)}`, r);
    };
    if (rset && !caps.has("PIPELINING")) {
      try {
        await io.write("RSET\r\n", t.mail);
        await rsetRead();
      } catch (e) {
        if (e instanceof ClientError) e.stale = true;
        throw e;
      }
    }

    // RFC 6531 3.2: without SMTPUTF8 at the server, a message that needs it cannot go there.
    const eightBit = hasEightBit(msg.body);
    const hasUtf8 = caps.has("SMTPUTF8");
    // Without SMTPUTF8, an IDN domain still goes as A-labels; only a UTF-8 local part needs it.
    const sender = hasUtf8 ? msg.sender : (asciiAddress(msg.sender) ?? msg.sender);
    const utf8Message = !isAscii(sender) || (msg.smtputf8 === true && hasEightBit(msg.body, headerEnd(msg.body)));
    if (utf8Message && !hasUtf8) return failAll("553 5.6.7 The message needs SMTPUTF8 and the receiving server does not support it");
    const wireAddress = msg.recipients.map((r) => (hasUtf8 ? r.address : asciiAddress(r.address)));
    msg.recipients.forEach((r, i) => {
      if (wireAddress[i] === null) results[i] = { address: r.address, status: "failed", reply: `553 5.6.7 <${r.address}>: a non-ASCII address needs SMTPUTF8 and the receiving server does not support it` };
    });
    const utf8 = hasUtf8 && (utf8Message || msg.recipients.some((r, i) => !results[i] && !isAscii(r.address)));
    // RFC 6152: 8-bit content only to a server that announced 8BITMIME (SMTPUTF8 implies it);
    // converting it is not our business, corrupting it is not allowed.
    if (eightBit && !caps.has("8BITMIME") && !utf8) return failAll("554 5.6.3 The message has 8-bit content and the receiving server does not support 8BITMIME");
    if (caps.maxSize && msg.body.length > caps.maxSize) return failAll(`552 5.3.4 The message (${msg.body.length} octets) is larger than the receiving server accepts (${caps.maxSize})`);

    // RFC 8689 4.2.1 (the transport chose the server; this re-checks before anything is sent).
    if (msg.requireTls && !(this.tls?.verified && caps.has("REQUIRETLS"))) return failAll(`550 5.7.10 REQUIRETLS: the receiving server ${this.tls?.verified ? "does not support REQUIRETLS" : "has no verified TLS"}`);

    const todo = msg.recipients.map((r, i) => ({ r, i })).filter(({ i }) => !results[i]);
    if (todo.length === 0) {
      this.transactions--; // nothing was said: the next transaction needs no RSET
      return failAll("554 5.0.0 no recipient");
    }

    const dsn = caps.has("DSN");
    let mail = `MAIL FROM:<${sender}>`;
    if (caps.maxSize !== null) mail += ` SIZE=${msg.body.length}`;
    if (eightBit && caps.has("8BITMIME")) mail += " BODY=8BITMIME";
    if (utf8) mail += " SMTPUTF8";
    if (dsn && msg.ret) mail += ` RET=${msg.ret}`;
    if (dsn && msg.envid) mail += ` ENVID=${encodeXtext(msg.envid)}`;
    if (msg.requireTls) mail += " REQUIRETLS";
    const rcptLines = todo.map(({ r, i }) => {
      let line = `RCPT TO:<${wireAddress[i]}>`;
      if (dsn && r.notify?.length) line += ` NOTIFY=${r.notify.join(",")}`;
      if (dsn && r.orcpt) line += ` ORCPT=${orcptParam(r.orcpt.type, r.orcpt.address, utf8)}`;
      return line;
    });

    const accepted: number[] = [];
    let dataReply: ServerReply | undefined;
    if (caps.has("PIPELINING")) {
      // RFC 2920 3.1: MAIL, the RCPTs and DATA in one group; replies come back in order.
      const group = [...(rset ? ["RSET"] : []), mail, ...rcptLines, "DATA"].map((l) => l + "\r\n").join("");
      if (rset) {
        // Until the RSET reply is in, a failure means a stale connection: nothing of this
        // message was taken (its body is sent only after the 354), so a new connection will do.
        try {
          await io.write(group, t.mail);
          await rsetRead();
        } catch (e) {
          if (e instanceof ClientError) e.stale = true;
          throw e;
        }
      } else await io.write(group, t.mail);
      const mailReply = await step(io.readReply(t.mail), "MAIL FROM");
      const rcptReplies: ServerReply[] = [];
      for (let k = 0; k < todo.length; k++) rcptReplies.push(await step(io.readReply(t.rcpt), "RCPT TO"));
      dataReply = await step(io.readReply(t.dataInit), "DATA");
      if (mailReply.code !== 250) {
        if (dataReply.code === 354) await this.abortData();
        return failAll(replyString(mailReply), statusOf(mailReply), true);
      }
      todo.forEach(({ r, i }, k) => this.rcptOutcome(rcptReplies[k]!, r.address, i, results, accepted));
      if (dataReply.code === 354 && accepted.length === 0) {
        // RFC 2920 3.1: the server took DATA though no recipient was accepted: end it empty.
        await this.abortData();
        return failAll("554 5.5.0 no recipients");
      }
    } else {
      await io.write(mail + "\r\n", t.mail);
      const mailReply = await step(io.readReply(t.mail), "MAIL FROM");
      if (mailReply.code !== 250) return failAll(replyString(mailReply), statusOf(mailReply), true);
      for (let k = 0; k < todo.length; k++) {
        await io.write(rcptLines[k] + "\r\n", t.mail);
        this.rcptOutcome(await step(io.readReply(t.rcpt), "RCPT TO"), todo[k]!.r.address, todo[k]!.i, results, accepted);
      }
      if (accepted.length === 0) return failAll("554 5.5.0 no recipients");
      await io.write("DATA\r\n", t.mail);
      dataReply = await step(io.readReply(t.dataInit), "DATA");
    }
    if (accepted.length === 0) return failAll("554 5.5.0 no recipients");
    if (dataReply.code !== 354) {
      for (const i of accepted) results[i] = { address: msg.recipients[i]!.address, status: statusOf(dataReply), reply: replyString(dataReply), fromServer: true };
      return failAll(replyString(dataReply), statusOf(dataReply));
    }
    const wire = dotStuff(msg.body);
    for (let off = 0; off < wire.length; off += DATA_CHUNK) await io.write(wire.subarray(off, off + DATA_CHUNK), t.dataBlock);
    const final = await step(io.readReply(t.dataFinal), "end of data");
    for (const i of accepted) results[i] = { address: msg.recipients[i]!.address, status: statusOf(final), reply: replyString(final), fromServer: true, ...(final.code < 300 ? { dsnPassedOn: dsn } : {}) };
    return failAll(replyString(final), statusOf(final));
  }

  private rcptOutcome(r: ServerReply, address: string, i: number, results: (RecipientResult | undefined)[], accepted: number[]): void {
    if (r.code >= 200 && r.code < 300) accepted.push(i);
    else results[i] = { address, status: statusOf(r), reply: replyString(r), fromServer: true };
  }

  /** After 354 with nothing to send: an empty message, whose reply is of no interest. */
  private async abortData(): Promise<void> {
    await this.io.write(".\r\n", this.opts.timeouts.dataBlock);
    await step(this.io.readReply(this.opts.timeouts.dataFinal), "end of data");
  }

  /** Drop the connection at once (shutdown): whatever was in progress fails with ClientError. */
  abort(): void {
    this.broken = true;
    this.io.close();
  }

  /** QUIT and close; errors are of no interest any more. */
  async quit(): Promise<void> {
    if (!this.broken) await quietQuit(this.io, Math.min(this.opts.timeouts.mail, 10_000));
    this.broken = true;
    this.io.close();
  }
}

async function hello(io: ClientIo, opts: ClientOptions): Promise<Capabilities> {
  const t = opts.timeouts.mail;
  await io.write(`EHLO ${opts.hostname}\r\n`, t);
  const r = await step(io.readReply(t), "EHLO");
  if (r.code === 250) return parseCapabilities(r);
  if (r.code >= 500) {
    // RFC 5321 3.2: a server that does not know EHLO gets HELO.
    await io.write(`HELO ${opts.hostname}\r\n`, t);
    const h = await step(io.readReply(t), "HELO");
    if (h.code === 250) return parseCapabilities(null);
    throw new ClientError("reply", `HELO: ${replyString(h)}`, h);
  }
  throw new ClientError("reply", `EHLO: ${replyString(r)}`, r);
}

async function authenticate(io: ClientIo, cred: { user: string; password: string; mechanism?: "PLAIN" | "LOGIN" }, caps: Capabilities, t: number): Promise<void> {
  const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
  let r: ServerReply;
  if (cred.mechanism && !caps.auth.has(cred.mechanism)) {
    throw new ClientError("auth", `the server does not offer AUTH ${cred.mechanism}${caps.auth.size ? ` (it offers ${[...caps.auth].join(" ")})` : ""}`);
  }
  if (caps.auth.has("PLAIN") && cred.mechanism !== "LOGIN") {
    // RFC 4616: authzid NUL authcid NUL passwd, as the initial response (RFC 4954 4).
    await io.write(`AUTH PLAIN ${b64(`\0${cred.user}\0${cred.password}`)}\r\n`, t);
    r = await step(io.readReply(t), "AUTH PLAIN");
    if (r.code === 334) {
      await io.write("*\r\n", t);
      r = await step(io.readReply(t), "AUTH PLAIN");
    }
  } else if (caps.auth.has("LOGIN")) {
    await io.write("AUTH LOGIN\r\n", t);
    r = await step(io.readReply(t), "AUTH LOGIN");
    if (r.code === 334) {
      await io.write(b64(cred.user) + "\r\n", t);
      r = await step(io.readReply(t), "AUTH LOGIN");
    }
    if (r.code === 334) {
      await io.write(b64(cred.password) + "\r\n", t);
      r = await step(io.readReply(t), "AUTH LOGIN");
    }
  } else {
    throw new ClientError("auth", caps.auth.size ? `no AUTH mechanism in common (server offers ${[...caps.auth].join(" ")})` : "the server does not offer AUTH");
  }
  if (r.code !== 235) throw new ClientError("auth", `authentication failed: ${replyString(r)}`, r);
}

async function quietQuit(io: ClientIo, t: number): Promise<void> {
  try {
    await io.write("QUIT\r\n", t);
    await io.readReply(t);
  } catch {
    /* the connection is going anyway */
  }
}

/** Name the step in a timeout or a lost connection. */
async function step<T>(p: Promise<T>, what: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ClientError && (e.kind === "timeout" || e.kind === "closed")) throw new ClientError(e.kind, `${e.message} (waiting for the reply to ${what})`, undefined, { cause: e });
    throw e;
  }
}
