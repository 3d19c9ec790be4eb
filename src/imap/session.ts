/**
 * One IMAP session (RFC 9051 IMAP4rev2, RFC 3501 IMAP4rev1), fed with bytes by the transport.
 * Sans-I/O like the POP3 engine: the store is reached only through ImapBackend and time only
 * through the Clock. Commands live in commands/, one file per family; the table says in which
 * states each is allowed. Handlers throw (CommandError, ParseError, ImapBackendError); one
 * place, `execute`, turns errors into tagged replies.
 *
 * The session keeps its own view of the selected mailbox: UIDs in sequence order, their flags and
 * mod-sequences. Other sessions' changes arrive through backend.watch -> backend.changes and are
 * reported at the points RFC 9051 7.5.1 allows (expunges never while answering FETCH, STORE or
 * SEARCH).
 */
import { randomBytes } from "node:crypto";
import type { Clock, Timer } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { ImapBackendError, type ImapAccount, type ImapBackend, type ImapMailboxInfo, type ImapMessageMeta, type ImapOptions, type ImapTlsInfo, type ImapTransport } from "./backend.js";
import type { SequenceSet } from "./types.js";
import { CommandReader, TOO_LONG } from "./proto/reader.js";
import { ParseError, Parser } from "./proto/parser.js";
import { encodeValue, atom, type ImapValue } from "./proto/value.js";
import { decodeMutf7, encodeMutf7 } from "./mutf7.js";
import { COMMANDS } from "./commands/table.js";
import { compressUids } from "./commands/sets.js";

export type ImapState = "notauth" | "auth" | "selected" | "logout";
type Mode = "command" | "tls" | "closed";

/** A failure a handler reports: tagged NO or BAD with an optional response code. */
export class CommandError extends Error {
  constructor(
    readonly status: "NO" | "BAD",
    readonly text: string,
    readonly code?: string,
  ) {
    super(text);
    this.name = "CommandError";
  }
}

export const no = (text: string, code?: string) => new CommandError("NO", text, code);
export const bad = (text: string, code?: string) => new CommandError("BAD", text, code);

/** What a handler returns: the tagged OK's code and text, or "answered" when it wrote it. */
export type Done = { code?: string; text?: string } | void | "answered";

export interface CommandContext {
  tag: string;
  /** The command name, upper case, without "UID ". */
  name: string;
  uid: boolean;
  p: Parser;
}

export interface SelectedMailbox {
  info: ImapMailboxInfo;
  readOnly: boolean;
  /** UIDs in sequence order: sequence number n is uids[n - 1]. */
  uids: number[];
  meta: Map<number, ImapMessageMeta>;
  recent: Set<number>;
  /** The mod-sequence up to which the view is current. */
  highestModseq: number;
  /** Expunged by others, still in the view until an EXPUNGE/VANISHED may be sent. */
  pendingExpunge: Set<number>;
  /** The backend said something may have changed. */
  dirty: boolean;
  /** SEARCHRES saved result (RFC 5182), as UIDs. */
  saved: number[];
  unwatch: () => void;
}

/** Stop reading the socket when this much input waits unprocessed. */
const INPUT_HIGH_WATER = 256 * 1024;
/** Write buffered output once it is this large, even with more commands waiting. */
const OUTPUT_FLUSH = 64 * 1024;
/** The session ends after this many failed logins. */
export const MAX_AUTH_FAILURES = 5;
/** Longest AUTHENTICATE response line and IDLE's DONE line. */
export const MAX_AUTH_LINE = 16 * 1024;

/**
 * \Recent (RFC 3501 2.3.2) within this process: for each mailbox, the highest UID some session
 * has already been told about. The first session to see a newer UID gets it as recent.
 */
const recentClaims = new WeakMap<ImapBackend, Map<number, number>>();

