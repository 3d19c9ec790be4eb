/**
 * A small scriptable SMTP server for tests of our client (plain TCP; no TLS): a greeting (or
 * silence), EHLO capabilities, per-command overrides, and a record of each transaction.
 */
import { createServer, type Server, type Socket } from "node:net";

export interface SinkTransaction {
  from: string;
  rcpts: string[];
  data: Buffer;
}

export interface SinkOptions {
  host?: string;
  port?: number;
  /** null: say nothing at all (greeting timeout tests). */
  greeting?: string | null;
  ehlo?: string[];
  /** Answer a command line; undefined: the default answer. */
  onLine?: (line: string, conn: { socket: Socket; index: number }) => string | undefined;
}

export interface SmtpSink {
  port: number;
  connections: number;
  transactions: SinkTransaction[];
  lines: string[];
  close(): Promise<void>;
}

export async function startSink(opts: SinkOptions = {}): Promise<SmtpSink> {
  const sockets = new Set<Socket>();
  const sink: SmtpSink = { port: 0, connections: 0, transactions: [], lines: [], close: async () => undefined };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    const index = sink.connections++;
    let buf = Buffer.alloc(0);
    let inData = false;
    let txn: SinkTransaction = { from: "", rcpts: [], data: Buffer.alloc(0) };
    const say = (s: string) => socket.write(s.endsWith("\r\n") ? s : s + "\r\n");
    if (opts.greeting !== null) say(opts.greeting ?? "220 sink.test ESMTP");
    socket.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (inData) {
          const end = buf.indexOf("\r\n.\r\n");
          const atStart = buf.subarray(0, 3).toString() === ".\r\n";
          if (end < 0 && !atStart) return;
          txn.data = atStart ? Buffer.alloc(0) : buf.subarray(0, end + 2);
          buf = buf.subarray(atStart ? 3 : end + 5);
          inData = false;
          sink.transactions.push(txn);
          txn = { from: "", rcpts: [], data: Buffer.alloc(0) };
          const final = opts.onLine?.(".", { socket, index }) ?? "250 2.0.0 Ok: queued";
          if (final !== "") say(final);
          continue;
        }
        const nl = buf.indexOf("\r\n");
        if (nl < 0) return;
        const line = buf.subarray(0, nl).toString("utf8");
        buf = buf.subarray(nl + 2);
        sink.lines.push(line);
        const custom = opts.onLine?.(line, { socket, index });
        const verb = line.split(/[ :]/)[0]!.toUpperCase();
        if (verb === "MAIL") txn.from = /<(.*?)>/.exec(line)?.[1] ?? "";
        if (custom !== undefined) {
          if (custom !== "") say(custom);
          if (verb === "RCPT" && custom.startsWith("2")) txn.rcpts.push(/<(.*?)>/.exec(line)?.[1] ?? "");
          if (verb === "DATA" && custom.startsWith("354")) inData = true;
          continue;
        }
        switch (verb) {
          case "EHLO":
            say((opts.ehlo ?? ["sink.test", "PIPELINING", "8BITMIME", "SIZE 1000000"]).map((c, i, all) => `250${i === all.length - 1 ? " " : "-"}${c}`).join("\r\n"));
            break;
          case "HELO":
          case "RSET":
          case "NOOP":
            if (verb === "RSET") txn = { from: "", rcpts: [], data: Buffer.alloc(0) };
            say("250 2.0.0 Ok");
            break;
          case "MAIL":
            say("250 2.1.0 Ok");
            break;
          case "RCPT":
            txn.rcpts.push(/<(.*?)>/.exec(line)?.[1] ?? "");
            say("250 2.1.5 Ok");
            break;
          case "DATA":
            inData = true;
            say("354 go ahead");
            break;
          case "QUIT":
            say("221 2.0.0 Bye");
            socket.end();
            return;
          default:
            say("502 5.5.1 Command not implemented");
        }
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  sink.port = (server.address() as { port: number }).port;
  sink.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return sink;
}
