import type { TlsInfo } from "../handler.js";

/** The socket as the session sees it; app/serve-socket.ts implements it over net/tls sockets. */
export interface SessionTransport {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** Set for implicit-TLS listeners from the start. */
  readonly tls?: TlsInfo;
  /** Returns false when the peer is not reading (output buffer full). */
  write(data: string): boolean;
  waitDrain(): Promise<void>;
  /** Upgrade to TLS after "220 Ready to start TLS" has been written. */
  startTls(): Promise<TlsInfo>;
  pause(): void;
  resume(): void;
  /** Flush and close. */
  close(): void;
}
