/** Opening TCP and implicit-TLS listeners; the only place sockets are bound. */
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { SecureContextOptions } from "node:tls";
import type { TlsProvider } from "./serve-socket.js";

/** An implicit-TLS listener needs the default context's options as well as SNI lookups. */
export interface ServerTls extends TlsProvider {
  options(): SecureContextOptions;
}

export interface BoundListener {
  name: string;
  server: Server;
  host: string;
  port: number;
  tls: boolean;
}

export function parseHostPort(v: string): { host: string; port: number } {
  const i = v.lastIndexOf(":");
  let host = v.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { host, port: Number(v.slice(i + 1)) };
}

export async function listen(name: string, address: string, onSocket: (s: Socket) => void, tls?: ServerTls): Promise<BoundListener> {
  const { host, port } = parseHostPort(address);
  const server = tls
    ? createTlsServer(
        {
          ...tls.options(),
          SNICallback: (servername, cb) => cb(null, tls.context(servername)),
          // A client that connects and never finishes the handshake is dropped.
          handshakeTimeout: 30_000,
        },
        (s: TLSSocket) => onSocket(s),
      )
    : createServer({ noDelay: true }, onSocket);
  if (tls) server.on("tlsClientError", (_e, s: Socket) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  const bound = typeof addr === "object" && addr ? addr.port : port;
  return { name, server, host, port: bound, tls: tls !== undefined };
}
