// `npm run bench`: the benchmark CLI. Starts Petrel (or our sink) unless --target names a running
// server, runs the SMTP load matrix (or one cell), the idle-connection and big-message tests, and
// prints one table per test with every target side by side. See bench/README.md.
import { Command, Option } from "commander";
import { assertLoopback, parsePositiveInt, parseSize, parseTarget, type TargetSpec } from "./args.js";
import { runBig, type BigResult } from "./big-message.js";
import { emfileAdvice, openFilesLimit } from "./fd-limit.js";
import { runIdle, type IdleResult } from "./idle-conns.js";
import { processExists, ProcSampler, waitIdle, type ProcUsage } from "./proc-sampler.js";
import { startPetrel, startSinkChild, type ServerChild } from "./server-child.js";
import { runLoad, type LoadResult } from "./smtp-load.js";
import { fmtBytes, fmtMiB, fmtNum } from "./stats.js";
import { table } from "./table.js";

interface Cell {
  concurrency: number;
  size: number;
  perSession: number;
  count: number;
}

interface Options {
  target?: string;
  pid?: number;
  sink?: boolean;
  compare: string[];
  matrix?: boolean;
  concurrency?: number;
  size?: number;
  perSession?: number;
  count?: number;
  idle?: number | true;
  big?: number | true;
  from: string;
  to: string;
  maxSeconds: number;
  timeout: number;
  warmup: number;
  pipelining: boolean;
}

const KiB = 1024;
const MiB = 1024 * 1024;

/**
 * Messages per cell: enough for a stable rate, few enough for ~5-10 s against a server doing a
 * few hundred to a few thousand messages/s; at least C x K so every worker runs a full session.
 * --max-seconds bounds the wall time whatever the server's speed.
 */
function defaultCount(c: number, size: number, k: number): number {
  const base = c === 1 ? 500 : c <= 20 ? 2000 : 4000;
  const scaled = Math.round((base * (k > 1 ? 2 : 1)) / (size > 16 * KiB ? 4 : 1));
  return Math.max(scaled, c * k);
}

function matrix(): Cell[] {
  const cells: Cell[] = [];
  for (const concurrency of [1, 20, 100])
    for (const size of [4 * KiB, 100 * KiB])
      for (const perSession of [1, 100])
        cells.push({ concurrency, size, perSession, count: defaultCount(concurrency, size, perSession) });
  return cells;
}

function parseArgs(argv: string[]): Options {
  const int = (what: string) => (v: string) => parsePositiveInt(v, what);
  const program = new Command("bench")
    .description("SMTP benchmark: throughput, latency and server resources (loopback only)")
    .option("--target <host:port>", "measure a running server instead of starting Petrel")
    .option("--pid <n>", "PID of the --target server (for RSS and CPU)", int("--pid"))
    .option("--sink", "start bench/sink-server as the target instead of Petrel (checks the generator)")
    .option(
      "--compare <[name=]host:port[,pid]>",
      "also measure this server, side by side (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--matrix", "run the full matrix: C = 1, 20, 100; S = 4 KiB, 100 KiB; 1 and 100 per session")
    .option("--concurrency <n>", "one cell: concurrent sessions (default 20)", int("--concurrency"))
    .option("--size <bytes>", "one cell: message size, e.g. 4KiB (default 4KiB)", parseSize)
    .option("--per-session <n>", "one cell: messages per session (default 1)", int("--per-session"))
    .option("--count <n>", "one cell: messages in total (default: sized for ~5-10 s)", int("--count"))
    .addOption(new Option("--idle [n]", "hold n idle connections (default 10000)").argParser(int("--idle")))
    .addOption(new Option("--big [size]", "send one big streamed message (default 50MiB)").argParser(parseSize))
    .option("--from <address>", "envelope and From: sender", "bench@bench.test")
    .option("--to <address>", "envelope and To: recipient", "user@localhost")
    .option("--max-seconds <s>", "stop starting new messages after s seconds per run", int("--max-seconds"), 10)
    .option("--timeout <ms>", "per-reply timeout", int("--timeout"), 30000)
    .option("--warmup <n>", "messages sent to each target before measuring (0: none)", (v) => Number(v), 200)
    .option("--no-pipelining", "never use PIPELINING even when offered")
    .allowExcessArguments(false);
  program.parse(argv);
  return program.opts<Options>();
}

interface Target extends TargetSpec {
  child?: ServerChild;
}

