// `npm run bench`: the benchmark CLI. Starts Petrel (or our sink) unless --target names a running
// server, runs the SMTP load matrix (or one cell), the idle-connection and big-message tests, and
// prints one table per test with every target side by side. See bench/README.md.
import { assertLoopback, parseTarget, type TargetSpec } from "./args.js";
import { runBig, type BigResult } from "./big-message.js";
import { emfileAdvice, openFilesLimit } from "./fd-limit.js";
import { runIdle, type IdleResult } from "./idle-conns.js";
import { cellsFor, KiB, MiB, parseArgs, type Cell, type Options } from "./options.js";
import { machineProcessSeconds, processExists, ProcSampler, waitIdle, type ProcSnapshot, type ProcUsage } from "./proc-sampler.js";
import { startPetrel, startSinkChild, type ServerChild } from "./server-child.js";
import { runLoad, type LoadResult } from "./smtp-load.js";
import { fmtBytes, fmtMiB, fmtNum } from "./stats.js";
import { table } from "./table.js";
import { runImapBench } from "./imap.js";
import { printDelivery, runDelivery, type DeliveryResult } from "./delivery.js";
import { runOutboundAll } from "./outbound.js";

/** --delivery, and the default run: which backends to measure. */
function deliveryBackends(o: Options): ("sqlite" | "postgres")[] {
  const url = o.postgresUrl ?? process.env.PETREL_TEST_POSTGRES_URL;
  const asked = o.delivery === undefined || o.delivery === true ? ["sqlite", ...(url ? ["postgres"] : [])] : o.delivery.split(",");
  return asked.map((b) => {
    if (b !== "sqlite" && b !== "postgres") throw new Error(`--delivery: unknown backend ${b}`);
    return b;
  });
}

async function runDeliveryAll(o: Options): Promise<void> {
  const rows: DeliveryResult[] = [];
  const c = { concurrency: o.concurrency ?? 20, size: o.size ?? 4 * KiB };
  for (const backend of deliveryBackends(o)) {
    console.error(`bench: local delivery on ${backend}...`);
    rows.push(await runDelivery(backend, { ...c, count: o.count ?? 10_000, postgresUrl: o.postgresUrl ?? process.env.PETREL_TEST_POSTGRES_URL, to: o.to, from: o.from }));
  }
  printDelivery(rows, c);
}

interface Target extends TargetSpec {
  child?: ServerChild;
}

async function resolveTargets(o: Options): Promise<Target[]> {
  const given = [...(o.target ? [parseTarget(o.target, o.pid)] : []), ...o.compare.map((c) => parseTarget(c))];
  // Check every given target before starting a child, so a typo never leaves a server running.
  for (const t of given) {
    assertLoopback(t);
    if (t.pid !== undefined && !processExists(t.pid)) throw new Error(`${t.name}: no process with pid ${t.pid}`);
    if (t.pid === undefined) console.error(`bench: ${t.name}: no pid given, server RSS/CPU not measured`);
  }
  if (o.target) return given;
  const child = o.sink ? await startSinkChild() : await startPetrel(o.to, o.acceptOnly ? { delivery: { enabled: false } } : {});
  console.error(`bench: started ${child.name} on ${child.host}:${child.port} (pid ${child.pid})`);
  return [{ name: child.name, host: child.host, port: child.port, pid: child.pid, child }, ...given];
}

function cellLabel(c: Cell): string {
  return `C=${c.concurrency} ${fmtBytes(c.size)} x${c.perSession}`;
}

function loadRow(cell: Cell, t: Target, r: LoadResult, u: ProcUsage | undefined, benchCpu: number, otherCpu: number): string[] {
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
    u ? fmtNum(Math.max(0, otherCpu)) : "-",
  ];
}

