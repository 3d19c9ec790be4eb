/**
 * The HTTP listener (listen.http): /metrics (Prometheus text 0.0.4), /healthz, /readyz, and mail
 * client autoconfiguration (Thunderbird autoconfig, Outlook autodiscover). It serves no files:
 * every path is matched exactly, anything else is 404. Requests are bounded in header size,
 * body size and time; HEAD is answered like GET without the body.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "../core/logger.js";
import { CONTENT_TYPE } from "../observability/metrics.js";
import { parseHostPort } from "./listeners.js";
import type { PetrelMetrics } from "./metrics.js";
import { appleMobileconfig, autodiscoverAddress, autodiscoverResponse, domainOfAddress, thunderbirdConfig, type MailPorts } from "./autoconfig.js";

export type Readiness = { ok: true } | { ok: false; reason: string };

export interface HttpDeps {
  log: Logger;
  metrics: PetrelMetrics;
  hostname: string;
  /** Store reachable, listeners open, not shutting down. */
  ready(): Promise<Readiness>;
  isLocalDomain(domain: string): Promise<boolean>;
  /** Public ports of the open mail listeners. */
  ports(): MailPorts;
}

const MAX_BODY = 16 * 1024;
const MAX_HEADER = 16 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

interface Route {
  name: string;
  methods: readonly string[];
  handle: Handler;
}

function send(res: ServerResponse, code: number, type: string, body: string, headers: Record<string, string> = {}): void {
  const data = Buffer.from(body, "utf8");
  res.writeHead(code, { "content-type": type, "content-length": String(data.length), "cache-control": "no-store", "x-content-type-options": "nosniff", ...headers });
  // HEAD: the same headers, no body.
  if (res.req.method === "HEAD") res.end();
  else res.end(data);
}

const text = (res: ServerResponse, code: number, body: string, headers?: Record<string, string>) => send(res, code, "text/plain; charset=utf-8", body, headers);
const json = (res: ServerResponse, code: number, body: unknown) => send(res, code, "application/json", JSON.stringify(body) + "\n");
const xml = (res: ServerResponse, body: string) => send(res, 200, "application/xml; charset=utf-8", body);

/** Read a request body of at most MAX_BODY bytes; null when it is larger. */
async function readBody(req: IncomingMessage): Promise<string | null> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_BODY) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) return null;
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export class HttpServer {
  private server?: Server;
  private readonly routes = new Map<string, Route>();
  host = "";
  port = 0;

  constructor(private readonly deps: HttpDeps) {
    const get = ["GET", "HEAD"] as const;
    this.route(["/metrics"], "metrics", get, async (_q, res) => {
      text(res, 200, await deps.metrics.render(), { "content-type": CONTENT_TYPE });
    });
    this.route(["/healthz"], "healthz", get, async (_q, res) => text(res, 200, "ok\n"));
    this.route(["/readyz"], "readyz", get, async (_q, res) => {
      const r = await deps.ready();
      if (r.ok) json(res, 200, { status: "ready" });
      else json(res, 503, { status: "unavailable", reason: r.reason });
    });
    // Thunderbird asks autoconfig.<domain>/mail/config-v1.1.xml and <domain>/.well-known/autoconfig/...
    this.route(["/mail/config-v1.1.xml", "/.well-known/autoconfig/mail/config-v1.1.xml"], "autoconfig", get, async (req, res, url) => {
      const domain = await this.localDomain(url.searchParams.get("emailaddress"), req.headers.host);
      if (!domain) return text(res, 404, "not found\n");
      xml(res, thunderbirdConfig(domain, deps.hostname, deps.ports()));
    });
    // Apple: an unsigned configuration profile for one address (Settings offers to install it).
    this.route(["/mail/petrel.mobileconfig", "/apple/mobileconfig"], "mobileconfig", get, async (_req, res, url) => {
      const address = url.searchParams.get("emailaddress");
      const domain = address ? await this.localDomain(address, undefined) : null;
      const profile = address && domain ? appleMobileconfig(address.trim(), domain, deps.hostname, deps.ports()) : null;
      if (!profile) return text(res, 404, "not found\n");
      send(res, 200, "application/x-apple-aspen-config", profile, { "content-disposition": 'attachment; filename="mail.mobileconfig"' });
    });
    this.route(["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"], "autodiscover", ["POST"], async (req, res) => {
      const body = await readBody(req);
      if (body === null) return text(res, 413, "request too large\n", { connection: "close" });
      const address = autodiscoverAddress(body);
      const domain = address ? await this.localDomain(address, undefined) : null;
      if (!address || !domain) return text(res, 404, "not found\n");
      xml(res, autodiscoverResponse(address, deps.hostname, deps.ports()));
    });
  }

  private route(paths: string[], name: string, methods: readonly string[], handle: Handler): void {
    for (const p of paths) this.routes.set(p, { name, methods, handle });
  }

  /** The local domain of an address (or of an autoconfig.<domain> Host header), or null. */
  private async localDomain(address: string | null, host: string | undefined): Promise<string | null> {
    let domain: string | null = null;
    if (address) domain = domainOfAddress(address);
    else if (host) {
      const h = host.replace(/:\d+$/, "").toLowerCase();
      domain = domainOfAddress(`x@${h.startsWith("autoconfig.") ? h.slice("autoconfig.".length) : h}`);
    }
    if (!domain) return null;
    return (await this.deps.isLocalDomain(domain)) ? domain : null;
  }

  async listen(address: string): Promise<void> {
    const { host, port } = parseHostPort(address);
    const server = createServer({ maxHeaderSize: MAX_HEADER, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS, keepAliveTimeout: 5_000 }, (req, res) => void this.handle(req, res));
    server.maxRequestsPerSocket = 100;
    server.maxConnections = 256;
    server.on("clientError", (e: NodeJS.ErrnoException, socket) => {
      const status = e.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : e.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("connection", (s) => this.deps.metrics.socket("http", s));
    const a = server.address();
    this.host = host;
    this.port = typeof a === "object" && a ? a.port : port;
    this.server = server;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeIdleConnections();
      // Requests still running get a short while, then their connections go.
      setTimeout(() => s.closeAllConnections(), 2_000).unref();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let handler = "none";
    try {
      const raw = req.url ?? "/";
      // Only origin-form paths; no traversal, no encoded separators, no NUL (nothing maps to files anyway).
      if (!raw.startsWith("/") || raw.length > 2048 || /\.\.|%2e%2e|%2f|%5c|\\|%00/i.test(raw.split("?")[0]!)) {
        handler = "invalid";
        return text(res, 400, "bad request\n", { connection: "close" });
      }
      const url = new URL(raw, "http://localhost");
      const route = this.routes.get(url.pathname);
      if (!route) {
        // Drain what the client sent (bounded) before answering.
        if (req.method === "POST" || req.method === "PUT") req.resume();
        return text(res, 404, "not found\n");
      }
      handler = route.name;
      if (!route.methods.includes(req.method ?? "")) return text(res, 405, "method not allowed\n", { allow: route.methods.join(", ") });
      await route.handle(req, res, url);
    } catch (err) {
      this.deps.log.error({ err, url: req.url?.slice(0, 200) }, "http request failed");
      if (!res.headersSent) text(res, 500, "internal error\n");
      else res.destroy();
    } finally {
      const count = () => this.deps.metrics.http.inc({ handler, code: String(res.statusCode) });
      if (res.writableFinished) count();
      else res.once("finish", count);
    }
  }
}
