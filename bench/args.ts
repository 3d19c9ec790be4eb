// Parsing of the CLI's value syntaxes: sizes ("4KiB", "50MiB"), endpoints ("127.0.0.1:2526"),
// and compare targets ("[name=]host:port[,pid]").

export interface Endpoint {
  host: string;
  port: number;
}

export interface TargetSpec extends Endpoint {
  name: string;
  pid: number | undefined;
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** "4096", "4k", "4KiB", "50MiB" -> bytes. Units are binary: a benchmark wants round buffers. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new Error(`not a size: "${text}" (try 4096, 4KiB, 50MiB)`);
  return Math.round(Number(m[1]) * unit);
}

export function parsePositiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got "${text}"`);
  return n;
}

/** "host:port", "[::1]:port" -> Endpoint. */
export function parseEndpoint(text: string): Endpoint {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  if (!m) throw new Error(`not host:port: "${text}"`);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`bad port in "${text}"`);
  return { host: m[1]!, port };
}

/** "[name=]host:port[,pid]" -> TargetSpec; the name defaults to host:port. */
export function parseTarget(text: string, pid?: number): TargetSpec {
  let rest = text;
  let name: string | undefined;
  const eq = rest.indexOf("=");
  if (eq > 0) {
    name = rest.slice(0, eq);
    rest = rest.slice(eq + 1);
  }
  const comma = rest.lastIndexOf(",");
  if (comma > 0) {
    pid = parsePositiveInt(rest.slice(comma + 1), "pid");
    rest = rest.slice(0, comma);
  }
  const ep = parseEndpoint(rest);
  return { ...ep, name: name ?? rest, pid };
}

/** Loopback only: the benchmark must never load anything but this machine. */
export function assertLoopback(ep: Endpoint): void {
  const h = ep.host.toLowerCase();
  if (!(h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h))) {
    throw new Error(`refusing to load ${ep.host}: the benchmark targets loopback addresses only`);
  }
}