const LOAD_HEADER = [
  "cell", "target", "sent", "ok", "fail", "msg/s", "sess p50", "sess p99", "msg p50", "msg p99",
  "wall s", "srv CPU s", "srv CPU%", "RSS pk MiB", "PSS pk MiB", "bench CPU%", "other CPU%",
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
      const machine0 = machineProcessSeconds();
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
      // Whatever else ran on the machine meanwhile (other jobs, builds): the figures are only
      // trustworthy when this is near 0.
      const machineCpu = ((machineProcessSeconds() - machine0) / r.wallSeconds) * 100;
      const otherCpu = machineCpu - benchCpu - (u?.cpuPercent ?? 0);
      rows.push(loadRow(cell, t, r, u, benchCpu, otherCpu));
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
    const r: IdleResult = await runIdle({
      host: t.host,
      port: t.port,
      connections: m,
      pid: t.pid,
      parallel: 200,
      timeoutMs: 10000,
      maxFailures: Math.max(200, Math.ceil(m / 100)),
    });
    emfile ||= r.emfile;
    const b = r.before;
    const h = r.whileHeld;
    const perConn = (kib: (s: ProcSnapshot) => number): string =>
      b && h && r.held > 0 ? ((kib(h) - kib(b)) / r.held).toFixed(1) : "-";
    rows.push([
      t.name,
      `${r.held}/${r.wanted}${r.gaveUp ? " (gave up)" : ""}`,
      fmtNum(r.openSeconds, 1),
      b ? fmtMiB(b.rssKiB) : "-",
      h ? fmtMiB(h.rssKiB) : "-",
      perConn((s) => s.rssKiB),
      b ? fmtMiB(b.pssKiB) : "-",
      h ? fmtMiB(h.pssKiB) : "-",
      perConn((s) => s.pssKiB),
      h ? String(h.processes) : "-",
      r.afterClose ? fmtMiB(r.afterClose.rssKiB) : "-",
    ]);
    for (const [why, n] of r.errors) errors.push(`  ${t.name}: ${n} x ${why}`);
  }
  console.log(`\nIdle connections (greeting + EHLO, then held; MiB, per connection KiB)`);
  console.log(
    table(
      ["target", "held", "open s", "RSS before", "RSS held", "RSS KiB/conn", "PSS before", "PSS held", "PSS KiB/conn", "procs", "RSS after close"],
      rows,
    ),
  );
  if (errors.length > 0) console.log("\nConnections that failed:\n" + errors.join("\n"));
  if (emfile) console.log(`\nEMFILE, too many open files: ${emfileAdvice(m)}`);
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
      host: t.host,
      port: t.port,
      concurrency: 4,
      count: o.warmup,
      size: 4 * KiB,
      perSession: 1,
      from: o.from,
      to: o.to,
      maxSeconds: 30,
      timeoutMs: o.timeout,
      pipelining: o.pipelining,
    });
    if (r.accepted === 0) {
      const first = [...r.errors.keys()][0] ?? "unknown error";
      console.error(`bench: warning: ${t.name} accepted none of ${r.attempted} warm-up messages (${first})`);
    }
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv);
  if (o.delivery !== undefined) return runDeliveryAll(o);
  if (o.outbound !== undefined) return runOutboundAll(o.outbound === true ? 20_000 : o.outbound, { size: o.size, concurrency: o.concurrency, cpuProfDir: o.cpuProf, destinations: o.outboundDestinations?.split(",").map(Number) });
  if (o.imap !== undefined) return runImapBench({ messages: o.imap === true ? 10_000 : o.imap, clients: o.concurrency ?? 20, seconds: o.maxSeconds, cpuProfDir: o.cpuProf });
  const cells = cellsFor(o);
  const defaultRun = !o.target && !o.sink && o.idle === undefined && o.big === undefined && [o.concurrency, o.size, o.perSession, o.count].every((v) => v === undefined);

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
  if (defaultRun) {
    await runDeliveryAll(o);
    await runImapBench({ messages: 10_000, clients: 20, seconds: o.maxSeconds });
    await runOutboundAll(20_000);
  }
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  console.error(`bench: ${e.code === "EMFILE" ? `${e.message}: ${emfileAdvice(10000)}` : e.message}`);
  process.exit(1);
});
