// Local delivery end to end: SMTP acceptance through the queue into the mailbox, on SQLite and on
// PostgreSQL. While the SMTP load runs, the queue depth and the delivered count are read from the
// store every 200 ms; the run ends when every accepted message is in the mailbox.
import Database from "better-sqlite3";
import pg from "pg";
import { join } from "node:path";
import { startPetrel } from "./server-child.js";
import { runLoad } from "./smtp-load.js";
import { fmtNum } from "./stats.js";
import { table } from "./table.js";

export interface DeliveryResult {
  backend: string;
  accepted: number;
  acceptPerSecond: number;
  delivered: number;
  /** Accepted messages / time from the first send to the last delivery. */
  endToEndPerSecond: number;
  maxQueue: number;
  queueAtLoadEnd: number;
  drainSeconds: number;
}

interface Counter {
  queued(): Promise<number>;
  delivered(): Promise<number>;
  close(): Promise<void>;
}

function sqliteCounter(dataDir: string): Counter {
  const db = new Database(join(dataDir, "petrel.db"), { readonly: true, fileMustExist: true });
  const q = db.prepare("SELECT count(*) FROM queue_messages").pluck();
  const d = db.prepare("SELECT count(*) FROM messages").pluck();
  return {
    queued: async () => q.get() as number,
    delivered: async () => d.get() as number,
    close: async () => {
      db.close();
    },
  };
}

async function postgresCounter(url: string, schema: string): Promise<Counter> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const one = async (sql: string) => Number((await c.query(sql)).rows[0].n);
  return {
    queued: () => one(`SELECT count(*) AS n FROM "${schema}".queue_messages`),
    delivered: () => one(`SELECT count(*) AS n FROM "${schema}".messages`),
    close: async () => {
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    },
  };
}

export async function runDelivery(backend: "sqlite" | "postgres", o: { count: number; concurrency: number; size: number; postgresUrl?: string; to: string; from: string }): Promise<DeliveryResult> {
  const schema = `petrel_bench_${process.pid}`;
  if (backend === "postgres" && !o.postgresUrl) throw new Error("--postgres-url (or PETREL_TEST_POSTGRES_URL) is needed for the PostgreSQL delivery benchmark");
  const storage = backend === "postgres" ? { storage: { backend: "postgres", postgresUrl: o.postgresUrl, postgresSchema: schema } } : {};
  const child = await startPetrel(o.to, storage);
  const counter = backend === "postgres" ? await postgresCounter(o.postgresUrl!, schema) : sqliteCounter(child.dataDir);
  try {
    let maxQueue = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxQueue = Math.max(maxQueue, await counter.queued());
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const started = performance.now();
    const load = await runLoad({ host: child.host, port: child.port, concurrency: o.concurrency, count: o.count, size: o.size, perSession: 1, from: o.from, to: o.to, maxSeconds: 60, timeoutMs: 30_000 } as Parameters<typeof runLoad>[0]);
    const loadEnd = performance.now();
    const queueAtLoadEnd = await counter.queued();
    let delivered = await counter.delivered();
    const deadline = loadEnd + 120_000;
    while (delivered < load.accepted && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      delivered = await counter.delivered();
    }
    const done = performance.now();
    sampling = false;
    await sampler;
    return {
      backend,
      accepted: load.accepted,
      acceptPerSecond: load.messagesPerSecond,
      delivered,
      endToEndPerSecond: delivered / ((done - started) / 1000),
      maxQueue,
      queueAtLoadEnd,
      drainSeconds: (done - loadEnd) / 1000,
    };
  } finally {
    await counter.close();
    await child.stop();
  }
}

export function printDelivery(rows: DeliveryResult[], c: { concurrency: number; size: number }): void {
  console.log(`\nLocal delivery: SMTP accept to mailbox commit (C=${c.concurrency}, ${c.size / 1024} KiB, 1 message per session)`);
  console.log(
    table(
      ["backend", "accepted", "accept msg/s", "delivered", "end-to-end msg/s", "max queue", "queue at load end", "drain s"],
      rows.map((r) => [r.backend, String(r.accepted), fmtNum(r.acceptPerSecond), String(r.delivered), fmtNum(r.endToEndPerSecond), String(r.maxQueue), String(r.queueAtLoadEnd), fmtNum(r.drainSeconds, 2)]),
    ),
  );
}
