/**
 * A ClientIo that records what passes through another one, line by line, with the time since
 * the start: the transcript of `petrel send` (like swaks). It wraps the real socket adapter, so
 * the transcript is what our SMTP client really said and heard. AUTH secrets are masked: the
 * initial response of "AUTH <mech> <resp>" and every line written while the server keeps
 * answering 334.
 */
import type { ClientIo, ClientTlsInfo } from "../../smtp/client/io.js";
import type { ServerReply } from "../../smtp/client/reply-reader.js";

export type Direction = "->" | "<-" | "==";

export interface TranscriptOptions {
  /** Called once per line, as it happens. */
  onLine(direction: Direction, text: string, elapsedMs: number): void;
  /** Time origin (performance.now() at the start). */
  started: number;
  /** Body lines of DATA shown before the rest is summarised (header lines are always shown). */
  maxBodyLines?: number;
}

export const MASK = "********";

export class TranscriptIo implements ClientIo {
  private authActive = false;
  private inData = false;
  private inDataHeader = true;
  private bodyLines = 0;
  private hiddenLines = 0;
  private hiddenBytes = 0;
  private pendingText = "";

  constructor(
    private readonly inner: ClientIo,
    private readonly opts: TranscriptOptions,
  ) {}

  get tls(): ClientTlsInfo | undefined {
    return this.inner.tls;
  }

  private line(d: Direction, text: string): void {
    this.opts.onLine(d, text, performance.now() - this.opts.started);
  }

  /** The TLS facts as one transcript line. */
  noteTls(tls: ClientTlsInfo): void {
    this.line("==", `TLS started: ${tls.version}, ${tls.cipher}, ${tls.verified ? "certificate verified" : `certificate NOT verified (${tls.verifyError ?? "unverified"})`}`);
  }

  note(text: string): void {
    this.line("==", text);
  }

  async write(data: Buffer | string, timeoutMs: number): Promise<void> {
    const text = typeof data === "string" ? data : data.toString("utf8");
    if (this.inData) this.dataText(text);
    else this.commandText(text);
    await this.inner.write(data, timeoutMs);
  }

  private commandText(text: string): void {
    this.pendingText += text;
    let nl: number;
    while ((nl = this.pendingText.indexOf("\r\n")) >= 0) {
      const l = this.pendingText.slice(0, nl);
      this.pendingText = this.pendingText.slice(nl + 2);
      const auth = /^(AUTH\s+\S+)(\s+\S.*)?$/i.exec(l);
      if (auth) {
        this.authActive = true;
        this.line("->", auth[2] ? `${auth[1]} ${MASK}` : l);
      } else if (this.authActive) {
        // RFC 4954 4: "*" cancels the exchange; it is no secret.
        this.line("->", l === "*" ? l : MASK);
      } else {
        this.line("->", l);
      }
    }
  }

  private dataText(text: string): void {
    this.pendingText += text;
    const max = this.opts.maxBodyLines ?? 40;
    let nl: number;
    while ((nl = this.pendingText.indexOf("\r\n")) >= 0) {
      const l = this.pendingText.slice(0, nl);
      this.pendingText = this.pendingText.slice(nl + 2);
      if (l === ".") {
        // RFC 5321 4.5.2: the end of the data (a content line "." went as "..").
        if (this.hiddenLines) this.line("->", `[... ${this.hiddenLines} more line(s), ${this.hiddenBytes} octets]`);
        this.line("->", ".");
        this.inData = false;
        continue;
      }
      if (this.inDataHeader) {
        if (l === "") this.inDataHeader = false;
        this.line("->", l);
      } else if (this.bodyLines < max) {
        this.bodyLines++;
        this.line("->", l);
      } else {
        this.hiddenLines++;
        this.hiddenBytes += l.length + 2;
      }
    }
  }

  async readReply(timeoutMs: number): Promise<ServerReply> {
    const r = await this.inner.readReply(timeoutMs);
    const last = r.lines.length - 1;
    r.lines.forEach((l, i) => this.line("<-", `${r.code}${i < last ? "-" : " "}${r.enhanced ? `${r.enhanced}${l === "" ? "" : " "}` : ""}${l}`.trimEnd()));
    if (r.code !== 334) this.authActive = false;
    if (r.code === 354) {
      this.inData = true;
      this.inDataHeader = true;
      this.bodyLines = this.hiddenLines = this.hiddenBytes = 0;
      this.pendingText = "";
    }
    return r;
  }

  async startTls(timeoutMs: number): Promise<ClientTlsInfo> {
    const tls = await this.inner.startTls(timeoutMs);
    this.noteTls(tls);
    return tls;
  }

  close(): void {
    this.inner.close();
  }
}
