/**
 * Socket <-> session plumbing shared by every protocol: connection limits, the transport a
 * sans-I/O session writes to, STARTTLS (swap the plaintext socket for its TLS wrapper), and the
 * end of the connection. The protocol engines never see a socket.
 */
import type { Socket } from "node:net";
import { TLSSocket, type SecureContext } from "node:tls";
import type { Logger } from "../core/logger.js";

export interface TlsProvider {
  /** The current context (certificates may be reloaded at any time). */
  context(servername?: string): SecureContext;
}

export interface TlsInfo {
  readonly version: string;
  readonly cipher: string;
  readonly servername?: string;
}

/** TLS 1.2 is the minimum everywhere (RFC 8996 deprecates 1.0 and 1.1). */
export const TLS_MIN_VERSION = "TLSv1.2" as const;
const HANDSHAKE_TIMEOUT_MS = 30_000;

export function tlsInfoOf(s: TLSSocket): TlsInfo {
  const c = s.getCipher();
  return { version: s.getProtocol() ?? "TLS", cipher: c?.standardName ?? c?.name ?? "unknown", servername: (s as TLSSocket & { servername?: string }).servername || undefined };
}

/** Wrap a server-side plaintext socket in TLS (STARTTLS, STLS). */
export function upgradeToTls(socket: Socket, tls: TlsProvider): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new TLSSocket(socket, {
      isServer: true,
      secureContext: tls.context(),
      SNICallback: (name, cb) => {
        try {
          cb(null, tls.context(name));
        } catch (e) {
          cb(e as Error);
        }
      },
    });
    const timer = setTimeout(() => secure.destroy(new Error("TLS handshake timeout")), HANDSHAKE_TIMEOUT_MS);
    secure.once("secure", () => {
      clearTimeout(timer);
      resolve(secure);
    });
    secure.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Counts connections in total and per client IP (all listeners share one). */
export class ConnectionLimiter {
  private perIp = new Map<string, number>();
  total = 0;

  /** `limits` is read at each connection: a config reload (SIGHUP) changes it in place. */
  constructor(private readonly limits: { readonly maxConnections: number; readonly maxConnectionsPerIp: number }) {}

  /** Reserve a slot; false when a limit is reached. */
  acquire(ip: string): boolean {
    const n = this.perIp.get(ip) ?? 0;
    if (this.total >= this.limits.maxConnections || n >= this.limits.maxConnectionsPerIp) return false;
    this.perIp.set(ip, n + 1);
    this.total++;
    return true;
  }

  release(ip: string): void {
    const n = this.perIp.get(ip) ?? 0;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
    this.total--;
  }
}

/** What every protocol session's transport offers (smtp/ and pop3/ each declare the part they use). */
export interface SocketTransport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Set for implicit-TLS listeners from the start. */
  readonly tls?: TlsInfo;
  write(data: string | Buffer): boolean;
  waitDrain(): Promise<void>;
  startTls(): Promise<TlsInfo>;
  pause(): void;
  resume(): void;
  close(): void;
}

export interface SocketSession {
  receive(chunk: Buffer): void;
  remoteClosed(reason?: string): void;
}

export interface ServeSocketDeps<S extends SocketSession> {
  listener: string;
  log: Logger;
  limiter: ConnectionLimiter;
  tls?: TlsProvider;
  sessions: Set<S>;
  /** Sent (then the connection closed) when a connection limit is reached. */
  refusal: string;
  create(transport: SocketTransport): S;
}

/** Serve one accepted socket (plain, or already TLS for implicit-TLS listeners). */
export function serveSocket<S extends SocketSession>(socket: Socket, deps: ServeSocketDeps<S>): void {
  const ip = socket.remoteAddress ?? "unknown";
  if (!deps.limiter.acquire(ip)) {
    deps.log.warn({ event: "rejected", stage: "connect", remote: ip, listener: deps.listener }, "too many connections");
    socket.on("error", () => undefined);
    socket.end(deps.refusal);
    setTimeout(() => socket.destroy(), 5000).unref();
    return;
  }
  let current: Socket = socket;
  let released = false;
  const release = () => {
    if (!released) {
      released = true;
      deps.limiter.release(ip);
    }
  };
  socket.setNoDelay(true);

  const transport: SocketTransport = {
    remoteAddress: ip,
    remotePort: socket.remotePort ?? 0,
    localAddress: socket.localAddress ?? "",
    localPort: socket.localPort ?? 0,
    tls: socket instanceof TLSSocket ? tlsInfoOf(socket) : undefined,
    write: (data) => (current.destroyed ? true : current.write(data)),
    waitDrain: () => new Promise<void>((r) => (current.writableNeedDrain && !current.destroyed ? current.once("drain", r).once("close", r) : r())),
    startTls: async () => {
      if (!deps.tls) throw new Error("no TLS configured");
      current.removeListener("data", onData);
      const secure = await upgradeToTls(current, deps.tls);
      current = secure;
      attach(secure);
      return tlsInfoOf(secure);
    },
    pause: () => current.pause(),
    resume: () => current.resume(),
    close: () => {
      if (!current.destroyed) {
        current.end();
        // A peer that never reads its last reply must not keep the socket forever.
        setTimeout(() => current.destroy(), 10_000).unref();
      }
    },
  };
  const session = deps.create(transport);
  deps.sessions.add(session);
  const onData = (chunk: Buffer) => session.receive(chunk);
  const onEnd = () => session.remoteClosed();
  const onError = (e: Error) => session.remoteClosed(e.message);
  function attach(s: Socket): void {
    s.on("data", onData);
    s.on("end", onEnd);
    s.on("error", onError);
    s.on("close", () => {
      if (s === current) {
        session.remoteClosed();
        release();
        deps.sessions.delete(session);
      }
    });
  }
  attach(socket);
}
