// A minimal SMTP sink: accepts every command and every message and throws the data away. It offers
// PIPELINING and answers everything that arrived in one read with one write. Uses: (1) a target that
// is as fast as an SMTP server can be, to check that the load generator itself is not the
// bottleneck; (2) a remote MTA for Petrel's outbound delivery benchmarks.
//
//   node dist/bench/sink-server.js [host:port]     (default 127.0.0.1:2599; port 0 = any free port)
//
// Prints "sink listening on host:port pid N" when ready.
import net from "node:net";
import { pathToFileURL } from "node:url";
import { assertLoopback, parseEndpoint } from "./args.js";

export interface SinkStats {
  connections: number;
  messages: number;
  bytes: number;
}

export interface Sink {
  server: net.Server;
  port: number;
  stats: SinkStats;
  close(): Promise<void>;
}

const MAX_COMMAND_LINE = 4096;
const DATA_END = Buffer.from("\r\n.\r\n", "latin1");
const EHLO_REPLY =
  "250-sink.bench.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n" +
  "250-SIZE 1073741824\r\n250 ENHANCEDSTATUSCODES\r\n";

function handle(socket: net.Socket, stats: SinkStats, onMessage?: () => void): void {
  stats.connections++;
  socket.setNoDelay(true);
  let inData = false;
  // Command mode: unparsed bytes. Data mode: the last 4 bytes seen, so a terminator split across
  // reads is still found; it starts as "\r\n" because the DATA line's CRLF precedes the body.
  let pending = Buffer.alloc(0);
  let haveMail = false;
  let rcpts = 0;
  let dataBytes = 0;

  const command = (line: string): string | undefined => {
    const verb = line.slice(0, 4).toUpperCase();
    switch (verb) {
      case "EHLO":
        return EHLO_REPLY;
      case "HELO":
        return "250 sink.bench.test\r\n";
      case "MAIL":
        haveMail = true;
        rcpts = 0;
        return "250 2.1.0 OK\r\n";
      case "RCPT":
        if (!haveMail) return "503 5.5.1 MAIL first\r\n";
        rcpts++;
        return "250 2.1.5 OK\r\n";
      case "DATA":
        if (!haveMail || rcpts === 0) return "503 5.5.1 RCPT first\r\n";
        inData = true;
        dataBytes = 0;
        return "354 End data with <CR><LF>.<CR><LF>\r\n";
      case "RSET":
        haveMail = false;
        rcpts = 0;
        return "250 2.0.0 OK\r\n";
      case "NOOP":
        return "250 2.0.0 OK\r\n";
      case "QUIT":
        return undefined;
      default:
        return "502 5.5.2 command not implemented\r\n";
    }
  };

  socket.on("data", (chunk: Buffer) => {
    let out = "";
    let buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let quit = false;
    while (buf.length > 0 && !quit) {
      if (inData) {
        const end = buf.indexOf(DATA_END);
        if (end < 0) {
          dataBytes += buf.length - Math.min(buf.length, 4);
          buf = buf.subarray(Math.max(0, buf.length - 4));
          break;
        }
        dataBytes += end;
        buf = buf.subarray(end + DATA_END.length);
        inData = false;
        haveMail = false;
        stats.messages++;
        stats.bytes += dataBytes;
        onMessage?.();
        out += "250 2.0.0 OK queued\r\n";
        continue;
      }
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (buf.length > MAX_COMMAND_LINE) {
          socket.end("500 5.5.6 line too long\r\n");
          return;
        }
        break;
      }
      const line = buf.subarray(0, nl).toString("latin1").replace(/\r$/, "");
      buf = buf.subarray(nl + 1);
      const reply = command(line);
      if (reply === undefined) {
        out += "221 2.0.0 bye\r\n";
        quit = true;
      } else {
        out += reply;
        // After DATA, the body follows the DATA line directly: look for "\r\n.\r\n" from a
        // virtual CRLF so an empty message (".\r\n" at once) is recognized too.
        if (inData) buf = Buffer.concat([Buffer.from("\r\n"), buf]);
      }
    }
    pending = Buffer.from(buf); // copy: never keep a whole 64 KiB read alive for 4 bytes
    if (quit) socket.end(out);
    else if (out) socket.write(out);
  });
  socket.on("error", () => socket.destroy());
  socket.write("220 sink.bench.test ESMTP bench sink\r\n");
}

/** onMessage: called as each message's 250 is written (outbound benchmark: delivery times). */
export function startSink(host = "127.0.0.1", port = 0, onMessage?: () => void): Promise<Sink> {
  const stats: SinkStats = { connections: 0, messages: 0, bytes: 0 };
  const server = net.createServer((s) => handle(s, stats, onMessage));
  // A large backlog: the idle-connections test opens thousands of connections at once.
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      const addr = server.address() as net.AddressInfo;
      resolve({
        server,
        port: addr.port,
        stats,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

async function main(): Promise<void> {
  const ep = parseEndpoint(process.argv[2] ?? "127.0.0.1:2599");
  assertLoopback(ep);
  const sink = await startSink(ep.host, ep.port);
  console.log(`sink listening on ${ep.host}:${sink.port} pid ${process.pid}`);
  const report = (): void => {
    const { connections, messages, bytes } = sink.stats;
    console.log(`sink: ${connections} connections, ${messages} messages, ${bytes} bytes`);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      report();
      process.exit(0);
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(`sink: ${(err as Error).message}`);
    process.exit(1);
  });
}