/** The UIDs (ascending) no session has seen yet; with `claim`, they are this session's now. */
export function claimRecent(backend: ImapBackend, mailboxId: number, uids: readonly number[], claim: boolean): number[] {
  let claims = recentClaims.get(backend);
  if (!claims) recentClaims.set(backend, (claims = new Map()));
  const seen = claims.get(mailboxId) ?? 0;
  const fresh = uids.filter((u) => u > seen);
  if (claim && fresh.length) claims.set(mailboxId, Math.max(seen, fresh[fresh.length - 1]!));
  return fresh;
}

export class ImapSession {
  readonly id: string;
  state: ImapState = "notauth";
  tls?: ImapTlsInfo;
  account?: ImapAccount;
  selected?: SelectedMailbox;
  /** ENABLEd extensions (RFC 5161): CONDSTORE, QRESYNC, UTF8=ACCEPT, IMAP4REV2. */
  readonly enabled = new Set<string>();
  authFailures = 0;
  /** A LIST/STATUS/SELECT/... used CONDSTORE: FETCH responses then carry MODSEQ. */
  condstore = false;

  private readonly reader: CommandReader;
  private mode: Mode = "command";
  private out: (Buffer | string)[] = [];
  private outSize = 0;
  private pumping = false;
  private paused = false;
  private timer?: Timer;
  private closing = false;
  private wake?: () => void;
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    readonly opts: ImapOptions,
    readonly backend: ImapBackend,
    private readonly transport: ImapTransport,
    readonly log: Logger,
    readonly clock: Clock,
  ) {
    this.id = randomBytes(6).toString("hex");
    this.tls = transport.tls;
    this.log = log.child({ session: this.id });
    this.reader = new CommandReader({ maxLine: opts.maxLineLength, maxLiteral: opts.maxLiteralSize, maxAppendLiteral: opts.maxMessageSize });
    // Message-sized APPEND literals only once logged in (see loggedIn).
    this.reader.appendAllowed = false;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.log.info({ event: "connect", listener: opts.listener, remote: transport.remoteAddress, remotePort: transport.remotePort, tls: this.tls ? `${this.tls.version} ${this.tls.cipher}` : undefined }, "connection");
    this.untagged(`OK [CAPABILITY ${this.capabilities().join(" ")}] Petrel IMAP server ready`);
    this.flush();
    this.armTimer();
  }

  get remoteAddress(): string {
    return this.transport.remoteAddress;
  }

  get isClosed(): boolean {
    return this.mode === "closed";
  }

  /** Plaintext logins are allowed here (TLS, or configured so). */
  get loginAllowed(): boolean {
    return this.tls !== undefined || this.opts.allowInsecureAuth;
  }

  /** IMAP4rev2 was enabled: rev2 rules for responses (no RECENT, ESEARCH, UTF-8 names). */
  get rev2(): boolean {
    return this.enabled.has("IMAP4REV2");
  }

  /** Quoted strings and mailbox names may be UTF-8 (RFC 9051, RFC 6855). */
  get utf8(): boolean {
    return this.rev2 || this.enabled.has("UTF8=ACCEPT");
  }

  get qresync(): boolean {
    return this.enabled.has("QRESYNC");
  }

  capabilities(): string[] {
    const caps = ["IMAP4rev2", "IMAP4rev1"];
    if (this.state === "notauth") {
      if (this.opts.starttls && !this.tls) caps.push("STARTTLS");
      if (this.loginAllowed) caps.push("AUTH=PLAIN", "SASL-IR");
      else caps.push("LOGINDISABLED");
      caps.push("LITERAL+", "ID", "ENABLE", "IDLE");
      return caps;
    }
    caps.push(
      "LITERAL+", "ID", "ENABLE", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE",
      "ESEARCH", "SEARCHRES", "CONDSTORE", "QRESYNC", "BINARY", "QUOTA", "QUOTA=RES-STORAGE", "STATUS=SIZE", "MULTIAPPEND", "UTF8=ACCEPT",
      `APPENDLIMIT=${this.opts.maxMessageSize}`, "WITHIN",
    );
    return caps;
  }

  // ---- input -------------------------------------------------------------------------

  /** Octets from the client. */
  receive(chunk: Buffer): void {
    if (this.mode !== "command") return;
    this.reader.push(chunk);
    if (this.reader.length > INPUT_HIGH_WATER && !this.paused) {
      this.paused = true;
      this.transport.pause();
    }
    this.poke();
    void this.pump();
  }

  /** The peer closed the connection, or the socket failed. */
  remoteClosed(reason?: string): void {
    if (this.mode === "closed") return;
    if (reason) this.log.info({ event: "socket", reason }, "connection error");
    this.end("peer closed");
  }

  /** Wake a handler waiting for input or a mailbox change. */
  poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Wait until receive(), a mailbox change, a timer or the end pokes us. */
  waitEvent(): Promise<void> {
    return new Promise((r) => (this.wake = r));
  }

  /** The next line from the client (AUTHENTICATE, IDLE), or null when the connection ended. */
  async readLine(): Promise<string | typeof TOO_LONG | null> {
    for (;;) {
      if (this.mode !== "command" || this.closing) return null;
      const line = this.reader.takeLine(MAX_AUTH_LINE);
      if (line === TOO_LONG) return TOO_LONG;
      if (line !== null) return line.toString("latin1");
      this.resumeInput();
      await this.waitEvent();
    }
  }

  /** A line if one is buffered, without waiting. */
  takeLine(): string | typeof TOO_LONG | null {
    const line = this.reader.takeLine(MAX_AUTH_LINE);
    return line === null || line === TOO_LONG ? line : line.toString("latin1");
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.mode === "command" && !this.closing) {
        const ev = this.reader.next();
        if (!ev) break;
        this.cancelTimer();
        if (ev.kind === "continue") {
          this.write("+ Ready for literal data\r\n");
          this.flush();
        } else if (ev.kind === "toobig") {
          this.write(`${ev.tag ?? "*"} NO [TOOBIG] Literal too big\r\n`);
        } else if (ev.kind === "toolong") {
          this.write(`${ev.tag ?? "*"} BAD [TOOBIG] Command line too long\r\n* BYE Command line too long\r\n`);
          this.closing = true;
        } else {
          await this.execute(ev.data);
          if (this.outSize > OUTPUT_FLUSH && !this.flush()) await this.transport.waitDrain();
        }
      }
    } catch (err) {
      this.log.error({ err }, "session failed");
      this.write("* BYE [SERVERBUG] Internal error\r\n");
      this.closing = true;
    } finally {
      this.pumping = false;
    }
    this.flush();
    if (this.mode === "command" && !this.closing) this.armTimer();
    this.resumeInput();
  }

  private resumeInput(): void {
    if (this.paused && this.reader.length < INPUT_HIGH_WATER / 2 && this.mode === "command") {
      this.paused = false;
      this.transport.resume();
    }
  }

  private async execute(data: Buffer): Promise<void> {
    const p = new Parser(data);
    let tag = "*";
    let name = "";
    try {
      tag = p.tag();
      p.sp();
      name = p.keyword();
      let uid = false;
      if (name === "UID") {
        p.sp();
        name = p.keyword();
        uid = true;
      }
      const spec = COMMANDS.get(uid ? `UID ${name}` : name);
      if (!spec) throw bad("Unknown command");
      if (!spec.states.includes(this.state)) {
        throw bad(this.state === "notauth" ? "Log in first" : this.state === "auth" && spec.states.includes("selected") ? "No mailbox selected" : "Command not allowed now");
      }
      if (spec.args) p.sp();
      else p.end();
      // News first (EXISTS, FLAGS), but never an expunge: the command's sequence numbers are
      // the client's current ones.
      if (this.selected?.dirty) await this.sync(false);
      const done = await spec.run(this, { tag, name, uid, p });
      if (done === "answered") return;
      // RFC 9051 7.5.1: no EXPUNGE while answering FETCH, STORE or SEARCH (UID forms may).
      if (this.selected && this.mode === "command") await this.sync(uid || !["FETCH", "STORE", "SEARCH"].includes(name));
      const code = done?.code ? `[${done.code}] ` : "";
      this.write(`${tag} OK ${code}${done?.text ?? `${uid ? "UID " : ""}${name} completed`}\r\n`);
    } catch (err) {
      this.fail(tag, name, err);
    }
  }

  /** The one place where failures become tagged replies. */
  private fail(tag: string, name: string, err: unknown): void {
    if (err instanceof ParseError) return this.write(`${tag} BAD ${clean(err.message)}\r\n`);
    if (err instanceof CommandError) return this.write(`${tag} ${err.status} ${err.code ? `[${err.code}] ` : ""}${clean(err.text)}\r\n`);
    if (err instanceof ImapBackendError) {
      const code = err.code === "NONEXISTENT" && (name === "APPEND" || name === "COPY" || name === "MOVE") ? "TRYCREATE" : err.code;
      return this.write(`${tag} NO [${code}] ${clean(err.message)}\r\n`);
    }
    this.log.error({ err, command: name }, "command failed");
    this.write(`${tag} NO [SERVERBUG] Internal error, try again later\r\n`);
  }

  // ---- authentication ----------------------------------------------------------------

  async loginFailed(user: string, mechanism: string, tag: string): Promise<Done> {
    this.authFailures++;
    this.log.info({ event: "auth", mechanism, user: user.slice(0, 100), result: "failed", failures: this.authFailures }, "authentication failed");
    this.flush();
    await new Promise<void>((r) => this.clock.setTimer(this.opts.authFailureDelayMs, r));
    this.write(`${tag} NO [AUTHENTICATIONFAILED] Invalid credentials\r\n`);
    if (this.authFailures >= MAX_AUTH_FAILURES) {
      this.write("* BYE Too many failed logins\r\n");
      this.closing = true;
    }
    return "answered";
  }

  loggedIn(account: ImapAccount, mechanism: string): Done {
    this.account = account;
    this.state = "auth";
    this.reader.appendAllowed = true;
    this.log.info({ event: "auth", mechanism, user: account.address, result: "ok" }, "authenticated");
    return { code: `CAPABILITY ${this.capabilities().join(" ")}`, text: "Logged in" };
  }

  // ---- mailbox names ------------------------------------------------------------------

  /** A mailbox argument as a full UTF-8 name ("INBOX" normalised). */
  mailboxArg(p: Parser): string {
    return this.decodeMailbox(p.astringBytes());
  }

  decodeMailbox(raw: Buffer): string {
    let name: string;
    if (this.utf8) {
      name = raw.toString("utf8");
      if (!Buffer.from(name, "utf8").equals(raw)) throw bad("Mailbox name is not valid UTF-8");
    } else {
      if (raw.some((c) => c > 0x7e)) throw bad("8-bit mailbox name: ENABLE UTF8=ACCEPT first, or use modified UTF-7");
      const decoded = decodeMutf7(raw.toString("latin1"));
      if (decoded === null) throw no("Invalid modified UTF-7 mailbox name", "CANNOT");
      name = decoded;
    }
    return normalizeInbox(name);
  }

  /** A mailbox name as the client should see it (UTF-8 or modified UTF-7). */
  encodeMailbox(name: string): string {
    return this.utf8 ? name : encodeMutf7(name);
  }

  // ---- the selected mailbox -------------------------------------------------------------

  async select(info: ImapMailboxInfo, readOnly: boolean): Promise<SelectedMailbox> {
    this.deselect();
    const messages = await this.backend.messages(info.id);
    const uids = messages.map((m) => m.uid);
    const sel: SelectedMailbox = {
      info,
      readOnly,
      uids,
      meta: new Map(messages.map((m) => [m.uid, m])),
      recent: new Set(claimRecent(this.backend, info.id, uids, !readOnly)),
      highestModseq: info.highestModseq,
      pendingExpunge: new Set(),
      dirty: false,
      saved: [],
      unwatch: () => undefined,
    };
    // Read before the messages: a change in between is fetched again by the next sync, never lost.
    sel.unwatch = this.backend.watch(info.id, () => {
      sel.dirty = true;
      this.poke();
    });
    this.selected = sel;
    this.state = "selected";
    return sel;
  }

  deselect(): void {
    if (!this.selected) return;
    this.selected.unwatch();
    this.selected = undefined;
    this.state = "auth";
  }

  /** Flags as FETCH reports them (\Recent for rev1 clients). */
  flagsOf(uid: number): ImapValue[] {
    const sel = this.selected!;
    const flags = (sel.meta.get(uid)?.flags ?? []).map((f) => atom(f));
    if (!this.rev2 && sel.recent.has(uid)) flags.push(atom("\\Recent"));
    return flags;
  }

  seqOf(uid: number): number {
    return this.selected ? binaryIndex(this.selected.uids, uid) + 1 : 0;
  }

  /**
   * Resolve a sequence set (or UID set) to the UIDs of the view it names, ascending. Sequence
   * numbers beyond the mailbox are an error (RFC 9051 9, seq-number); UIDs not present are
   * ignored.
   */
  resolveSet(set: SequenceSet, uid: boolean): number[] {
    const sel = this.selected!;
    if (set === "$") return sel.saved.filter((u) => sel.meta.has(u));
    const uids = sel.uids;
    const out = new Set<number>();
    if (uid) {
      const max = uids.length ? uids[uids.length - 1]! : 0;
      for (const r of set) {
        let lo = r.from === "*" ? max : r.from;
        let hi = r.to === "*" ? max : r.to;
        if (lo > hi) [lo, hi] = [hi, lo];
        for (let i = lowerBound(uids, lo); i < uids.length && uids[i]! <= hi; i++) out.add(uids[i]!);
      }
    } else {
      const max = uids.length;
      for (const r of set) {
        // "1:*" in an empty mailbox names nothing (clients send it blindly).
        if (max === 0 && (r.from === "*" || r.to === "*")) continue;
        let lo = r.from === "*" ? max : r.from;
        let hi = r.to === "*" ? max : r.to;
        if (lo > hi) [lo, hi] = [hi, lo];
        if (lo < 1 || hi > max) throw bad("Invalid message sequence number");
        for (let s = lo; s <= hi; s++) out.add(uids[s - 1]!);
      }
    }
    const list = [...out];
    if (set.length > 1) list.sort((a, b) => a - b);
    return list;
  }

  /**
   * Bring the view up to date with the backend and report the differences: EXISTS (and RECENT),
   * FETCH FLAGS, and, when `allowExpunge`, EXPUNGE or VANISHED.
   */
  async sync(allowExpunge: boolean, force = false): Promise<void> {
    const sel = this.selected;
    if (!sel) return;
    if (sel.dirty || force) {
      sel.dirty = false;
      const ch = await this.backend.changes(sel.info.id, sel.highestModseq);
      if (this.selected !== sel) return;
      for (const u of ch.expunged) if (sel.meta.has(u)) sel.pendingExpunge.add(u);
      const maxUid = sel.uids.length ? sel.uids[sel.uids.length - 1]! : 0;
      const added: ImapMessageMeta[] = [];
      const changedFlags: number[] = [];
      for (const m of ch.changed) {
        const old = sel.meta.get(m.uid);
        if (old) {
          if (m.modseq > old.modseq && !sel.pendingExpunge.has(m.uid)) {
            const same = old.flags.length === m.flags.length && old.flags.every((f) => m.flags.includes(f));
            sel.meta.set(m.uid, m);
            if (!same || this.condstore) changedFlags.push(m.uid);
          }
        } else if (m.uid > maxUid && !ch.expunged.includes(m.uid)) added.push(m);
      }
      added.sort((a, b) => a.uid - b.uid);
      for (const m of added) {
        sel.uids.push(m.uid);
        sel.meta.set(m.uid, m);
      }
      sel.highestModseq = ch.changed.reduce((h, m) => Math.max(h, m.modseq), Math.max(sel.highestModseq, ch.mailbox.highestModseq));
      sel.info = { ...ch.mailbox, highestModseq: sel.highestModseq };
      for (const uid of changedFlags) this.fetchResponse(uid, [atom("FLAGS"), this.flagsOf(uid), ...this.uidModseq(uid, true)]);
      if (added.length) {
        for (const u of claimRecent(this.backend, sel.info.id, added.map((m) => m.uid), !sel.readOnly)) sel.recent.add(u);
        this.untagged(`${sel.uids.length} EXISTS`);
        if (!this.rev2) this.untagged(`${sel.recent.size} RECENT`);
      }
    }
    if (allowExpunge && sel.pendingExpunge.size) {
      const gone = [...sel.pendingExpunge].sort((a, b) => a - b);
      sel.pendingExpunge.clear();
      this.expunged(gone);
    }
  }

  /** Remove UIDs from the view and tell the client (EXPUNGE, or VANISHED with QRESYNC). */
  expunged(uids: readonly number[]): void {
    const sel = this.selected;
    if (!sel || uids.length === 0) return;
    const present = uids.filter((u) => sel.meta.has(u));
    if (this.qresync) {
      const gone = new Set(present);
      sel.uids = sel.uids.filter((u) => !gone.has(u));
      if (present.length) this.untagged(`VANISHED ${compressUids(present)}`);
    } else {
      // Each EXPUNGE renumbers the messages after it (RFC 9051 7.5.1): report from the top down.
      const seqs = present.map((u) => binaryIndex(sel.uids, u)).sort((a, b) => b - a);
      for (const i of seqs) this.untagged(`${i + 1} EXPUNGE`);
      const gone = new Set(present);
      sel.uids = sel.uids.filter((u) => !gone.has(u));
    }
    for (const u of present) {
      sel.meta.delete(u);
      sel.recent.delete(u);
      sel.pendingExpunge.delete(u);
    }
  }

  /** UID and (with CONDSTORE) MODSEQ items of an unsolicited or STORE FETCH. */
  uidModseq(uid: number, withUid: boolean): ImapValue[] {
    const out: ImapValue[] = [];
    if (withUid) out.push(atom("UID"), uid);
    if (this.condstore) out.push(atom("MODSEQ"), [this.selected!.meta.get(uid)?.modseq ?? 0]);
    return out;
  }

  fetchResponse(uid: number, items: ImapValue[]): void {
    this.writeParts([`* ${this.seqOf(uid)} FETCH `, ...encodeValue(items, this.utf8), "\r\n"]);
  }

  // ---- output and lifecycle ----------------------------------------------------------

  /** "* text" */
  untagged(text: string): void {
    this.write(`* ${text}\r\n`);
  }

  /** "* prefix" followed by encoded values separated by spaces. */
  untaggedValues(prefix: string, values: ImapValue[]): void {
    const parts: (string | Buffer)[] = [`* ${prefix}`];
    for (const v of values) {
      parts.push(" ");
      encodeValue(v, this.utf8, parts);
    }
    parts.push("\r\n");
    this.writeParts(parts);
  }

  continuation(text: string): void {
    this.write(`+ ${text}\r\n`);
    this.flush();
  }

  writeParts(parts: (string | Buffer)[]): void {
    for (const p of parts) this.write(p);
  }

  write(data: Buffer | string): void {
    this.out.push(data);
    this.outSize += data.length;
  }

  /** Octets (roughly: string lengths) written but not yet flushed to the socket. */
  get pendingOutput(): number {
    return this.outSize;
  }

  /** Flush output; resolves when the peer has room again. */
  async flushAndDrain(): Promise<void> {
    if (!this.flush()) await this.transport.waitDrain();
  }

  closeAfterReplies(): void {
    this.closing = true;
  }

  flush(): boolean {
    let room = true;
    if (this.mode !== "closed") for (const chunk of coalesce(this.out)) room = this.transport.write(chunk) && room;
    this.out = [];
    this.outSize = 0;
    if (this.closing && this.mode !== "closed" && !this.pumping) this.end("closed by server");
    return room;
  }

  /** STARTTLS (RFC 9051 6.2.1): reply, discard pipelined plaintext, handshake. */
  async upgradeTls(tag: string): Promise<void> {
    this.write(`${tag} OK Begin TLS negotiation now\r\n`);
    this.flush();
    const discarded = this.reader.clear();
    if (discarded > 0) this.log.warn({ event: "tls", discarded }, "discarded plaintext pipelined after STARTTLS");
    this.mode = "tls";
    this.cancelTimer();
    try {
      this.tls = await this.transport.startTls();
    } catch (err) {
      this.log.info({ event: "tls", error: (err as Error).message }, "TLS handshake failed");
      this.end("TLS handshake failed");
      return;
    }
    if ((this.mode as Mode) === "closed") return;
    this.log.info({ event: "tls", version: this.tls.version, cipher: this.tls.cipher }, "TLS established");
    this.mode = "command";
    this.reader.clear();
  }

  /** Server shutdown: BYE now, or after the command in progress. */
  shutdown(): void {
    if (this.mode === "closed") return;
    this.write("* BYE Server shutting down\r\n");
    this.closing = true;
    if (!this.pumping) this.flush();
    else this.poke();
  }

  get isClosing(): boolean {
    return this.closing || this.mode === "closed";
  }

  private end(reason: string): void {
    if (this.mode === "closed") return;
    this.mode = "closed";
    this.cancelTimer();
    for (const p of this.out) this.transport.write(p);
    this.out = [];
    this.deselect();
    this.transport.close();
    this.log.info({ event: "disconnect", reason, user: this.account?.address }, "disconnect");
    this.poke();
    this.resolveClosed();
  }

  /** End now (after flushing), from a handler (LOGOUT, IDLE too long). */
  endNow(reason: string): void {
    this.closing = true;
    this.end(reason);
  }

  private armTimer(): void {
    if (this.mode !== "command") return;
    this.cancelTimer();
    this.timer = this.clock.setTimer(this.opts.idleTimeoutMs, () => {
      this.timer = undefined;
      if (this.pumping) return;
      this.log.info({ event: "timeout" }, "autologout");
      this.write("* BYE Autologout; idle for too long\r\n");
      this.closing = true;
      this.flush();
    });
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }
}

