/**
 * `petrel send`: a test client like swaks. Sends one message with our own SMTP client and
 * prints the whole dialogue with the time of each line; exits 1 on any failure.
 */
import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import { userInfo, hostname as osHostname } from "node:os";
import { parseDuration } from "../config/duration.js";
import { composeMessage, parseHeaderArg, parseServer, sendTestMessage, type Attachment } from "../app/tools/index.js";
import { fail, load, type GlobalOptions } from "./context.js";
import { promptHidden, readLine } from "./read-password.js";

interface SendCliOptions extends GlobalOptions {
  server?: string;
  from?: string;
  to: string[];
  starttls?: boolean;
  tls?: boolean;
  insecure?: boolean;
  auth?: string;
  authPasswordStdin?: boolean;
  authMethod?: string;
  header: string[];
  subject?: string;
  body?: string;
  attach: string[];
  data?: string;
  helo?: string;
  timeout: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** The listener's address as a place to connect to: a wildcard address means this host. */
function connectable(listen: string): string {
  const { host, port } = parseServer(listen, 25);
  const h = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return `${h.includes(":") ? `[${h}]` : h}:${port}`;
}

async function password(opts: SendCliOptions, given: string | undefined): Promise<string> {
  if (opts.authPasswordStdin) return readLine();
  if (given !== undefined) return given;
  if (process.stdin.isTTY) return promptHidden("Password: ");
  throw new Error("--auth: give the password as user:password, with --auth-password-stdin, or on a terminal");
}

export function registerSend(program: Command): void {
  program
    .command("send")
    .description("send a test message and print the SMTP dialogue (like swaks)")
    .option("--server <host[:port]>", "server to talk to (default: the config's submission listener, else 127.0.0.1:25)")
    .option("--from <address>", "envelope sender and From: (default: you@hostname)")
    .option("--to <address>", "recipient (repeatable)", collect, [])
    .option("--starttls", "require STARTTLS")
    .option("--tls", "TLS from the first byte (implicit TLS, port 465)")
    .option("--insecure", "do not verify the server's certificate")
    .option("--auth <user[:password]>", "authenticate (password from --auth-password-stdin or a prompt when not given)")
    .option("--auth-password-stdin", "read the AUTH password from the first line of stdin")
    .option("--auth-method <mech>", "PLAIN or LOGIN (default: PLAIN when offered)")
    .option("--header <'Name: value'>", "add a header field, or replace a default one (repeatable)", collect, [])
    .option("--subject <text>", "Subject: (default: test <date>)")
    .option("--body <text|@file>", "body text, or @file to read it from a file")
    .option("--attach <file>", "attach a file, base64, Content-Type from its extension (repeatable)", collect, [])
    .option("--data <file>", "send this file as the whole message, as is (- for stdin)")
    .option("--helo <name>", "name in EHLO (default: this host's name)")
    .option("--timeout <duration>", "timeout of each step, e.g. 30s", "30s")
    .option("--config <file>", "config file")
    .option("--data-dir <dir>", "data directory")
    .action(async (opts: SendCliOptions) => {
      let outcome;
      try {
        if (opts.to.length === 0) throw new Error("give at least one --to");
        if (opts.starttls && opts.tls) throw new Error("--starttls and --tls exclude each other");
        if (opts.data && (opts.attach.length || opts.body !== undefined || opts.subject !== undefined || opts.header.length)) {
          throw new Error("--data sends a message as is: it excludes --body, --subject, --header and --attach");
        }
        if (opts.data === "-" && opts.authPasswordStdin) throw new Error("--data - and --auth-password-stdin both want stdin");
        const method = opts.authMethod?.toUpperCase();
        if (method !== undefined && method !== "PLAIN" && method !== "LOGIN") throw new Error(`--auth-method ${opts.authMethod}: PLAIN or LOGIN`);
        const timeoutMs = parseDuration(opts.timeout);
        if (timeoutMs === null || timeoutMs <= 0) throw new Error(`--timeout ${opts.timeout}: give a duration like 30s`);
        opts.header.forEach(parseHeaderArg);

        // The config gives the default server and our name; with --server, a missing or broken
        // config is no reason to refuse.
        let hostname = osHostname();
        let server = opts.server;
        try {
          const { config } = load(opts);
          hostname = config.hostname;
          server ??= config.listen.submission ? connectable(config.listen.submission) : "127.0.0.1:25";
        } catch (e) {
          if (!server) throw e;
        }
        const { host, port } = parseServer(server ?? "127.0.0.1:25", opts.tls ? 465 : 25);
        const from = opts.from ?? `${userInfo().username}@${hostname}`;

        let message: Buffer;
        if (opts.data) {
          message = opts.data === "-" ? await readAll(process.stdin) : await readFile(opts.data);
          // SMTP wants CRLF (RFC 5321 2.3.8): bare LFs of a Unix file become CRLF.
          message = Buffer.from(message.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1");
        } else {
          const body = opts.body === undefined ? "This is a test mailing.\n" : opts.body.startsWith("@") ? await readFile(opts.body.slice(1), "utf8") : opts.body;
          const attachments: Attachment[] = [];
          for (const f of opts.attach) attachments.push({ filename: f, data: await readFile(f) });
          message = composeMessage({ from, to: opts.to, subject: opts.subject ?? `test ${new Date().toUTCString()}`, body, headers: opts.header, attachments, hostname });
        }

        let auth;
        if (opts.auth !== undefined) {
          const i = opts.auth.indexOf(":");
          const user = i < 0 ? opts.auth : opts.auth.slice(0, i);
          auth = { user, password: await password(opts, i < 0 ? undefined : opts.auth.slice(i + 1)), ...(method ? { mechanism: method as "PLAIN" | "LOGIN" } : {}) };
        }

        outcome = await sendTestMessage({
          host,
          port,
          tls: opts.tls ? "implicit" : opts.starttls ? "starttls" : "none",
          verify: !opts.insecure,
          auth,
          helo: opts.helo ?? hostname,
          from,
          to: opts.to,
          message,
          timeoutMs,
          onLine: (d, text, ms) => process.stdout.write(`${(ms / 1000).toFixed(3).padStart(7)}s ${d} ${text}\n`),
        });
      } catch (e) {
        fail(e);
      }
      if (!outcome.ok) {
        process.stderr.write(`petrel send: failed: ${outcome.error}\n`);
        process.exit(1);
      }
    });
}

async function readAll(input: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(typeof c === "string" ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks);
}
