// A minimal pipelining IMAP client for the benchmark: tagged commands, responses read with their
// literals by octet count, no interpretation beyond what the benchmark needs. Real clients
// (imapflow, imaplib) are used by the tests; here the client must cost little next to the server.
import net from "node:net";

export interface ImapReply {
  /** The tagged status line, e.g. "OK SEARCH completed". */
  status: string;
  /** Untagged response lines (literal contents replaced by their length). */
  untagged: string[];
  /** Octets of literals received with this reply. */
  literalBytes: number;
}

interface Pending {
  tag: string;
  resolve: (r: ImapReply) => void;
  reject: (e: Error) => void;
  untagged: string[];
  literalBytes: number;
}

export class BenchImapClient {
  private buf: Buffer = Buffer.alloc(0);
  private literalLeft = 0;
  private partial = "";
  private readonly pending: Pending[] = [];
  private seq = 0;
  private greeting?: (line: string) => void;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("error", (e) => this.failAll(e));
    socket.on("close", () => this.failAll(new Error("connection closed")));
  }

  static async connect(host: string, port: number): Promise<BenchImapClient> {
    const socket = net.connect({ host, port });
    const c = new BenchImapClient(socket);
    await new Promise<void>((resolve, reject) => {
      c.greeting = () => resolve();
      socket.once("error", reject);
    });
    return c;
  }

  /** Send one command (the text after the tag); literals must be LITERAL+ ({n+}) inline. */
  command(text: string | Buffer[]): Promise<ImapReply> {
    const tag = `b${++this.seq}`;
    return new Promise((resolve, reject) => {
      this.pending.push({ tag, resolve, reject, untagged: [], literalBytes: 0 });
      if (typeof text === "string") this.socket.write(`${tag} ${text}\r\n`);
      else this.socket.write(Buffer.concat([Buffer.from(`${tag} `), ...text, Buffer.from("\r\n")]));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private failAll(e: Error): void {
    for (const p of this.pending.splice(0)) p.reject(e);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    let pos = 0;
    for (;;) {
      if (this.literalLeft > 0) {
        const take = Math.min(this.literalLeft, this.buf.length - pos);
        this.literalLeft -= take;
        pos += take;
        if (this.literalLeft > 0) break;
        continue;
      }
      const nl = this.buf.indexOf(10, pos);
      if (nl < 0) break;
      const line = this.buf.toString("latin1", pos, nl + 1);
      pos = nl + 1;
      const lit = /\{(\d+)\+?\}\r\n$/.exec(line);
      if (lit) {
        this.literalLeft = Number(lit[1]);
        if (this.pending[0]) this.pending[0].literalBytes += this.literalLeft;
        this.partial += line;
        continue;
      }
      this.onLine(this.partial + line.replace(/\r?\n$/, ""));
      this.partial = "";
    }
    this.buf = this.buf.subarray(pos);
  }

  private onLine(line: string): void {
    if (this.greeting) {
      const g = this.greeting;
      this.greeting = undefined;
      g(line);
      return;
    }
    const head = this.pending[0];
    if (!head) return;
    if (line.startsWith(`${head.tag} `)) {
      this.pending.shift();
      head.resolve({ status: line.slice(head.tag.length + 1), untagged: head.untagged, literalBytes: head.literalBytes });
    } else if (line.startsWith("* ")) head.untagged.push(line);
  }
}