async function resolveTargets(o: Options): Promise<Target[]> {
  const targets: Target[] = [];
  if (o.target) {
    targets.push(parseTarget(o.target, o.pid));
  } else {
    const child = o.sink ? await startSinkChild() : await startPetrel(o.to);
    console.error(`bench: started ${child.name} on ${child.host}:${child.port} (pid ${child.pid})`);
    targets.push({ name: child.name, host: child.host, port: child.port, pid: child.pid, child });
  }
  for (const c of o.compare) targets.push(parseTarget(c));
  for (const t of targets) {
    assertLoopback(t);
    if (t.pid !== undefined && !processExists(t.pid)) throw new Error(`${t.name}: no process with pid ${t.pid}`);
    if (t.pid === undefined) console.error(`bench: ${t.name}: no pid given, server RSS/CPU not measured`);
  }
  return targets;
}

function cellLabel(c: Cell): string {
  return `C=${c.concurrency} ${fmtBytes(c.size)} x${c.perSession}`;
}

function loadRow(cell: Cell, t: Target, r: LoadResult, u: ProcUsage | undefined, benchCpu: number): string[] {
  const ms = (v: number): string => fmtNum(v, v < 10 ? 1 : 0);
  return [
    cellLabel(cell),
    t.name,
    r.attempted < cell.count ? `${r.attempted}/${cell.count}` : String(r.attempted),
    String(r.accepted),
    String(r.failed),
    fmtNum(r.messagesPerSecond),
    ms(r.sessionP50Ms),
    ms(r.sessionP99Ms),
    ms(r.messageP50Ms),
    ms(r.messageP99Ms),
    fmtNum(r.wallSeconds, 1),
    u ? fmtNum(u.cpuSeconds, 2) : "-",
    u ? fmtNum(u.cpuPercent) : "-",
    u ? fmtMiB(u.rssPeakKiB) : "-",
    u ? fmtMiB(u.pssPeakKiB) : "-",
    fmtNum(benchCpu),
  ];
}

const LOAD_HEADER = [
  "cell", "target", "sent", "ok", "fail", "msg/s", "sess p50", "sess p99", "msg p50", "msg p99",
  "wall s", "srv CPU s", "srv CPU%", "RSS pk MiB", "PSS pk MiB", "bench CPU%",
];

async function runCells(o: Options, targets: Target[], cells: Cell[]): Promise<void> {
  const rows: string[][] = [];
  const errors: string[] = [];
  for (const cell of cells) {
    for (const t of targets) {
      // Let the previous run's leftovers (queue deliveries, GC) finish before measuring.
      if (t.pid !== undefined) await waitIdle(t.pid);
      const sampler = t.pid !== undefined ? new ProcSampler(t.pid) : undefined;
      const cpu0 = process.cpuUsage();
      sampler?.start();
      const r = await runLoad({
        host: t.host,
        port: t.port,
        ...cell,
        from: o.from,
        to: o.to,
        maxSeconds: o.maxSeconds,
        timeoutMs: o.timeout,
        pipelining: o.pipelining,
      });
      const u = sampler?.stop();
      const cpu = process.cpuUsage(cpu0);
      const benchCpu = ((cpu.user + cpu.system) / 1e6 / r.wallSeconds) * 100;
      rows.push(loadRow(cell, t, r, u, benchCpu));
      console.error(
        `bench: ${cellLabel(cell)} ${t.name}: ${r.accepted} ok, ${r.failed} failed, ` +
          `${fmtNum(r.messagesPerSecond)} msg/s${r.pipelined ? " (pipelined)" : ""}`,
      );
      for (const [why, n] of r.errors) errors.push(`  ${cellLabel(cell)} ${t.name}: ${n} x ${why}`);
    }
  }
  console.log("\nSMTP load (latencies in ms; sess = connect to QUIT reply, msg = MAIL to reply after the dot)");
  console.log(table(LOAD_HEADER, rows));
  if (errors.length > 0) console.log("\nFirst distinct errors:\n" + errors.join("\n"));
}

