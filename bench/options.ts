// The bench CLI's options and the load matrix: what `npm run bench -- ...` asks for.
import { Command, Option } from "commander";
import { parsePositiveInt, parseSize } from "./args.js";

export interface Cell {
  concurrency: number;
  size: number;
  perSession: number;
  count: number;
}

export interface Options {
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
  /** Local delivery end to end, on these backends ("sqlite", "postgres"). */
  delivery?: string | true;
  postgresUrl?: string;
  /** IMAP: a mailbox of this many messages, --concurrency clients, --max-seconds of mixed commands. */
  imap?: number | true;
  /** Outbound delivery, queue to sinks at 1 and 20 destinations: this many messages each. */
  outbound?: number | true;
  /** Only these destination counts for --outbound (e.g. "1"). */
  outboundDestinations?: string;
  /** Write a V8 CPU profile of the delivering server here (--outbound). */
  cpuProf?: string;
  /** Start Petrel with delivery.enabled: false (measure acceptance alone). */
  acceptOnly?: boolean;
  from: string;
  to: string;
  maxSeconds: number;
  timeout: number;
  warmup: number;
  pipelining: boolean;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

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

function nonNegative(v: string): number {
  return v === "0" ? 0 : parsePositiveInt(v, "--warmup");
}

export function parseArgs(argv: string[]): Options {
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
    .addOption(new Option("--delivery [backends]", "local delivery end to end: sqlite,postgres (default: sqlite, and postgres when a URL is known)"))
    .addOption(new Option("--imap [messages]", "IMAP: load a mailbox (default 10000 messages), then 20 clients (--concurrency) run a command mix").argParser(int("--imap")))
    .addOption(new Option("--outbound [count]", "outbound delivery: queue to loopback sinks at 1 and 20 destinations (default 20000 messages of --size, 4KiB)").argParser(int("--outbound")))
    .option("--outbound-destinations <list>", "with --outbound: only these destination counts, e.g. 1 or 1,20")
    .option("--cpu-prof <dir>", "with --outbound or --imap: CPU profile of the server (node --cpu-prof) into dir")
    .option("--accept-only", "start Petrel with local delivery off (delivery.enabled: false): acceptance alone")
    .option("--postgres-url <url>", "PostgreSQL for --delivery postgres (default: $PETREL_TEST_POSTGRES_URL)")
    .option("--from <address>", "envelope and From: sender", "bench@bench.test")
    .option("--to <address>", "envelope and To: recipient", "user@localhost")
    .option("--max-seconds <s>", "stop starting new messages after s seconds per run", int("--max-seconds"), 10)
    .option("--timeout <ms>", "per-reply timeout", int("--timeout"), 30000)
    .option("--warmup <n>", "messages sent to each target before measuring (0: none)", nonNegative, 200)
    .option("--no-pipelining", "never use PIPELINING even when offered")
    .allowExcessArguments(false);
  program.parse(argv);
  return program.opts<Options>();
}

/** The load cells to run: the one cell the options describe, and/or the matrix (the default when
 * nothing else is asked for). */
export function cellsFor(o: Options): Cell[] {
  const single = [o.concurrency, o.size, o.perSession, o.count].some((v) => v !== undefined);
  const cells: Cell[] = [];
  if (single) {
    const concurrency = o.concurrency ?? 20;
    const size = o.size ?? 4 * KiB;
    const perSession = o.perSession ?? 1;
    cells.push({ concurrency, size, perSession, count: o.count ?? defaultCount(concurrency, size, perSession) });
  }
  if (o.matrix || (!single && o.idle === undefined && o.big === undefined && o.delivery === undefined && o.imap === undefined && o.outbound === undefined)) cells.push(...matrix());
  return cells;
}
