// IMAP benchmark: one account with a 10,000-message INBOX (loaded with pipelined APPEND), then
// single-client timings of the two targets (FETCH 1:* FLAGS, SEARCH BODY word) on an idle
// server, then 20 clients running a mix of SELECT, FETCH (flags, envelope, full body), SEARCH,
// STORE and APPEND for a fixed time: operations/s, p50 and p99 per command, server RSS and CPU.
import { BenchImapClient, type ImapReply } from "./imap-client.js";
import { freePort, startPetrel } from "./server-child.js";
import { ProcSampler } from "./proc-sampler.js";
import { fmtMiB, fmtNum, percentile } from "./stats.js";
import { table } from "./table.js";

export interface ImapBenchOptions {
  messages: number;
  clients: number;
  seconds: number;
  /** Directory for a V8 CPU profile of the server (node --cpu-prof). */
  cpuProfDir?: string;
}

const USER = "bench@petrel.test";
const PASSWORD = "bench-password-not-secret";
const WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu".split(" ");

/** A plausible message of 1-5 KiB; one in a hundred contains the rare word "zanzibar". */
function message(i: number): Buffer {
  const words: string[] = [];
  const n = 150 + ((i * 7919) % 600);
  for (let k = 0; k < n; k++) words.push(WORDS[(i * 31 + k * 17) % WORDS.length]!);
  if (i % 100 === 0) words.splice(n >> 1, 0, "zanzibar");
  const lines: string[] = [];
  for (let k = 0; k < words.length; k += 12) lines.push(words.slice(k, k + 12).join(" "));
  return Buffer.from(
    [`From: Sender ${i % 50} <sender${i % 50}@client.test>`, `To: ${USER}`, `Subject: Message number ${i} about ${WORDS[i % WORDS.length]}`, `Date: Mon, 30 Nov 2026 ${String(i % 24).padStart(2, "0")}:00:00 +0000`, `Message-ID: <bench-${i}@client.test>`, "MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii", "", ...lines, ""].join("\r\n"),
  );
}

async function login(port: number): Promise<BenchImapClient> {
  const c = await BenchImapClient.connect("127.0.0.1", port);
  const r = await c.command(`LOGIN ${USER} "${PASSWORD}"`);
  if (!r.status.startsWith("OK")) throw new Error(`LOGIN failed: ${r.status}`);
  return c;
}

