/**
 * A DNS server for tests, on 127.0.0.1 over UDP and TCP (one random port for both), serving the
 * records a test gives it. Point Petrel at it with `dns.servers: [dns.server]`, or a
 * DnsResolver with `servers: [dns.server]`.
 *
 *   const dns = await startDnsServer({
 *     "example.test": { MX: [{ exchange: "mx.example.test", priority: 10 }], TXT: ["v=spf1 -all"] },
 *     "mx.example.test": { A: ["127.0.0.1"] },
 *   });
 *   dns.set("sel._domainkey.example.test", { TXT: [longRecord] }); // change it while running
 *   dns.fail("broken.test", "SERVFAIL");                            // or "timeout" (no answer)
 *   await dns.close();
 *
 * Semantics (RFC 1034/1035, RFC 2308):
 * - A name that is in the zone answers NOERROR; a type it lacks gives NODATA (no answers).
 *   A name absent from the zone gives NXDOMAIN, unless a name below it exists (an "empty
 *   non-terminal" is NODATA, as in real zones).
 * - TXT: each record is a string or a list of character-strings. A string longer than 255 octets
 *   is split into 255-octet character-strings, as zone files and DKIM keys need (RFC 6376 3.6.2.2).
 * - CNAME: a name with a CNAME answers other types with the CNAME plus the target's records.
 * - Names are case-insensitive; a trailing dot is ignored.
 * - UDP answers larger than the client's payload size get TC=1 and the client retries over TCP;
 *   `truncateUdp: true` makes every UDP answer truncated, to test the TCP path.
 */
import type { Socket } from "node:net";
import dns2 from "dns2";

export interface MxData {
  exchange: string;
  priority: number;
}

/** The records of one name. */
export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  MX?: MxData[];
  TXT?: (string | string[])[];
  PTR?: string[];
  CNAME?: string;
}

export type DnsZone = Record<string, DnsRecords>;

export interface DnsQueryLog {
  name: string;
  type: string;
  transport: "udp" | "tcp";
}

export interface TestDnsServer {
  /** "127.0.0.1:PORT", for dns.servers. */
  readonly server: string;
  readonly port: number;
  /** Every question received, in order. */
  readonly queries: DnsQueryLog[];
  /** Replace the records of a name (creates it). */
  set(name: string, records: DnsRecords): void;
  /** Remove a name: it becomes NXDOMAIN. */
  remove(name: string): void;
  /** Make every question about this name fail: SERVFAIL, REFUSED, or no answer at all. */
  fail(name: string, how: "SERVFAIL" | "REFUSED" | "timeout"): void;
  close(): Promise<void>;
}

export interface DnsServerOptions {
  /** TTL of every answer, seconds (default 300). */
  ttl?: number;
  truncateUdp?: boolean;
}

// @types/dns2 lacks RCODE and the record shapes: the packet class is used untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Packet: any = dns2.Packet;
const TYPE_NAMES = new Map<number, string>(Object.entries(Packet.TYPE as Record<string, number>).map(([k, v]) => [v, k]));

const key = (name: string) => name.replace(/\.$/, "").toLowerCase();

/** Split a TXT string into character-strings of at most 255 octets (on octets, not characters). */
export function splitTxt(value: string): Buffer[] {
  const bytes = Buffer.from(value, "utf8");
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out.length ? out : [Buffer.alloc(0)];
}

