/**
 * The config file's schema (YAML; every key optional; unknown keys are errors). Defaults are
 * the production ones; the development profile (no config file) is in profiles.ts.
 */
import { z } from "zod";
import { parseDuration } from "./duration.js";
import { parseSize } from "./size.js";

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+|[0-9a-fA-F:]+):\d{1,5}$/, "must be host:port, e.g. 0.0.0.0:25 or [::1]:25");
const listener = z.union([hostPort, z.literal(false)]);

const toMs = (v: string | number, ctx: z.RefinementCtx): number => {
  const ms = parseDuration(v);
  if (ms === null) {
    ctx.addIssue({ code: "custom", message: `invalid duration ${JSON.stringify(v)} (use e.g. 30s, 5m, 4h, 5d)` });
    return z.NEVER;
  }
  return ms;
};

const duration = (def: string) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null) {
        ctx.addIssue({ code: "custom", message: `invalid duration ${JSON.stringify(v)} (use e.g. 30s, 5m, 4h, 5d)` });
        return z.NEVER;
      }
      return ms;
    });

const size = (def: number, min: number) =>
  z
    .union([z.string(), z.number()])
    .default(def)
    .transform((v, ctx) => {
      const n = parseSize(v);
      if (n === null || n < min) {
        ctx.addIssue({ code: "custom", message: `invalid size ${JSON.stringify(v)} (a byte count of at least ${min}, or e.g. 25MiB)` });
        return z.NEVER;
      }
      return n;
    });

const count = (def: number, min = 1, max = 10_000_000) => z.number().int().min(min).max(max).default(def);

export const configSchema = z.strictObject({
  hostname: z.string().min(1).regex(/^[A-Za-z0-9.-]+$/, "must be a host name").optional(),
  dataDir: z.string().min(1).default("/var/lib/petrel"),
  storage: z
    .strictObject({
      backend: z.enum(["sqlite", "postgres"]).default("sqlite"),
      postgresUrl: z.string().nullable().default(null),
      /** Schema for Petrel's tables (created if missing); default: the connection's search_path. */
      postgresSchema: z.string().regex(/^[a-z_][a-z0-9_]*$/, "must be a lower-case SQL identifier").nullable().default(null),
    })
    .prefault({}),
  listen: z
    .strictObject({
      smtp: listener.default("0.0.0.0:25"),
      submission: listener.default("0.0.0.0:587"),
      submissions: listener.default("0.0.0.0:465"),
      imap: listener.default("0.0.0.0:143"),
      imaps: listener.default("0.0.0.0:993"),
      pop3: listener.default("0.0.0.0:110"),
      pop3s: listener.default("0.0.0.0:995"),
      http: listener.default("127.0.0.1:8025"),
    })
    .prefault({}),
  tls: z
    .strictObject({
      cert: z.string().nullable().default(null),
      key: z.string().nullable().default(null),
    })
    .prefault({}),
  smtp: z
    .strictObject({
      maxMessageSize: size(52_428_800, 1024),
      maxRecipients: count(1000),
      maxTransactions: count(100),
      maxErrors: count(10),
      maxJunkCommands: count(50),
      maxTextLineLength: count(1000, 100, 100_000),
      bareLineEndings: z.enum(["reject", "normalize"]).default("reject"),
      commandTimeout: duration("5m"),
      dataTimeout: duration("3m"),
      /** Longest time for one message's content, however slowly it arrives. */
      dataMaxTime: duration("30m"),
      /** MAIL on the submission listeners needs AUTH (RFC 6409 4.3); false only for closed networks and tests. */
      submissionRequiresAuth: z.boolean().default(true),
      /** Offer AUTH before TLS (never do this on a public network). */
      allowInsecureAuth: z.boolean().default(false),
      /** Messages up to this size are kept in the queue database; larger ones in spool files. */
      inlineMaxSize: size(16_384, 0),
    })
    .prefault({}),
  pop3: z
    .strictObject({
      /** Autologout after this long without a command (RFC 1939 3: at least 10 minutes). */
      idleTimeout: duration("10m"),
      /** Allow USER/PASS and AUTH PLAIN before STLS on the pop3 listener (never on a public network). */
      allowInsecureAuth: z.boolean().default(false),
    })
    .prefault({}),
  limits: z
    .strictObject({
      maxConnections: count(2000),
      maxConnectionsPerIp: count(50),
      /** How long sessions receiving a message may finish at shutdown. */
      shutdownGrace: duration("30s"),
    })
    .prefault({}),
  delivery: z
    .strictObject({
      /**
       * Run the delivery scheduler on this node. false makes an accept-only node (e.g. MX nodes
       * of a PostgreSQL cluster whose other nodes deliver); mail then waits in the queue.
       */
      enabled: z.boolean().default(true),
      /** Account that receives postmaster@ and abuse@ of every local domain (RFC 5321 4.5.1, RFC 2142). */
      postmaster: z.string().nullable().default(null),
      /** Sub-addressing separator ("alice+tag@" delivers to alice); "" switches it off. */
      subaddressSeparator: z.string().max(1).default("+"),
      /** An account over quota: refuse for now (452 4.2.2) or for good (552 5.2.2). */
      quotaExceeded: z.enum(["temporary", "permanent"]).default("temporary"),
      /** Messages delivered at once. */
      concurrency: count(16, 1, 1000),
      /** More Received: headers than this is treated as a mail loop. */
      maxHops: count(50, 5, 500),
      /** Delays between attempts after temporary failures; the last repeats. */
      retryDelays: z
        .array(z.union([z.string(), z.number()]))
        .min(1)
        .default(["1m", "5m", "15m", "30m", "1h"])
        .transform((list, ctx) => list.map((v) => toMs(v, ctx))),
    })
    .prefault({}),
  outbound: z
    .strictObject({
      relayHost: z.string().nullable().default(null),
      port: z.number().int().min(1).max(65535).default(25),
      maxQueueTime: duration("5d"),
    })
    .prefault({}),
  dns: z
    .strictObject({
      servers: z.array(hostPort.or(z.string().regex(/^[0-9a-fA-F:.]+$/, "must be an IP address or ip:port"))).default([]),
    })
    .prefault({}),
  log: z
    .strictObject({
      format: z.enum(["json", "pretty"]).optional(),
      level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    })
    .prefault({}),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
