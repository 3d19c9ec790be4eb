/**
 * The config file's schema (YAML; every key optional; unknown keys are errors). Defaults are
 * the production ones; the development profile (no config file) is in profiles.ts.
 */
import { z } from "zod";
import { parseDuration } from "./duration.js";
import { parseSize } from "./size.js";
import { isIP } from "node:net";

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

const limit = z.number().int().min(0).max(100_000_000).nullable().default(null);

const authAction = z.enum(["reject", "quarantine", "accept"]);

/** A rate: messages per time window (outbound.ratePerDestination). */
const rate = z.strictObject({ messages: z.number().int().min(1).max(1_000_000), per: duration("1m") });

/** inbound.spf / dmarc / arc (policy/inbound-auth.ts), with their defaults. */
const inboundAuthPolicy = {
  spf: z
    .strictObject({
      /** SPF fail on MAIL FROM or HELO (RFC 7208 8.4), unless DMARC passes. */
      failAction: authAction.default("reject"),
      softfailAction: authAction.default("accept"),
    })
    .prefault({}),
  dmarc: z
    .strictObject({
      /** DMARC fail with p=reject (after pct=). */
      rejectAction: authAction.default("reject"),
      /** DMARC fail with p=quarantine: delivered to the Junk mailbox. */
      quarantineAction: authAction.default("quarantine"),
    })
    .prefault({}),
  arc: z
    .strictObject({
      /** ARC sealers (d= of ARC-Seal) whose recorded dmarc=pass overrides a DMARC failure here. */
      trustedSealers: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
};

const inboundAuthOverride = {
  spf: z.strictObject({ failAction: authAction.optional(), softfailAction: authAction.optional() }).optional(),
  dmarc: z.strictObject({ rejectAction: authAction.optional(), quarantineAction: authAction.optional() }).optional(),
  arc: z.strictObject({ trustedSealers: z.array(z.string().min(1)).optional() }).optional(),
};

/** An IP network in CIDR notation ("10.0.0.0/8", "2001:db8::/32") or a single address. */
const cidr = z.string().refine((v) => {
  const [addr, bits, extra] = v.split("/");
  const family = isIP(addr ?? "");
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
}, "must be an IP network, e.g. 192.0.2.0/24 or 2001:db8::/32");

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
      /** More certificates, chosen by the name the client asks for (SNI, RFC 6066 3); "*.example.com" matches one label. */
      certificates: z
        .array(
          z.strictObject({
            hostnames: z.array(z.string().min(1).regex(/^(\*\.)?[A-Za-z0-9.-]+$/, "must be a host name, or *.domain")).min(1),
            cert: z.string().min(1),
            key: z.string().min(1),
          }),
        )
        .default([]),
      /** How often the certificate files are checked for changes (new ones are loaded without a restart); 0 = never. */
      watchInterval: duration("10s"),
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
  submission: z
    .strictObject({
      /** Per-account sending limits (an account may override each); null = unlimited. */
      limits: z
        .strictObject({
          messagesPerHour: limit,
          messagesPerDay: limit,
          recipientsPerHour: limit,
          recipientsPerDay: limit,
        })
        .prefault({}),
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
  imap: z
    .strictObject({
      /** Autologout after this long without a command (RFC 9051 5.4: at least 30 minutes). */
      idleTimeout: duration("30m"),
      /** An IDLE is ended by the server after this long; clients simply IDLE again. */
      idleMax: duration("29m"),
      /** Allow LOGIN and AUTHENTICATE before STARTTLS on the imap listener (never on a public network). */
      allowInsecureAuth: z.boolean().default(false),
      /** Longest command line (literals excluded). */
      maxLineLength: size(65_536, 1_024),
      /** How often a node checks mailboxes open in IDLE for writes made by other nodes (PostgreSQL). */
      pollInterval: duration("1s"),
    })
    .prefault({}),
  /** Logins of every protocol (SMTP AUTH, IMAP, POP3): SASL and the shared lockout. */
  auth: z
    .strictObject({
      /** A failed login is answered this long after it began, whatever the reason (SMTP, POP3). */
      failureDelay: duration("1s"),
      /** PBKDF2 iterations of the SCRAM-SHA-256 keys made by `petrel user add|passwd` (RFC 7677: at least 4096). */
      scramIterations: count(4096, 4096, 10_000_000),
      lockout: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** Failures from one IP, or for one account, within `window` that cause a block. */
          maxFailures: count(5, 1, 1000),
          window: duration("15m"),
          /** The first block; each further block doubles it, up to maxBlockTime. */
          blockTime: duration("5m"),
          maxBlockTime: duration("24h"),
        })
        .prefault({}),
    })
    .prefault({}),
  dkim: z
    .strictObject({
      /** After `petrel dkim rotate`, the old key stays published (retiring) this long, then is retired. */
      retireAfter: duration("7d"),
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
      /**
       * Messages delivered at once (attempts talking to a transport; recording their outcomes
       * does not hold a slot). One destination gets at most half (app/outbound.ts).
       */
      concurrency: count(64, 1, 1000),
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
      /** Smart host ("host:port"): every remote recipient goes there instead of to its MX. */
      relayHost: hostPort.nullable().default(null),
      /** How to talk to the smart host: STARTTLS required, TLS from the start (port 465), or plain. */
      relayTls: z.enum(["starttls", "tls", "none"]).default("starttls"),
      /** Only a smart host with a valid certificate for its name will do. */
      relayVerifyCertificate: z.boolean().default(true),
      /** Credentials for the smart host (AUTH PLAIN, or LOGIN when PLAIN is not offered). */
      relayAuth: z.strictObject({ user: z.string().min(1), password: z.string().min(1) }).nullable().default(null),
      /**
       * TLS per destination domain ("*": every other one): none, opportunistic (STARTTLS when
       * offered, certificate not checked), require (STARTTLS or no delivery), verify (STARTTLS
       * with a valid certificate for the MX name).
       */
      tlsPolicies: z.record(z.string().min(1), z.enum(["none", "opportunistic", "require", "verify"])).default({}),
      /** Connections to one destination (domain or smart host) at once. */
      maxConnectionsPerDestination: count(10, 1, 1000),
      /**
       * Messages to one destination (domain or smart host) per time window, e.g.
       * { messages: 100, per: 1m }; null = no limit. Over it, delivery waits for the next slot.
       */
      ratePerDestination: rate.nullable().default(null),
      /** Per-domain (or smart host name) overrides of ratePerDestination; null = no limit there. */
      ratePerDomain: z.record(z.string().min(1), rate.nullable()).default({}),
      connectTimeout: duration("30s"),
      /** How long an open connection waits for another message to the same destination. */
      idleConnectionTime: duration("5s"),
      maxMessagesPerConnection: count(100, 1, 100_000),
      /** RFC 5321 4.5.3.2 client timeouts (shorter values are for tests). */
      timeouts: z
        .strictObject({
          greeting: duration("5m"),
          mail: duration("5m"),
          rcpt: duration("5m"),
          dataInit: duration("2m"),
          dataBlock: duration("3m"),
          dataFinal: duration("10m"),
        })
        .prefault({}),
      port: z.number().int().min(1).max(65535).default(25),
      maxQueueTime: duration("5d"),
      /** A message still undelivered this long after arrival gets one delay DSN (RFC 3464); 0 = never. */
      delayWarning: duration("4h"),
      /** More trusted CA certificates (PEM file) for verifying MX, smart host and MTA-STS policy servers; null = the system's. */
      caFile: z.string().min(1).nullable().default(null),
      /** MTA-STS (RFC 8461), delivery/remote/mta-sts.ts; policies cached in the store. */
      mtaSts: z
        .strictObject({
          enabled: z.boolean().default(true),
          /** HTTPS port of https://mta-sts.DOMAIN/ (443; other values are for tests). */
          port: z.number().int().min(1).max(65535).default(443),
          fetchTimeout: duration("10s"),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Sender Rewriting Scheme for mail forwarded to remote alias targets (delivery/srs.ts). */
  srs: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** HMAC key (at least 16 characters); null = generated once into DATADIR/srs.secret. Same on every node. */
      secret: z.string().min(16).nullable().default(null),
      /** Earlier secrets, still accepted for bounces (rotation). */
      oldSecrets: z.array(z.string().min(16)).default([]),
      /** The SRS address's domain; null = the domain of the alias that forwards. Must be one of our domains. */
      domain: z.string().min(1).nullable().default(null),
      /** Bounces to SRS0 addresses older than this are refused. */
      maxAgeDays: z.number().int().min(1).max(365).default(21),
    })
    .prefault({}),
  /** ARC (RFC 8617): forwarded mail is sealed with the forwarding domain's DKIM key (RSA). */
  arc: z
    .strictObject({
      sealForwarded: z.boolean().default(true),
    })
    .prefault({}),
  /** Mail arriving on the smtp (MX) listener from unauthenticated clients. */
  inbound: z
    .strictObject({
      /** SPF, DKIM, ARC and DMARC checks with an Authentication-Results field (RFC 8601). */
      authentication: z.boolean().default(true),
      /** Smallest RSA key accepted for DKIM and ARC signatures (RFC 8301 3.2). */
      minKeyBits: z.number().int().min(512).max(8192).default(1024),
      ...inboundAuthPolicy,
      /** Overrides of spf/dmarc/arc per recipient domain (the strictest verdict of a message's domains applies). */
      perDomain: z.record(z.string().min(1), z.strictObject(inboundAuthOverride)).default({}),
      // Anti-abuse (policy/antiabuse.ts), never on submission nor for authenticated sessions:
      /** Our own hosts and applications: exempt from rate limits, DNSBL and greylisting, and may HELO with our names. */
      localNetworks: z.array(cidr).default(["127.0.0.0/8", "::1/128"]),
      /** Forward-confirmed reverse DNS of each client and HELO sanity findings, logged and kept as session facts. */
      clientChecks: z.boolean().default(true),
      /** Counted per process (see README); null = no limit. */
      rateLimits: z
        .strictObject({
          /** New connections per client address per minute; over it: 421 4.7.0 at connect. */
          connectionsPerMinute: z.number().int().min(1).max(1_000_000).nullable().default(null),
          /** MAIL commands per client address per minute; over it: 451 4.7.0. */
          messagesPerMinutePerIp: z.number().int().min(1).max(1_000_000).nullable().default(null),
          /** MAIL commands per envelope sender domain per minute; over it: 451 4.7.0. */
          messagesPerMinutePerSenderDomain: z.number().int().min(1).max(1_000_000).nullable().default(null),
        })
        .prefault({}),
    })
    .prefault({}),
  /** Greylisting (RFC 6647) at RCPT, state in the store (shared by every node). */
  greylist: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** A retry is accepted this long after the first attempt. */
      delay: duration("1m"),
      /** ... and only within this long of the first attempt (later: start over). */
      window: duration("24h"),
      /** A passed triplet (network, sender, recipient) is remembered this long after its last message. */
      passTtl: duration("35d"),
      /** A client network with this many passed triplets is no longer greylisted; 0 = never. */
      whitelistAfter: z.number().int().min(0).max(1_000_000).default(5),
      /** Networks never greylisted (besides inbound.localNetworks), e.g. partners' MTAs. */
      exemptNetworks: z.array(cidr).default([]),
      /** Sender domains not greylisted when SPF passes for the client (big providers that retry from other addresses). */
      spfWhitelist: z.array(z.string().min(1).regex(/^[A-Za-z0-9.-]+$/, "must be a domain")).default([]),
    })
    .refine((g) => g.delay < g.window, { message: "greylist.delay must be shorter than greylist.window", path: ["delay"] })
    .prefault({}),
  /** DNS blocklists (RFC 5782) asked about each client address. */
  dnsbl: z
    .strictObject({
      zones: z
        .array(
          z.strictObject({
            zone: z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, "must be a DNS zone"),
            /** Answers that count as listed (default: any 127.0.0.0/8 answer except 127.255.255.x error codes). */
            codes: z.array(z.string().refine((v) => isIP(v) === 4, "must be an IPv4 address")).optional(),
            /** reject: 554 5.7.1 naming the zone; score: add weight to the client's score. */
            action: z.enum(["reject", "score"]).default("reject"),
            weight: z.number().min(0).max(1000).default(1),
          }),
        )
        .default([]),
      /** connect: refuse at the greeting; rcpt: refuse each recipient but postmaster@ and abuse@. */
      stage: z.enum(["connect", "rcpt"]).default("rcpt"),
      /** Refuse when the summed weight of listing score zones reaches this; null = never. */
      scoreThreshold: z.number().min(0).nullable().default(null),
      /** A zone that does not answer: treat as not listed (accept), or 451 4.7.1 (tempfail). */
      onError: z.enum(["accept", "tempfail"]).default("accept"),
      /** How long a client's answers are kept in this process. */
      cacheTtl: duration("5m"),
    })
    .prefault({}),
  /** rspamd at end of data on the MX listener (policy/spam-filter.ts, app/rspamd-client.ts). */
  spamFilter: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** rspamd's normal worker (or proxy); POST /checkv2 is sent there. */
      url: z.string().regex(/^https?:\/\/[^\s]+$/, "must be an http:// or https:// URL").default("http://127.0.0.1:11333"),
      /** The whole exchange (message sent, answer read). */
      timeout: duration("20s"),
      /** rspamd down, slow or answering nonsense: accept the message, or 451 4.7.1. */
      onError: z.enum(["accept", "tempfail"]).default("accept"),
      /** Refuse (550 5.7.1) at or above this score whatever rspamd's action; null = rspamd decides. */
      rejectScore: z.number().nullable().default(null),
      /** X-Spamd-Result on every scanned message, X-Spam: Yes on spam. */
      addHeaders: z.boolean().default(true),
    })
    .prefault({}),
  /** DMARC aggregate reports (RFC 7489 7.2), received and sent (app/dmarc-reports.ts). */
  dmarc: z
    .strictObject({
      /** Where other domains' aggregate reports arrive (a local account or alias); they are parsed and stored. */
      reportAddress: z.string().regex(/^[^@\s]+@[^@\s]+$/, "must be an address").nullable().default(null),
      /** Send aggregate reports about mail received on the MX listener to each domain's rua= (once a day). */
      sendReports: z.boolean().default(false),
      /** From: and envelope sender of the reports we send (default: dmarc-noreply@<hostname>). */
      reportFrom: z.string().regex(/^[^@\s]+@[^@\s]+$/, "must be an address").nullable().default(null),
      /** org_name of the reports we send (default: the hostname). */
      orgName: z.string().min(1).nullable().default(null),
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
