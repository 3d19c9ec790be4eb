// Outbound delivery: messages/s from Petrel's queue to remote MTAs (our sink) over loopback, at 1
// destination and at 20. A loopback DNS server (dns2) serves one MX per destination domain, each
// MX host on its own loopback address (127.0.1.1 .. 127.0.1.20) where a sink listens on one shared
// port (outbound.port). Two phases, so that delivery is measured apart from acceptance:
//   1. Petrel with delivery off: N messages injected through the submission listener (AUTH
//      PLAIN, PIPELINING, 100 per session), as fast as it takes them: the acceptance rate.
//   2. Petrel restarted on the same data directory with delivery on: the queue drains to the
//      sinks. Delivered/s is counted at the sinks, from the first message's 250 to the last.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDnsServer, type DnsZone } from "../test/helpers/dns-server.js";
import { KiB } from "./options.js";
import { machineProcessSeconds, ProcSampler, type ProcUsage } from "./proc-sampler.js";
import { freePort, startPetrel } from "./server-child.js";
import { startSink, type Sink } from "./sink-server.js";
import { runLoad } from "./smtp-load.js";
import { fmtMiB, fmtNum, percentile, sleep } from "./stats.js";
import { table } from "./table.js";

export interface OutboundOptions {
  count: number;
  destinations: number;
  size: number;
  /** Concurrent injecting sessions (spread over the destinations). */
  concurrency: number;
  /** Extra Petrel config for the delivery phase (outbound.*, delivery.*). */
  config?: Record<string, unknown>;
  /** Directory for a V8 CPU profile of the delivering server (node --cpu-prof). */
  cpuProfDir?: string;
}

export interface OutboundResult {
  destinations: number;
  accepted: number;
  acceptPerSecond: number;
  delivered: number;
  /** Delivered / (last delivery - first delivery). */
  deliveredPerSecond: number;
  /** From the delivering server's start to the last delivery (includes start-up). */
  drainSeconds: number;
  /** Time each message waited from the first delivery of the run until its own (ms). */
  waitP50Ms: number;
  waitP99Ms: number;
  connections: number;
  usage?: ProcUsage;
  sinkCpuPercent: number;
  /** CPU of every other process meanwhile (100 = one core): trust the row when it is near 0. */
  otherCpuPercent: number;
  errors: string[];
}

const SENDER = "bench@bench.test";
const PASSWORD = "bench-password-not-secret";
const MAX_DESTINATIONS = 20;

const domain = (i: number) => `d${i}.outbound.test`;
const mxHost = (i: number) => `mx${i}.outbound.test`;
/** Loopback addresses other than 127.0.0.1: one per destination, all on `lo` (Linux). */
const mxAddress = (i: number) => `127.0.1.${i}`;

function zone(n: number): DnsZone {
  const z: DnsZone = {};
  for (let i = 1; i <= n; i++) {
    z[domain(i)] = { MX: [{ exchange: mxHost(i), priority: 10 }] };
    z[mxHost(i)] = { A: [mxAddress(i)] };
  }
  return z;
}

/** One sink per destination address, all on the same port (outbound.port is one number). */
async function startSinks(n: number, onMessage: () => void): Promise<{ sinks: Sink[]; port: number }> {
  for (let attempt = 0; ; attempt++) {
    const sinks: Sink[] = [];
    try {
      const first = await startSink(mxAddress(1), 0, onMessage);
      sinks.push(first);
      for (let i = 2; i <= n; i++) sinks.push(await startSink(mxAddress(i), first.port, onMessage));
      return { sinks, port: first.port };
    } catch (e) {
      await Promise.all(sinks.map((s) => s.close()));
      if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 10) throw e;
    }
  }
}