export async function startDnsServer(zone: DnsZone = {}, opts: DnsServerOptions = {}): Promise<TestDnsServer> {
  const records = new Map<string, DnsRecords>(Object.entries(zone).map(([n, r]) => [key(n), r]));
  const failures = new Map<string, "SERVFAIL" | "REFUSED" | "timeout">();
  const queries: DnsQueryLog[] = [];
  const ttl = opts.ttl ?? 300;

  function answer(request: any, transport: "udp" | "tcp"): any | null {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    response.header.ra = 1;
    const q = request.questions[0];
    if (!q) return response;
    const name = key(q.name);
    const type = TYPE_NAMES.get(q.type) ?? String(q.type);
    queries.push({ name, type, transport });
    const failure = failures.get(name);
    if (failure === "timeout") return null;
    if (failure) {
      response.header.rcode = Packet.RCODE[failure];
      return response;
    }
    let owner = name;
    for (let hops = 0; hops < 8; hops++) {
      const r = records.get(owner);
      if (!r) break;
      if (r.CNAME !== undefined && type !== "CNAME") {
        response.answers.push({ name: owner, type: Packet.TYPE.CNAME, class: Packet.CLASS.IN, ttl, domain: r.CNAME });
        owner = key(r.CNAME);
        continue;
      }
      response.answers.push(...rrs(owner, type, r));
      return response;
    }
    if (owner !== name) return response; // CNAME to a name we do not serve: the CNAME alone
    const below = [...records.keys()].some((n) => n.endsWith(`.${name}`));
    if (!below) response.header.rcode = Packet.RCODE.NXDOMAIN;
    return response;
  }

  function rrs(name: string, type: string, r: DnsRecords): object[] {
    const base = { name, class: Packet.CLASS.IN, ttl };
    switch (type) {
      case "A":
        return (r.A ?? []).map((address) => ({ ...base, type: Packet.TYPE.A, address }));
      case "AAAA":
        return (r.AAAA ?? []).map((address) => ({ ...base, type: Packet.TYPE.AAAA, address }));
      case "MX":
        return (r.MX ?? []).map((m) => ({ ...base, type: Packet.TYPE.MX, exchange: m.exchange, priority: m.priority }));
      case "TXT":
        return (r.TXT ?? []).map((t) => ({ ...base, type: Packet.TYPE.TXT, data: (Array.isArray(t) ? t : [t]).flatMap(splitTxt) }));
      case "PTR":
        return (r.PTR ?? []).map((domain) => ({ ...base, type: Packet.TYPE.PTR, domain }));
      case "CNAME":
        return r.CNAME === undefined ? [] : [{ ...base, type: Packet.TYPE.CNAME, domain: r.CNAME }];
      default:
        return [];
    }
  }

  const onUdp = (request: any, send: (r: any) => void) => {
    const r = answer(request, "udp");
    if (!r) return;
    if (opts.truncateUdp) {
      r.header.tc = 1;
      r.answers = [];
    }
    void Promise.resolve(send(r)).catch(() => undefined);
  };
  // Resolvers keep TCP connections open; close() must not wait for them.
  const sockets = new Set<Socket>();
  const onTcp = (request: any, send: (r: any) => void) => {
    const r = answer(request, "tcp");
    if (r) send(r);
  };
  // One port for both (resolvers retry a truncated UDP answer over TCP on the same port): take a
  // random UDP port, then the same TCP port, and try again if that one is taken.
  const bind = async () => {
    const udp = dns2.createUDPServer({ type: "udp4" });
    udp.on("request", onUdp);
    udp.on("requestError", () => undefined);
    await udp.listen(0, "127.0.0.1");
    const port = (udp.address() as { port: number }).port;
    const tcp = dns2.createTCPServer();
    tcp.on("connection", (s: Socket) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    tcp.on("request", onTcp);
    tcp.on("requestError", () => undefined);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, "127.0.0.1", () => {
          tcp.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      udp.close();
      throw e;
    }
    return { udp, tcp, port };
  };
  let bound: Awaited<ReturnType<typeof bind>> | undefined;
  for (let attempt = 1; !bound; attempt++) {
    bound = await bind().catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EADDRINUSE" || attempt >= 20) throw e;
      return undefined;
    });
  }
  const { udp, tcp, port } = bound;

  return {
    server: `127.0.0.1:${port}`,
    port,
    queries,
    set(name, r) {
      records.set(key(name), r);
      failures.delete(key(name));
    },
    remove(name) {
      records.delete(key(name));
      failures.delete(key(name));
    },
    fail(name, how) {
      failures.set(key(name), how);
    },
    async close() {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
