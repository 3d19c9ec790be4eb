/**
 * `petrel send`: one message through our own SMTP client (smtp/client) over a real socket
 * (delivery/remote/connection), with every line of the dialogue reported as it happens. A test
 * tool like swaks: plain, STARTTLS or implicit TLS, AUTH PLAIN/LOGIN, and a clear failure for
 * anything but success (connection, TLS, certificate, 4xx/5xx), with the reply that failed.
 */
import { isIP } from "node:net";
import { ClientError, type ClientTimeouts } from "../../smtp/client/index.js";
import { SmtpClient } from "../../smtp/client/client.js";
import { replyString } from "../../smtp/client/reply-reader.js";
import { connectSmtp } from "../../delivery/remote/connection.js";
import { TranscriptIo, type Direction } from "./transcript-io.js";

export interface SendOptions {
  host: string;
  port: number;
  tls: "none" | "starttls" | "implicit";
  /** Check the certificate chain and the host name (default). */
  verify: boolean;
  auth?: { user: string; password: string; mechanism?: "PLAIN" | "LOGIN" };
  helo: string;
  from: string;
  to: readonly string[];
  message: Buffer;
  timeoutMs: number;
  onLine(direction: Direction, text: string, elapsedMs: number): void;
}

export interface SendOutcome {
  ok: boolean;
  /** What failed, with the server's reply when there was one. */
  error?: string;
  /** The reply to the end of data, when the message went. */
  final?: string;
}

/** "host", "host:port", "[v6]:port" or "v6" -> host and port. */
export function parseServer(text: string, defaultPort: number): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) return { host: v6[1]!, port: v6[2] ? port(v6[2], text) : defaultPort };
  if (isIP(text) === 6) return { host: text, port: defaultPort };
  const i = text.lastIndexOf(":");
  if (i < 0) return { host: text, port: defaultPort };
  return { host: text.slice(0, i), port: port(text.slice(i + 1), text) };
}

function port(p: string, text: string): number {
  const n = Number(p);
  if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw new Error(`--server ${text}: invalid port`);
  return n;
}

export async function sendTestMessage(o: SendOptions): Promise<SendOutcome> {
  const started = performance.now();
  const note = (text: string) => o.onLine("==", text, performance.now() - started);
  const t = o.timeoutMs;
  const timeouts: ClientTimeouts = { greeting: t, mail: t, rcpt: t, dataInit: t, dataBlock: t, dataFinal: t };
  note(`Trying ${o.host}:${o.port}${o.tls === "implicit" ? " (implicit TLS)" : ""}...`);
  let io: TranscriptIo;
  try {
    const socket = await connectSmtp({ address: o.host, port: o.port, servername: o.host, implicitTls: o.tls === "implicit", connectTimeoutMs: t });
    io = new TranscriptIo(socket, { onLine: o.onLine, started });
    note(`Connected to ${socket.remoteAddress || o.host}.`);
    if (socket.tls) io.noteTls(socket.tls);
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  let client: SmtpClient;
  try {
    client = await SmtpClient.open(io, {
      hostname: o.helo,
      starttls: o.tls === "starttls" ? "require" : "none",
      verify: o.verify,
      auth: o.auth ?? null,
      timeouts,
    });
  } catch (e) {
    return { ok: false, error: describe(e) };
  }
  try {
    const results = await client.send({ sender: o.from, recipients: o.to.map((address) => ({ address })), body: o.message });
    const failed = results.filter((r) => r.status !== "delivered");
    if (failed.length) {
      return { ok: false, error: failed.map((r) => `<${r.address}>: ${r.reply}`).join("; ") };
    }
    return { ok: true, final: results[0]?.reply };
  } catch (e) {
    return { ok: false, error: describe(e) };
  } finally {
    await client.quit();
    note("Connection closed.");
  }
}

function describe(e: unknown): string {
  if (e instanceof ClientError) {
    if (e.kind === "tls" && /certificate is not valid/.test(e.message)) return `${e.message} (use --insecure to send anyway)`;
    return e.reply && !e.message.includes(replyString(e.reply)) ? `${e.message}: ${replyString(e.reply)}` : e.message;
  }
  return (e as Error).message;
}