async function runIdleAll(o: Options, targets: Target[], m: number): Promise<void> {
  const limit = openFilesLimit();
  if (limit !== undefined && limit < m + 100) console.error(`bench: warning: ${emfileAdvice(m)}`);
  const rows: string[][] = [];
  let emfile = false;
  const errors: string[] = [];
  for (const t of targets) {
    const serverLimit = t.pid !== undefined ? openFilesLimit(t.pid) : undefined;
    if (serverLimit !== undefined && serverLimit < m + 100) {
      console.error(`bench: warning: ${t.name} may open only ${serverLimit} files; ${m} connections need more`);
    }
    console.error(`bench: opening ${m} idle connections to ${t.name}...`);
    const r: IdleResult = await runIdle({ host: t.host, port: t.port, connections: m, pid: t.pid, parallel: 200, timeoutMs: 10000 });
    emfile ||= r.emfile;
    const perConn = r.before && r.whileHeld && r.held > 0 ? ((r.whileHeld.rssKiB - r.before.rssKiB) / r.held).toFixed(1) : "-";
    rows.push([
      t.name,
      `${r.held}/${r.wanted}`,
      fmtNum(r.openSeconds, 1),
      r.before ? fmtMiB(r.before.rssKiB) : "-",
      r.whileHeld ? fmtMiB(r.whileHeld.rssKiB) : "-",
      fmtMiB(r.rssPeakKiB),
      perConn,
      r.whileHeld ? fmtMiB(r.whileHeld.pssKiB) : "-",
      r.afterClose ? fmtMiB(r.afterClose.rssKiB) : "-",
    ]);
    for (const [why, n] of r.errors) errors.push(`  ${t.name}: ${n} x ${why}`);
  }
  console.log(`\nIdle connections (greeting + EHLO, then held; RSS in MiB)`);
  console.log(
    table(["target", "held", "open s", "RSS before", "RSS held", "RSS peak", "KiB/conn", "PSS held", "RSS after close"], rows),
  );
  if (errors.length > 0) console.log("\nConnections that failed:\n" + errors.join("\n"));
  if (emfile) console.log(`\n${emfileAdvice(m)}`);
}

async function runBigAll(o: Options, targets: Target[], size: number): Promise<void> {
  const rows: string[][] = [];
  for (const t of targets) {
    if (t.pid !== undefined) await waitIdle(t.pid);
    console.error(`bench: sending one ${fmtBytes(size)} message to ${t.name}...`);
    const r: BigResult = await runBig({ host: t.host, port: t.port, size, from: o.from, to: o.to, pid: t.pid, timeoutMs: o.timeout });
    const u = r.usage;
    rows.push([
      t.name,
      r.accepted ? "accepted" : "FAILED",
      fmtNum(r.seconds, 2),
      fmtNum(r.mibPerSecond, 1),
      u ? fmtMiB(u.rssBeforeKiB) : "-",
      u ? fmtMiB(u.rssPeakKiB) : "-",
      u ? fmtMiB(u.rssAfterKiB) : "-",
      u ? fmtMiB(u.rssPeakKiB - u.rssBeforeKiB) : "-",
      u ? fmtNum(u.cpuSeconds, 2) : "-",
      r.reply,
    ]);
  }
  console.log(`\nOne ${fmtBytes(size)} message, streamed (RSS in MiB)`);
  console.log(table(["target", "result", "s", "MiB/s", "RSS before", "RSS peak", "RSS after", "peak growth", "CPU s", "reply"], rows));
}

async function warmup(o: Options, targets: Target[]): Promise<void> {
  if (o.warmup <= 0) return;
  for (const t of targets) {
    const r = await runLoad({
      host: t.host, port: t.port, concurrency: 4, count: o.warmup, size: 4 * KiB, perSession: 1,
      from: o.from, to: o.to, maxSeconds: 30, timeoutMs: o.timeout, pipelining: o.pipelining,
    });
    if (r.accepted === 0) {
      const first = [...r.errors.keys()][0] ?? "unknown error";
      console.error(`bench: warning: ${t.name} accepted none of ${r.attempted} warm-up messages (${first})`);
    }
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv);
  const single = [o.concurrency, o.size, o.perSession, o.count].some((v) => v !== undefined);
  const cells: Cell[] = [];
  if (single) {
    const concurrency = o.concurrency ?? 20;
    const size = o.size ?? 4 * KiB;
    const perSession = o.perSession ?? 1;
    cells.push({ concurrency, size, perSession, count: o.count ?? defaultCount(concurrency, size, perSession) });
  }
  if (o.matrix || (!single && o.idle === undefined && o.big === undefined)) cells.push(...matrix());

  const targets = await resolveTargets(o);
  const stopChildren = async (): Promise<void> => {
    await Promise.all(targets.map((t) => t.child?.stop()));
  };
  process.once("SIGINT", () => void stopChildren().then(() => process.exit(130)));
  try {
    if (cells.length > 0) {
      await warmup(o, targets);
      await runCells(o, targets, cells);
    }
    if (o.idle !== undefined) await runIdleAll(o, targets, o.idle === true ? 10000 : o.idle);
    if (o.big !== undefined) await runBigAll(o, targets, o.big === true ? 50 * MiB : o.big);
  } finally {
    await stopChildren();
  }
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  console.error(`bench: ${e.code === "EMFILE" ? emfileAdvice(0) : e.message}`);
  process.exit(1);
});
