/**
 * What the SMTP client needs from a connection. delivery/remote implements it over node:net
 * and node:tls; tests implement it in memory. The client itself does no I/O.
 */
import type { ServerReply } from "./reply-reader.js";

export interface ClientTlsInfo {
  version: string;
  cipher: string;
  /** The certificate chain and the host name checked out. */
  verified: boolean;
  /** Why verification failed, when it did. */
  verifyError?: string;
}

export interface ClientIo {
  /** Write bytes; resolves once the socket took them (backpressure), rejects after timeoutMs. */
  write(data: Buffer | string, timeoutMs: number): Promise<void>;
  /** The next complete reply; rejects with ClientError "timeout" or "closed". */
  readReply(timeoutMs: number): Promise<ServerReply>;
  /** Start TLS on the connection (after "220" to STARTTLS). */
  startTls(timeoutMs: number): Promise<ClientTlsInfo>;
  /** TLS already in place (implicit TLS, port 465), else undefined. */
  readonly tls?: ClientTlsInfo;
  close(): void;
}

export type ClientErrorKind = "timeout" | "closed" | "protocol" | "tls" | "reply" | "auth";

/** A connection-level failure: the next MX may do better. */
export class ClientError extends Error {
  /** The failure came before a reused connection's next transaction began (RSET): nothing was sent. */
  stale = false;

  constructor(
    readonly kind: ClientErrorKind,
    message: string,
    /** The server's reply, for kind "reply" and "auth". */
    readonly reply?: ServerReply,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ClientError";
  }
}
