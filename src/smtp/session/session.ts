/**
 * One SMTP server session (RFC 5321): a state machine fed with bytes by the transport. It owns
 * framing (command lines, DATA, BDAT), limits and timeouts, and turns every outcome into a
 * reply from the catalogue. Commands live in commands/, one file per family.
 *
 * Replies are buffered and written when no complete input is left to process, which gives
 * RFC 2920 pipelining for free; the socket is paused while input waits (backpressure).
 */
import { randomBytes } from "node:crypto";
import type { Clock, Timer } from "../../core/clock.js";
import type { Logger } from "../../core/logger.js";
import { formatReply, replyText, type Reply } from "../../core/reply.js";
import type { MailFrom, RcptTo, SessionFacts } from "../../core/envelope.js";
import type { MessageSink, SessionView, SmtpHandler, TlsInfo, TransactionView } from "../handler.js";
import { R } from "../replies.js";
import { InputBuffer, TOO_LONG } from "../wire/input-buffer.js";
import { DataDecoder } from "../wire/data-decoder.js";
import { parseCommandLine } from "../parse/command.js";
import { protocolKeyword, receivedHeader } from "../received.js";
import type { SessionOptions } from "./options.js";
import { MAX_AUTH_LINE } from "./options.js";
import type { SessionTransport } from "./transport.js";
import { COMMANDS } from "./commands/table.js";

/** Stop reading the socket when this much input waits unprocessed. */
const INPUT_HIGH_WATER = 64 * 1024;

export interface Transaction {
  from: MailFrom;
  rcpts: RcptTo[];
  sink?: MessageSink;
  decoder?: DataDecoder;
  /** Which command carries the content, once it started. */
  via?: "DATA" | "BDAT";
  /** BDAT: the transaction failed; chunks are still read, then refused with this reply. */
  failReply?: Reply;
}

type Mode = "command" | "data" | "bdat" | "tls" | "closed";

export interface SessionStats {
  commands: number;
  errors: number;
  junk: number;
  transactions: number;
  accepted: number;
  rejected: number;
}

export class SmtpSession {
  readonly id: string;
  readonly startedAt: number;
  helo?: string;
  esmtp = false;
  tls?: TlsInfo;
  authUser?: string;
  txn?: Transaction;
  readonly stats: SessionStats = { commands: 0, errors: 0, junk: 0, transactions: 0, accepted: 0, rejected: 0 };
  /** Lines of an AUTH exchange in progress are read with a larger limit. */
  saslPending = false;