function ok(r: ImapReply, what: string): ImapReply {
  if (!r.status.startsWith("OK")) throw new Error(`${what}: ${r.status}`);
  return r;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export async function runImapBench(o: ImapBenchOptions): Promise<void> {
  const imapPort = await freePort();
  const server = await startPetrel(USER, {
    listenExtra: { imap: `127.0.0.1:${imapPort}` },
    imap: { allowInsecureAuth: true },
    ...(o.cpuProfDir ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] } : {}),
  });
  try {
    console.error(`bench: IMAP on 127.0.0.1:${imapPort}; appending ${o.messages} messages...`);
    const loader = await login(imapPort);
    const appendStart = performance.now();
    const batch = 200;
    for (let i = 0; i < o.messages; i += batch) {
      const ops: Promise<ImapReply>[] = [];
      for (let k = i; k < Math.min(o.messages, i + batch); k++) {
        const m = message(k);
        ops.push(loader.command([Buffer.from(`APPEND INBOX (${k % 3 === 0 ? "\\Seen" : ""}) {${m.length}+}\r\n`), m]));
      }
      for (const r of await Promise.all(ops)) ok(r, "APPEND");
    }
    const appendSeconds = (performance.now() - appendStart) / 1000;

    // The two targets, on an otherwise idle server (median of 5, after one warm-up).
    ok(await loader.command("SELECT INBOX"), "SELECT");
    // The first run is cold (structures read from the store and parsed); then median of 5.
    const single = async (cmd: string) => {
      const cold = await timed(async () => ok(await loader.command(cmd), cmd));
      const runs: number[] = [];
      for (let k = 0; k < 5; k++) runs.push(await timed(async () => ok(await loader.command(cmd), cmd)));
      return { cold, warm: percentile(runs, 50) };
    };
    const fetchFlags = await single("FETCH 1:* (FLAGS)");
    const searchBody = await single("SEARCH BODY zanzibar");
    const searchCount = (await loader.command("SEARCH BODY zanzibar")).untagged.join(" ").split(" ").length - 2;
    loader.close();

    console.error(`bench: ${o.clients} clients, mixed commands for ${o.seconds} s...`);
    const clients = await Promise.all(Array.from({ length: o.clients }, () => login(imapPort)));
    for (const c of clients) ok(await c.command("SELECT INBOX"), "SELECT");
    const lat: Record<string, number[]> = {};
    const record = (name: string, ms: number) => (lat[name] ??= []).push(ms);
    const mix: { name: string; weight: number; cmd: (rnd: () => number) => string | Buffer[] }[] = [
      { name: "SELECT", weight: 1, cmd: () => "SELECT INBOX" },
      { name: "FETCH 1:* FLAGS", weight: 1, cmd: () => "FETCH 1:* (FLAGS)" },
      { name: "FETCH 50 ENVELOPE", weight: 4, cmd: (r) => { const s = 1 + Math.floor(r() * (o.messages - 50)); return `FETCH ${s}:${s + 49} (UID FLAGS ENVELOPE)`; } },
      { name: "FETCH BODY[]", weight: 6, cmd: (r) => `UID FETCH ${1 + Math.floor(r() * o.messages)} (BODY.PEEK[])` },
      { name: "SEARCH BODY", weight: 1, cmd: () => "SEARCH BODY zanzibar" },
      { name: "SEARCH UNSEEN FROM", weight: 2, cmd: (r) => `SEARCH UNSEEN FROM sender${Math.floor(r() * 50)}` },
      { name: "STORE +FLAGS", weight: 4, cmd: (r) => `UID STORE ${1 + Math.floor(r() * o.messages)} +FLAGS.SILENT (\\Flagged)` },
      { name: "APPEND", weight: 2, cmd: (r) => { const m = message(Math.floor(r() * 1e6)); return [Buffer.from(`APPEND Archive {${m.length}+}\r\n`), m]; } },
    ];
    const total = mix.reduce((a, m) => a + m.weight, 0);
    const sampler = new ProcSampler(server.pid);
    sampler.start();
    const end = performance.now() + o.seconds * 1000;
    let errors = 0;
    await Promise.all(
      clients.map(async (c, ci) => {
        let state = 12345 + ci * 7777;
        const rnd = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
        while (performance.now() < end) {
          let pick = rnd() * total;
          const op = mix.find((m) => (pick -= m.weight) < 0) ?? mix[0]!;
          const t = performance.now();
          const r = await c.command(op.cmd(rnd));
          if (!r.status.startsWith("OK")) errors++;
          record(op.name, performance.now() - t);
        }
      }),
    );
    const usage = sampler.stop();
    for (const c of clients) c.close();

    console.log(`\nIMAP: ${o.messages}-message INBOX, loaded by pipelined APPEND at ${fmtNum(o.messages / appendSeconds)} msg/s`);
    console.log(table(["target", "first run", "median of 5", "goal"], [
      [`FETCH 1:* (FLAGS), ${o.messages} messages`, `${fmtNum(fetchFlags.cold, 1)} ms`, `${fmtNum(fetchFlags.warm, 1)} ms`, "< 100 ms"],
      [`SEARCH BODY word (${searchCount} hits)`, `${fmtNum(searchBody.cold, 1)} ms`, `${fmtNum(searchBody.warm, 1)} ms`, "< 500 ms"],
    ]));
    const rows = mix.map((m) => {
      const s = lat[m.name] ?? [];
      return [m.name, String(s.length), fmtNum(s.length / usage.wallSeconds, 1), fmtNum(percentile(s, 50), 1), fmtNum(percentile(s, 99), 1)];
    });
    const all = Object.values(lat).flat();
    rows.push(["all", String(all.length), fmtNum(all.length / usage.wallSeconds, 1), fmtNum(percentile(all, 50), 1), fmtNum(percentile(all, 99), 1)]);
    console.log(`\nIMAP mix: ${o.clients} clients for ${fmtNum(usage.wallSeconds, 1)} s, ${errors} errors; server CPU ${fmtNum(usage.cpuPercent)} %, RSS ${fmtMiB(usage.rssBeforeKiB)} -> peak ${fmtMiB(usage.rssPeakKiB)}`);
    console.log(table(["command", "ops", "ops/s", "p50 ms", "p99 ms"], rows));
  } finally {
    await server.stop();
  }
}
