// Resource use of a server under test, from /proc: RSS and CPU time of a process *and its
// descendants*. The tree matters for multi-process servers (Postfix: master, smtpd, cleanup, qmgr,
// local...); for Petrel it is one process. Linux only.
import { readdirSync, readFileSync } from "node:fs";

const CLK_TCK = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on every Linux we target

interface ProcStat {
  ppid: number;
  /** Own utime+stime, plus cutime+cstime: CPU of children this process has reaped. */
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1");
    // The command name may contain spaces and parentheses: fields start after the last ")".
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state); field N is f[N - 3]: ppid 4, utime 14, stime 15, cutime 16, cstime 17.
    return { ppid: Number(f[1]), cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return undefined; // the process exited between listing and reading
  }
}

function readRssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    return m ? Number(m[1]) : 0; // zombies and kernel threads have no VmRSS
  } catch {
    return 0;
  }
}

/** Proportional set size: shared pages split between their users, so a tree's sum is fair. */
function readPssKiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "latin1"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** pid and all its live descendants, found by walking every /proc/N/stat's ppid. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(name));
    children.set(st.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU seconds the machine's processes have used so far, all cores (user, nice, system). Interrupt
 * and softirq time is left out: much of it is the loopback traffic of the benchmark itself, and
 * it is charged to no process.
 */
export function machineProcessSeconds(): number {
  const f = readFileSync("/proc/stat", "latin1").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (f[0]! + f[1]! + f[2]!) / CLK_TCK;
}

export function processExists(pid: number): boolean {
  return readStat(pid) !== undefined;
}

export interface ProcSnapshot {
  cpuSeconds: number;
  rssKiB: number;
  pssKiB: number;
  processes: number;
}

/** Figures summed over pids. PSS is optional: smaps_rollup costs ~10x a status read. */
export function snapshot(pids: readonly number[], withPss = true): ProcSnapshot {
  let ticks = 0;
  let rss = 0;
  let pss = 0;
  let n = 0;
  for (const pid of pids) {
    const st = readStat(pid);
    if (!st) continue;
    n++;
    ticks += st.cpuTicks;
    rss += readRssKiB(pid);
    if (withPss) pss += readPssKiB(pid);
  }
  return { cpuSeconds: ticks / CLK_TCK, rssKiB: rss, pssKiB: pss, processes: n };
}

export interface ProcUsage {
  wallSeconds: number;
  cpuSeconds: number;
  /** CPU seconds per wall second x 100; above 100 means more than one core. */
  cpuPercent: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  rssPeakKiB: number;
  /** Sampled once a second (and at start and stop), so a short spike can be missed. */
  pssPeakKiB: number;
  /** Most processes seen in the tree at once. */
  processes: number;
}

/**
 * Samples a process tree every `intervalMs` (RSS/PSS peak) between start() and stop();
 * CPU is the difference of the tree's CPU time between the two.
 */
export class ProcSampler {
  private pids: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private startWall = 0;
  private first: ProcSnapshot | undefined;
  private peakRss = 0;
  private peakPss = 0;
  private maxProcs = 0;

  constructor(
    readonly pid: number,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.pids = processTree(this.pid);
    this.first = snapshot(this.pids);
    this.startWall = performance.now();
    this.peakRss = this.first.rssKiB;
    this.peakPss = this.first.pssKiB;
    this.maxProcs = this.first.processes;
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): ProcUsage {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Re-list the tree: processes forked during the run must be counted in the final CPU time.
    const last = snapshot(processTree(this.pid));
    this.note(last);
    const first = this.first ?? last;
    const wallSeconds = (performance.now() - this.startWall) / 1000;
    const cpuSeconds = Math.max(0, last.cpuSeconds - first.cpuSeconds);
    return {
      wallSeconds,
      cpuSeconds,
      cpuPercent: wallSeconds > 0 ? (cpuSeconds / wallSeconds) * 100 : 0,
      rssBeforeKiB: first.rssKiB,
      rssAfterKiB: last.rssKiB,
      rssPeakKiB: this.peakRss,
      pssPeakKiB: this.peakPss,
      processes: this.maxProcs,
    };
  }

  private sample(): void {
    // The sampler shares the CPU with the load generator, so the costly reads are rarer: the
    // /proc listing (new children) and PSS once a second, RSS and CPU every interval.
    const slow = ++this.tick % 10 === 0;
    if (slow) this.pids = processTree(this.pid);
    this.note(snapshot(this.pids, slow), slow);
  }

  private note(s: ProcSnapshot, withPss = true): void {
    this.peakRss = Math.max(this.peakRss, s.rssKiB);
    if (withPss) this.peakPss = Math.max(this.peakPss, s.pssKiB);
    this.maxProcs = Math.max(this.maxProcs, s.processes);
  }
}

/**
 * Waits until the tree is (nearly) idle, so one run's leftovers (Postfix still delivering the
 * previous cell's queue, a GC) do not land in the next run's CPU figure. Gives up after maxMs.
 */
export async function waitIdle(pid: number, maxMs = 15000, thresholdPercent = 5): Promise<void> {
  const deadline = performance.now() + maxMs;
  let prev = snapshot(processTree(pid), false).cpuSeconds;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const cur = snapshot(processTree(pid), false).cpuSeconds;
    if (((cur - prev) / 0.5) * 100 < thresholdPercent) return;
    prev = cur;
  }
}