function clean(text: string): string {
  return text.replace(/[\r\n\0]+/g, " ").slice(0, 300);
}

/** INBOX is case-insensitive, also as the first level of a hierarchy (RFC 9051 5.1). */
export function normalizeInbox(name: string): string {
  if (name.length >= 5 && name.slice(0, 5).toUpperCase() === "INBOX" && (name.length === 5 || name[5] === "/")) return "INBOX" + name.slice(5);
  return name;
}

/** First index with a[i] >= x in an ascending array. */
export function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function binaryIndex(a: readonly number[], x: number): number {
  const i = lowerBound(a, x);
  return i < a.length && a[i] === x ? i : -1;
}

/** Socket writes of at most this size are assembled from the small parts of responses. */
const WRITE_CHUNK = 64 * 1024;

/**
 * One socket write per ~64 KiB instead of one per response part: FETCH 1:* FLAGS on 10,000
 * messages is tens of thousands of small parts, and each write costs a syscall and a wrap.
 * Large Buffers (message bodies) are passed through as they are.
 */
function* coalesce(parts: readonly (string | Buffer)[]): Generator<string | Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  for (const p of parts) {
    const b = typeof p === "string" ? Buffer.from(p, "utf8") : p;
    if (b.length >= WRITE_CHUNK) {
      if (size) yield Buffer.concat(pending, size);
      pending = [];
      size = 0;
      yield b;
      continue;
    }
    pending.push(b);
    size += b.length;
    if (size >= WRITE_CHUNK) {
      yield Buffer.concat(pending, size);
      pending = [];
      size = 0;
    }
  }
  if (size) yield Buffer.concat(pending, size);
}
