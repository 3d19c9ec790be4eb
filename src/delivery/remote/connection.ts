/**
 * The socket side of our SMTP client: a ClientIo over node:net, upgraded in place with
 * node:tls for STARTTLS (or TLS from the start for implicit-TLS smart hosts). TLS 1.2 or later,
 * SNI = the MX host name; the certificate is checked and the result recorded, and whether an
 * unverified one is acceptable is the destination's policy, decided by the client.
 */
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, rootCertificates, type TLSSocket } from "node:tls";
import { ClientError, type ClientIo, type ClientTlsInfo } from "../../smtp/client/io.js";
import { ReplyReader, type ServerReply } from "../../smtp/client/reply-reader.js";

export interface ConnectTarget {
  /** IP address to connect to. */
  address: string;
  port: number;
  /** Host name for SNI and certificate checks (the MX name, or the smart host's name). */
  servername: string;
  /** TLS from the first byte (port 465 style). */
  implicitTls?: boolean;
  connectTimeoutMs: number;
  /** More trusted CA certificates (PEM), besides the system's. */
  ca?: string;
}

export async function connectSmtp(target: ConnectTarget): Promise<SocketIo> {
  const plain = netConnect({ host: target.address, port: target.port });
  plain.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      plain.destroy();
      reject(new ClientError("timeout", `connection to ${target.address}:${target.port} timed out`));
    }, target.connectTimeoutMs);
    plain.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    plain.once("error", (e) => {
      clearTimeout(timer);
      reject(new ClientError("closed", `cannot connect to ${target.address}:${target.port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, undefined, { cause: e }));
    });
  });
  const io = new SocketIo(plain, target.servername, target.ca);
  if (target.implicitTls) {
    try {
      await io.upgrade(target.connectTimeoutMs);
    } catch (e) {
      io.close();
      throw e;
    }
  }
  return io;
}

export class SocketIo implements ClientIo {
  private reader = new ReplyReader();
  private replies: ServerReply[] = [];
  private waiter?: { resolve: (r: ServerReply) => void; reject: (e: Error) => void };
  private failure?: ClientError;
  tls?: ClientTlsInfo;
  private readonly onData = (chunk: Buffer) => this.received(chunk);
  private readonly onClose = () => this.fail(new ClientError("closed", "connection closed by the server"));
  private readonly onError = (e: Error) => this.fail(new ClientError("closed", `connection failed: ${(e as NodeJS.ErrnoException).code ?? e.message}`, undefined, { cause: e }));

  constructor(
    private socket: Socket | TLSSocket,
    private readonly servername: string,
    private readonly ca?: string,
  ) {
    this.attach(socket);
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "";
  }

  private attach(s: Socket): void {
    s.on("data", this.onData);
    s.on("close", this.onClose);
    s.on("error", this.onError);
  }

  private detach(s: Socket): void {
    s.off("data", this.onData);
    s.off("close", this.onClose);
    s.off("error", this.onError);
  }

  private received(chunk: Buffer): void {
    let got: ServerReply[];
    try {
      got = this.reader.push(chunk);
    } catch (e) {
      this.fail(new ClientError("protocol", (e as Error).message, undefined, { cause: e }));
      this.socket.destroy();
      return;
    }
    this.replies.push(...got);
    if (this.waiter && this.replies.length) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(this.replies.shift()!);
    }
  }

  private fail(e: ClientError): void {
    this.failure ??= e;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }

  write(data: Buffer | string, timeoutMs: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.socket.write(data)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (e?: Error) => {
        clearTimeout(timer);
        this.socket.off("drain", drained);
        this.socket.off("close", closed);
        if (e) reject(e);
        else resolve();
      };
      const drained = () => done();
      const closed = () => done(this.failure ?? new ClientError("closed", "connection closed while writing"));
      const timer = setTimeout(() => {
        done(new ClientError("timeout", `timeout after ${timeoutMs} ms writing to the server`));
        this.socket.destroy();
      }, timeoutMs);
      this.socket.on("drain", drained);
      this.socket.on("close", closed);
    });
  }

  readReply(timeoutMs: number): Promise<ServerReply> {
    const next = this.replies.shift();
    if (next) return Promise.resolve(next);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new ClientError("timeout", `timeout after ${timeoutMs} ms`));
        this.socket.destroy();
      }, timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  startTls(timeoutMs: number): Promise<ClientTlsInfo> {
    // RFC 3207 / CVE-2011-0411: anything the server sent after "220" before the handshake is
    // injected plaintext; refuse it rather than read it as the answer to a later command.
    if (this.reader.buffered || this.replies.length) {
      this.close();
      return Promise.reject(new ClientError("protocol", "the server sent data after its STARTTLS reply"));
    }
    return this.upgrade(timeoutMs);
  }

  async upgrade(timeoutMs: number): Promise<ClientTlsInfo> {
    const plain = this.socket;
    this.detach(plain);
    const secure = tlsConnect({
      socket: plain,
      // SNI takes a host name, never an IP address (RFC 6066 3).
      servername: isIP(this.servername) ? undefined : this.servername,
      minVersion: "TLSv1.2",
      ...(this.ca ? { ca: [...rootCertificates, this.ca] } : {}),
      // The policy decides what an unverified certificate means; the result is recorded.
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        secure.destroy();
        reject(new ClientError("timeout", `TLS handshake timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      secure.once("secureConnect", () => {
        clearTimeout(timer);
        resolve();
      });
      secure.once("error", (e) => {
        clearTimeout(timer);
        reject(new ClientError("tls", `TLS handshake failed: ${e.message}`, undefined, { cause: e }));
      });
    });
    this.socket = secure;
    this.reader = new ReplyReader();
    this.attach(secure);
    const cipher = secure.getCipher();
    this.tls = {
      version: secure.getProtocol() ?? "TLS",
      cipher: cipher?.standardName ?? cipher?.name ?? "unknown",
      verified: secure.authorized,
      ...(secure.authorized ? {} : { verifyError: String(secure.authorizationError ?? "unverified") }),
    };
    return this.tls;
  }

  close(): void {
    this.fail(new ClientError("closed", "connection closed"));
    this.socket.destroy();
  }
}