export async function runOutbound(o: OutboundOptions): Promise<OutboundResult> {
  const n = Math.min(MAX_DESTINATIONS, Math.max(1, o.destinations));
  const dns = await startDnsServer(zone(MAX_DESTINATIONS));
  const deliveredAt: number[] = [];
  const { sinks, port: sinkPort } = await startSinks(n, () => deliveredAt.push(performance.now()));
  const dir = mkdtempSync(join(tmpdir(), "petrel-bench-outbound-"));
  const dataDir = join(dir, "data");
  const errors: string[] = [];
  const common = {
    dataDir,
    dns: { servers: [dns.server] },
    outbound: { port: sinkPort },
    smtp: { allowInsecureAuth: true },
  };
  try {
    // Phase 1: acceptance, with delivery off; the queue keeps everything.
    const subPort = await freePort();
    const injector = await startPetrel(SENDER, { ...common, delivery: { enabled: false }, listenExtra: { submission: `127.0.0.1:${subPort}` } });
    let accepted = 0;
    let acceptPerSecond = 0;
    try {
      const per = Math.max(1, Math.floor(o.concurrency / n));
      const started = performance.now();
      const loads = await Promise.all(
        Array.from({ length: n }, (_, k) =>
          runLoad({
            host: "127.0.0.1",
            port: subPort,
            concurrency: per,
            count: Math.floor(o.count / n) + (k < o.count % n ? 1 : 0),
            size: o.size,
            perSession: 100,
            from: SENDER,
            to: `user${k + 1}@${domain(k + 1)}`,
            maxSeconds: 300,
            timeoutMs: 30_000,
            pipelining: true,
            auth: { user: SENDER, password: PASSWORD },
          }),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      for (const l of loads) {
        accepted += l.accepted;
        for (const [why, count] of l.errors) errors.push(`${count} x ${why}`);
      }
      acceptPerSecond = accepted / seconds;
    } finally {
      await injector.stop();
    }

    // Phase 2: delivery. The queue is full when the server starts.
    const spawned = performance.now();
    const deliverer = await startPetrel(null, {
      ...common,
      ...o.config,
      outbound: { ...common.outbound, ...((o.config?.outbound as object | undefined) ?? {}) },
      ...(o.cpuProfDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] } : {}),
    });
    const sampler = new ProcSampler(deliverer.pid);
    sampler.start();
    const cpu0 = process.cpuUsage();
    const machine0 = machineProcessSeconds();
    let machineSeconds = 0;
    let usage: ProcUsage | undefined;
    try {
      // Done when every accepted message reached a sink, or when nothing arrived for 30 s.
      let last = -1;
      let lastChange = performance.now();
      while (deliveredAt.length < accepted && performance.now() - lastChange < 30_000) {
        await sleep(20);
        if (deliveredAt.length !== last) [last, lastChange] = [deliveredAt.length, performance.now()];
      }
      usage = sampler.stop();
      machineSeconds = machineProcessSeconds() - machine0;
    } finally {
      await deliverer.stop();
    }
    const cpu = process.cpuUsage(cpu0);
    const first = deliveredAt[0] ?? NaN;
    const lastAt = deliveredAt[deliveredAt.length - 1] ?? NaN;
    const waits = deliveredAt.map((t) => t - first);
    const benchSeconds = (cpu.user + cpu.system) / 1e6;
    return {
      destinations: n,
      accepted,
      acceptPerSecond,
      delivered: deliveredAt.length,
      deliveredPerSecond: deliveredAt.length > 1 ? deliveredAt.length / ((lastAt - first) / 1000) : NaN,
      drainSeconds: (lastAt - spawned) / 1000,
      waitP50Ms: percentile(waits, 50),
      waitP99Ms: percentile(waits, 99),
      connections: sinks.reduce((a, s) => a + s.stats.connections, 0),
      usage,
      sinkCpuPercent: usage ? (benchSeconds / usage.wallSeconds) * 100 : NaN,
      otherCpuPercent: usage ? Math.max(0, ((machineSeconds - benchSeconds - usage.cpuSeconds) / usage.wallSeconds) * 100) : NaN,
      errors,
    };
  } finally {
    await Promise.all(sinks.map((s) => s.close()));
    await dns.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printOutbound(rows: OutboundResult[], size: number): void {
  console.log(`\nOutbound: queue to remote MTAs (our sink) on loopback, ${size / KiB} KiB messages; delivered/s from the first 250 at a sink to the last`);
  console.log(
    table(
      ["destinations", "accepted", "accept msg/s", "delivered", "delivered/s", "drain s", "wait p50 s", "wait p99 s", "sink conns", "msg/conn", "srv CPU s", "srv CPU%", "RSS pk MiB", "sink CPU%", "other CPU%"],
      rows.map((r) => [
        String(r.destinations),
        String(r.accepted),
        fmtNum(r.acceptPerSecond),
        String(r.delivered),
        fmtNum(r.deliveredPerSecond),
        fmtNum(r.drainSeconds, 2),
        fmtNum(r.waitP50Ms / 1000, 2),
        fmtNum(r.waitP99Ms / 1000, 2),
        String(r.connections),
        r.connections > 0 ? fmtNum(r.delivered / r.connections, 1) : "-",
        r.usage ? fmtNum(r.usage.cpuSeconds, 2) : "-",
        r.usage ? fmtNum(r.usage.cpuPercent) : "-",
        r.usage ? fmtMiB(r.usage.rssPeakKiB) : "-",
        fmtNum(r.sinkCpuPercent),
        fmtNum(r.otherCpuPercent),
      ]),
    ),
  );
  const errors = rows.flatMap((r) => r.errors.slice(0, 5).map((e) => `  ${r.destinations} destination(s): ${e}`));
  if (errors.length > 0) console.log("\nInjection errors:\n" + errors.join("\n"));
}

/** `--outbound [count]`, and the end of the default run: 1 and 20 destinations. */
export async function runOutboundAll(count: number, opts: { concurrency?: number; size?: number; cpuProfDir?: string; destinations?: number[] } = {}): Promise<void> {
  const size = opts.size ?? 4 * KiB;
  const rows: OutboundResult[] = [];
  for (const destinations of opts.destinations ?? [1, MAX_DESTINATIONS]) {
    console.error(`bench: outbound, ${destinations} destination(s), ${count} messages...`);
    rows.push(await runOutbound({ count, destinations, size, concurrency: opts.concurrency ?? 20, ...(opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {}) }));
  }
  printOutbound(rows, size);
}