  private readonly input = new InputBuffer();
  private mode: Mode = "command";
  private out = "";
  private pumping = false;
  private paused = false;
  private timer?: Timer;
  /** Bounds the whole of one message's content, however slowly it trickles in. */
  private dataDeadline?: Timer;
  /** A commit is running: shutdown waits for its reply rather than cutting it off. */
  private committing = false;
  private bdatRemaining = 0;
  private bdatLast = false;
  private shuttingDown = false;
  private closeAfterFlush = false;
  private readonly started: Promise<void>;
  /** Resolves when the session has ended; used by graceful shutdown. */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    readonly opts: SessionOptions,
    readonly handler: SmtpHandler,
    private readonly transport: SessionTransport,
    readonly log: Logger,
    readonly clock: Clock,
  ) {
    this.id = randomBytes(6).toString("hex");
    this.startedAt = clock.now();
    this.tls = transport.tls;
    this.log = log.child({ session: this.id });
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.log.info(
      { event: "connect", listener: opts.listener, remote: transport.remoteAddress, remotePort: transport.remotePort, local: `${transport.localAddress}:${transport.localPort}`, tls: this.tls ? `${this.tls.version} ${this.tls.cipher}` : undefined },
      "connection",
    );
    this.started = this.greet();
  }

  get view(): SessionView {
    return { id: this.id, listener: this.opts.listener, remoteAddress: this.transport.remoteAddress, remotePort: this.transport.remotePort, helo: this.helo, tls: this.tls, authUser: this.authUser };
  }

  get txnView(): TransactionView | undefined {
    return this.txn ? { from: this.txn.from, rcpts: this.txn.rcpts } : undefined;
  }

  get isClosed(): boolean {
    return this.mode === "closed";
  }

  /** True while message content is being received: graceful shutdown lets it finish. */
  get inData(): boolean {
    return this.mode === "data" || this.mode === "bdat" || this.txn?.sink !== undefined || this.committing;
  }

  private async greet(): Promise<void> {
    let r: Reply | undefined;
    try {
      r = await this.handler.connect?.(this.view);
    } catch (err) {
      this.log.error({ err }, "connect hook failed");
      r = R.localError();
    }
    if (r && r.code >= 400) {
      this.log.info({ event: "rejected", stage: "connect", reply: replyText(r) }, "connection refused");
      this.send(r);
      this.closeAfterFlush = true;
      this.flush();
      return;
    }
    this.send(r ?? R.greeting(this.opts.hostname));
    this.flush();
    this.armTimer();
  }

  // ---- input -------------------------------------------------------------------------

  /** Bytes from the transport. */
  receive(chunk: Buffer): void {
    if (this.mode === "closed" || this.mode === "tls") return;
    this.input.push(chunk);
    if (this.mode === "data" || this.mode === "bdat") this.armTimer(this.opts.dataTimeoutMs);
    if (this.input.length > INPUT_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.transport.pause();
    }
    void this.pump();
  }

  /** The peer closed the connection or the socket failed. */
  remoteClosed(reason?: string): void {
    if (this.mode === "closed") return;
    if (reason) this.log.info({ event: "socket", reason }, "connection error");
    void this.end("peer closed");
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      await this.started;
      for (;;) {
        if (this.mode === "closed" || this.mode === "tls" || this.closeAfterFlush) break;
        // Shutting down: no new command is started once the current message is done.
        if (this.shuttingDown && this.mode === "command" && !this.inData) break;
        let progressed: boolean;
        if (this.mode === "command") progressed = await this.processCommand();
        else if (this.mode === "data") progressed = await this.processData();
        else progressed = await this.processBdat();
        if (!progressed) break;
        // A client that pipelines without reading our replies must not grow our output forever.
        if (this.out.length > 16384 && !this.flush()) await this.transport.waitDrain();
      }
    } catch (err) {
      this.log.error({ err }, "session failed");
      this.send(R.localError());
      this.closeAfterFlush = true;
    } finally {
      this.pumping = false;
    }
    this.flush();
    if (this.mode === "command" && !this.closeAfterFlush) {
      this.armTimer();
      if (this.shuttingDown && !this.inData) this.shutdownNow();
    }
    if (this.paused && this.input.length < INPUT_HIGH_WATER / 2 && this.mode !== "closed") {
      this.paused = false;
      this.transport.resume();
    }
  }

  private async processCommand(): Promise<boolean> {
    const looksLikeAuth = this.saslPending || /^auth /i.test(this.peek(5));
    const line = this.input.takeLine(looksLikeAuth ? MAX_AUTH_LINE : this.opts.maxCommandLine);
    if (line === null) return false;
    this.cancelTimer();
    this.stats.commands++;
    if (line === TOO_LONG) {
      this.error(this.saslPending ? R.authCancelled() : R.lineTooLong());
      this.saslPending = false;
      return true;
    }
    if (this.saslPending) {
      // A SASL response line goes to the exchange waiting for it.
      await this.saslLine?.(line.toString("latin1"));
      return true;
    }
    const parsed = parseCommandLine(line);
    if (!parsed.ok) {
      this.error(parsed.reason === "empty" ? R.unrecognized() : R.badCharacters());
      return true;
    }
    const { verb, arg } = parsed.cmd;
    const spec = COMMANDS.get(verb);
    if (!spec) {
      // A web browser or proxy speaking to the SMTP port: hang up (Postfix does the same).
      if (/^(GET|POST|HEAD|PUT|CONNECT|OPTIONS)$/.test(verb) || /^[A-Z-]+:$/.test(verb)) {
        this.log.info({ event: "rejected", stage: "command", verb }, "HTTP request on SMTP port");
        this.send(R.httpProbe(this.opts.hostname));
        this.closeAfterFlush = true;
        return true;
      }
      this.log.debug({ verb }, "unknown command");
      this.error(R.unrecognized());
      return true;
    }
    if (spec.junk && ++this.stats.junk > this.opts.maxJunkCommands) {
      this.send(R.tooManyCommands(this.opts.hostname));
      this.closeAfterFlush = true;
      return true;
    }
    if (spec.needsHelo && !this.helo) {
      this.error(R.needHelo());
      return true;
    }
    try {
      await spec.run(this, arg);
    } catch (err) {
      // A hook that throws (policy, directory) is a temporary failure for this command only:
      // the client gets 451 4.3.0 and may go on or retry; the detail goes to the log.
      this.log.error({ err, verb }, "command failed");
      this.error(R.localError());
    }
    return true;
  }

  /** Handler of the next SASL response line, set by the AUTH command while it waits. */
  saslLine?: (line: string) => Promise<void>;

  /** The first n buffered octets (fewer when fewer are here), left in the buffer. */
  private peek(n: number): string {
    // shift() returns at most one received chunk: gather until n octets, then put them back.
    const parts: Buffer[] = [];
    for (let got = 0; got < n; ) {
      const b = this.input.shift(n - got);
      if (!b) break;
      parts.push(b);
      got += b.length;
    }
    for (let i = parts.length - 1; i >= 0; i--) this.input.unshift(parts[i]!);
    return Buffer.concat(parts).toString("latin1");
  }

  // ---- message content ---------------------------------------------------------------

  /** Enter DATA mode: the sink is open and 354 has been queued. */
  beginData(): void {
    this.mode = "data";
    this.armTimer(this.opts.dataTimeoutMs);
    this.startDataDeadline();
  }

  /** Enter BDAT mode for one chunk of `size` octets. */
  beginBdat(size: number, last: boolean): void {
    this.bdatRemaining = size;
    this.bdatLast = last;
    this.mode = "bdat";
    this.armTimer(this.opts.dataTimeoutMs);
    this.startDataDeadline();
  }

  private startDataDeadline(): void {
    if (this.dataDeadline) return;
    this.dataDeadline = this.clock.setTimer(this.opts.dataMaxTimeMs, () => {
      this.dataDeadline = undefined;
      if (!this.inData || this.committing) return;
      this.timedOut("dataMaxTime");
    });
  }

  private stopDataDeadline(): void {
    this.dataDeadline?.cancel();
    this.dataDeadline = undefined;
  }

  newDecoder(dotStuffed: boolean): DataDecoder {
    return new DataDecoder({ dotStuffed, normalize: this.opts.bareLineEndings === "normalize", maxLineLength: this.opts.maxTextLine, maxSize: this.opts.maxMessageSize });
  }

  /** The Received: header for the open transaction, written first into the sink. */
  receivedFor(txn: Transaction, queueId: string): Buffer {
    return Buffer.from(
      receivedHeader({
        helo: this.helo ?? "",
        esmtp: this.esmtp,
        remoteAddress: this.transport.remoteAddress,
        hostname: this.opts.hostname,
        queueId,
        tls: this.tls,
        authenticated: this.authUser !== undefined,
        smtputf8: txn.from.smtputf8,
        rcpts: txn.rcpts,
        date: new Date(this.clock.now()),
      }),
    );
  }

  private async processData(): Promise<boolean> {
    const chunk = this.input.shift();
    if (!chunk) return false;
    const txn = this.txn!;
    const { parts, end } = txn.decoder!.push(chunk);
    if (parts.length && txn.sink && !txn.decoder!.tooBig) await txn.sink.write(parts);
    if (end < 0) return true;
    this.input.unshift(chunk.subarray(end));
    this.cancelTimer();
    this.mode = "command";
    await this.finishMessage();
    return true;
  }

  private async processBdat(): Promise<boolean> {
    if (this.bdatRemaining > 0) {
      const chunk = this.input.shift(this.bdatRemaining);
      if (!chunk) return false;
      this.bdatRemaining -= chunk.length;
      const txn = this.txn;
      if (txn?.decoder && !txn.failReply) {
        const { parts } = txn.decoder.push(chunk);
        if (parts.length && txn.sink && !txn.decoder.tooBig) await txn.sink.write(parts);
      }
      if (this.bdatRemaining > 0) return true;
    }
    this.cancelTimer();
    this.mode = "command";
    const txn = this.txn;
    if (!txn || txn.failReply || !txn.decoder) {
      // Chunk of a transaction that never started or already failed: consumed, then refused.
      this.error(!txn ? R.needMail() : (txn.failReply ?? R.bdatAfterFailure()));
      if (txn) txn.failReply = R.bdatAfterFailure();
      if (this.bdatLast) this.txn = undefined;
      return true;
    }
    if (txn.decoder.tooBig) {
      // RFC 3030 3: the chunk is read, then refused; the transaction has failed.
      await this.failMessage(R.messageTooBig());
      if (this.bdatLast) this.txn = undefined;
      return true;
    }
    if (!this.bdatLast) {
      this.send(R.chunkOk(txn.decoder.size));
      return true;
    }
    const tail = txn.decoder.finish();
    if (tail.length && txn.sink && !txn.decoder.tooBig) await txn.sink.write(tail);
    await this.finishMessage();
    return true;
  }

  /** End of DATA or BDAT LAST: check what the decoder saw, then commit. */
  private async finishMessage(): Promise<void> {
    const txn = this.txn!;
    const d = txn.decoder!;
    if (d.tooBig) return this.failMessage(R.messageTooBig());
    if (d.bareLineEnding && this.opts.bareLineEndings === "reject") return this.failMessage(R.bareLineEndings());
    if (d.lineTooLong) return this.failMessage(R.messageLineTooLong(this.opts.maxTextLine));
    const sink = txn.sink!;
    const facts = this.facts();
    this.stopDataDeadline();
    // The message leaves the session before its commit starts, so that a disconnect or a
    // shutdown while the commit runs cannot abort (and unlink) what is being made durable.
    this.txn = undefined;
    let r: Reply;
    this.committing = true;
    try {
      r = await sink.commit(facts);
    } catch (err) {
      this.log.error({ err, queueId: sink.id }, "commit failed");
      r = R.localError();
      await sink.abort().catch(() => undefined);
    } finally {
      this.committing = false;
    }
    if (r.code < 300) {
      this.stats.accepted++;
      this.log.info({ event: "accepted", queueId: sink.id, size: d.size, from: txn.from.address ? `${txn.from.address.local}@${txn.from.address.domain}` : "", rcpts: txn.rcpts.length, via: txn.via }, "message accepted");
      this.send(r);
    } else {
      this.stats.rejected++;
      this.log.info({ event: "rejected", stage: "data", queueId: sink.id, reply: replyText(r) }, "message rejected");
      this.error(r);
    }
  }

  private async failMessage(r: Reply): Promise<void> {
    const txn = this.txn!;
    this.stopDataDeadline();
    await txn.sink?.abort().catch(() => undefined);
    this.stats.rejected++;
    this.log.info({ event: "rejected", stage: "data", queueId: txn.sink?.id, size: txn.decoder?.size, reply: replyText(r) }, "message rejected");
    if (txn.via === "BDAT") {
      // Keep the transaction marked failed so that further chunks are consumed and refused.
      txn.sink = undefined;
      txn.decoder = undefined;
      txn.failReply = R.bdatAfterFailure();
    } else {
      this.txn = undefined;
    }
    this.error(r);
  }

  facts(): SessionFacts {
    return {
      sessionId: this.id,
      listener: this.opts.listener,
      remoteAddress: this.transport.remoteAddress,
      remotePort: this.transport.remotePort,
      localAddress: this.transport.localAddress,
      localPort: this.transport.localPort,
      helo: this.helo ?? "",
      protocol: protocolKeyword({ esmtp: this.esmtp, tls: this.tls, authenticated: this.authUser !== undefined, smtputf8: this.txn?.from.smtputf8 ?? false }),
      tls: this.tls ? { version: this.tls.version, cipher: this.tls.cipher } : undefined,
      authUser: this.authUser,
    };
  }

  // ---- output and lifecycle ----------------------------------------------------------

  send(r: Reply): void {
    this.out += formatReply(r);
  }

  /** Send an error reply and count it; too many errors end the session. */
  error(r: Reply): void {
    this.send(r);
    if (++this.stats.errors >= this.opts.maxErrors) {
      this.send(R.tooManyErrors(this.opts.hostname));
      this.closeAfterFlush = true;
    }
  }

  /** Ask the session to end after the pending replies (QUIT, fatal errors). */
  closeAfterReplies(): void {
    this.closeAfterFlush = true;
  }

  /** Write buffered replies; returns false when the transport's buffer is full. */
  flush(): boolean {
    let room = true;
    if (this.out.length > 0 && this.mode !== "closed") room = this.transport.write(this.out);
    this.out = "";
    if (this.closeAfterFlush && this.mode !== "closed") void this.end("closed by server");
    return room;
  }

  /** Abandon the open transaction (RSET, new EHLO, STARTTLS, end of session). */
  async resetTransaction(): Promise<void> {
    this.stopDataDeadline();
    const sink = this.txn?.sink;
    this.txn = undefined;
    if (sink) await sink.abort().catch(() => undefined);
  }

  /** STARTTLS: reply written, plaintext discarded, handshake, then a fresh session state. */
  async upgradeTls(): Promise<void> {
    this.send(R.readyTls());
    this.flush();
    // RFC 3207 4.2 / CVE-2011-0411: anything pipelined after STARTTLS is discarded.
    const discarded = this.input.clear();
    if (discarded > 0) this.log.warn({ event: "tls", discarded }, "discarded plaintext pipelined after STARTTLS");
    this.mode = "tls";
    this.cancelTimer();
    try {
      this.tls = await this.transport.startTls();
    } catch (err) {
      this.log.info({ event: "tls", error: (err as Error).message }, "TLS handshake failed");
      await this.end("TLS handshake failed");
      return;
    }
    this.log.info({ event: "tls", version: this.tls.version, cipher: this.tls.cipher, sni: this.tls.servername }, "TLS established");
    // RFC 3207 4.2: forget everything learnt before TLS.
    await this.resetTransaction();
    this.helo = undefined;
    this.esmtp = false;
    this.authUser = undefined;
    this.mode = "command";
    this.input.clear();
    this.armTimer();
  }

  /** Graceful shutdown: idle sessions get 421 now; sessions receiving a message may finish first. */
  shutdown(): void {
    this.shuttingDown = true;
    if (!this.inData && !this.pumping) this.shutdownNow();
  }

  /** Grace period over: 421 and close, unless a commit is running (its reply comes first). */
  shutdownNow(): void {
    if (this.mode === "closed") return;
    if (this.committing) {
      this.shuttingDown = true;
      return;
    }
    this.out += formatReply(R.shuttingDown(this.opts.hostname));
    this.closeAfterFlush = true;
    this.flush();
  }

  private async end(reason: string): Promise<void> {
    if (this.mode === "closed") return;
    this.mode = "closed";
    this.cancelTimer();
    if (this.out) this.transport.write(this.out);
    this.out = "";
    this.transport.close();
    await this.resetTransaction();
    this.log.info({ event: "disconnect", reason, durationMs: this.clock.now() - this.startedAt, ...this.stats }, "disconnect");
    this.resolveClosed();
  }

  private armTimer(ms?: number): void {
    if (this.mode === "closed") return;
    const data = this.mode === "data" || this.mode === "bdat";
    // A command timer runs from when we start waiting for a line until the line is complete:
    // trickling bytes does not extend it. Data timers restart on every chunk.
    if (this.timer && !data) return;
    this.timer?.cancel();
    const limit = ms ?? (data ? this.opts.dataTimeoutMs : this.opts.commandTimeoutMs);
    this.timer = this.clock.setTimer(limit, () => {
      this.timer = undefined;
      this.timedOut(data ? "dataTimeout" : "commandTimeout");
    });
  }

  /** A timer ran out: 421 4.4.2 and close (RFC 5321 4.5.3.2). */
  private timedOut(limit: string): void {
    this.log.info({ event: "timeout", mode: this.mode, limit }, "timeout");
    this.out += formatReply(R.timeout(this.opts.hostname));
    this.closeAfterFlush = true;
    this.flush();
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}
