/**
 * Socket <-> POP3 session adapter. app/ opens the listeners and hands each accepted socket here;
 * this file knows net/tls sockets and nothing about the store.
 */
import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import { tlsInfoOf, upgradeToTls, type ConnectionLimiter, type TlsProvider } from "../smtp/server.js";
import type { Pop3Backend, Pop3Options, Pop3Transport } from "./backend.js";
import { Pop3Session } from "./session.js";

export interface Pop3ConnectionDeps {
  opts: Pop3Options;
  backend: Pop3Backend;
  log: Logger;
  clock: Clock;
  tls?: TlsProvider;
  limiter: ConnectionLimiter;
  sessions: Set<Pop3Session>;
}

export function servePop3Socket(socket: Socket, deps: Pop3ConnectionDeps): void {
  const ip = socket.remoteAddress ?? "unknown";
  if (!deps.limiter.acquire(ip)) {
    deps.log.warn({ event: "rejected", stage: "connect", remote: ip, listener: deps.opts.listener }, "too many connections");
    socket.on("error", () => undefined);
    socket.end("-ERR [SYS/TEMP] too many connections\r\n");
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
  const transport: Pop3Transport = {
    remoteAddress: ip,
    remotePort: socket.remotePort ?? 0,
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
        setTimeout(() => current.destroy(), 10_000).unref();
      }
    },
  };
  const session = new Pop3Session(deps.opts, deps.backend, transport, deps.log, deps.clock);
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
