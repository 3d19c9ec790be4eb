/**
 * `petrel sendmail [-t] [-i] [-f FROM] [-F NAME] [-oi] [RCPT...]`, also run as `sendmail` (a
 * symlink to petrel: main.ts looks at argv[1]). Sendmail's own option syntax, not commander's:
 * single-dash options, values attached or separate (-ffrom, -f from), options before the
 * recipients, and the other sendmail options callers pass (-oem, -odi, -bm, -v...) accepted.
 * Exit statuses are sysexits.h values, as callers of sendmail expect.
 */
import type { Command } from "commander";
import { statSync } from "node:fs";
import { userInfo } from "node:os";
import { ConfigError } from "../core/errors.js";
import { openStore } from "../app/open-store.js";
import { EX, SendmailError, queueMessage, readMessage } from "../app/tools/index.js";
import { load } from "./context.js";

const USAGE = `usage: sendmail [-t] [-i] [-oi] [-f from] [-F fullname] [--config FILE] [recipient ...]

Reads a message on stdin and queues it for delivery by Petrel.
  -t            also take recipients from To:, Cc: and Bcc: (Bcc: is removed)
  -i, -oi       a line with a single "." does not end the message
  -f from       envelope sender (default: you@ the config's hostname or first local domain)
  -F fullname   name for the From: field added when the message has none
  -v            print the queue id
  -C, --config FILE   config file (default: PETREL_CONFIG)
  --data-dir DIR      data directory
`;

export interface SendmailArgs {
  extract: boolean;
  ignoreDots: boolean;
  sender?: string;
  fullName?: string;
  verbose: boolean;
  config?: string;
  dataDir?: string;
  recipients: string[];
  help: boolean;
}

/** Options that take a value, sendmail style. */
const WITH_VALUE = new Set(["f", "F", "r", "C", "B", "N", "R", "V", "X", "h", "L", "O", "p", "q"]);

export function parseSendmailArgs(argv: readonly string[]): SendmailArgs {
  const a: SendmailArgs = { extract: false, ignoreDots: false, verbose: false, recipients: [], help: false };
  let i = 0;
  let operands = false;
  const value = (opt: string, attached: string): string => {
    if (attached !== "") return attached;
    const v = argv[++i];
    if (v === undefined) throw new SendmailError(EX.USAGE, `option -${opt} needs a value`);
    return v;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    // Long options are ours (tests and wrappers put them anywhere).
    if (arg === "--config" || arg === "--data-dir") {
      const v = argv[++i];
      if (v === undefined) throw new SendmailError(EX.USAGE, `${arg} needs a value`);
      if (arg === "--config") a.config = v;
      else a.dataDir = v;
      continue;
    }
    if (arg.startsWith("--config=")) a.config = arg.slice(9);
    else if (arg.startsWith("--data-dir=")) a.dataDir = arg.slice(11);
    else if (arg === "--help") a.help = true;
    else if (operands || !arg.startsWith("-") || arg === "-") {
      operands = true;
      a.recipients.push(arg);
    } else if (arg === "--") operands = true;
    else {
      const opt = arg[1]!;
      const rest = arg.slice(2);
      switch (opt) {
        case "t":
          if (rest !== "") throw new SendmailError(EX.USAGE, `unknown option ${arg}`);
          a.extract = true;
          break;
        case "i":
          a.ignoreDots = true;
          break;
        case "v":
          a.verbose = true;
          break;
        case "f":
        case "r": // old synonym of -f
          a.sender = value(opt, rest);
          break;
        case "F":
          a.fullName = value(opt, rest);
          break;
        case "C":
          a.config = value(opt, rest);
          break;
        case "o":
          // -oi (= -i); -oem, -odi, -odb, -oQ... are about sendmail's own queue: no meaning here.
          if (rest === "i") a.ignoreDots = true;
          break;
        case "b":
          // -bm (deliver mail, the default) is the only mode we have.
          if (rest !== "m" && rest !== "") throw new SendmailError(EX.USAGE, `mode -b${rest} is not supported (only -bm)`);
          break;
        case "U":
        case "n":
        case "m":
        case "e":
        case "d":
          break; // initial submission, no aliasing, me too, error mode, delivery mode: ignored
        default:
          if (WITH_VALUE.has(opt)) {
            value(opt, rest);
            break;
          }
          throw new SendmailError(EX.USAGE, `unknown option ${arg}`);
      }
    }
  }
  return a;
}

export async function sendmailMain(argv: readonly string[]): Promise<never> {
  let code: number = EX.OK;
  try {
    const args = parseSendmailArgs(argv);
    if (args.help) {
      process.stdout.write(USAGE);
      process.exit(EX.OK);
    }
    let loaded;
    try {
      loaded = load({ config: args.config, dataDir: args.dataDir });
    } catch (e) {
      throw e instanceof ConfigError ? new SendmailError(EX.CONFIG, `configuration error: ${e.message}`) : e;
    }
    const { config } = loaded;
    let message: Buffer;
    try {
      message = await readMessage(process.stdin, args.ignoreDots, config.smtp.maxMessageSize);
    } catch (e) {
      throw e instanceof SendmailError ? e : new SendmailError(EX.NOINPUT, `cannot read the message: ${(e as Error).message}`);
    }
    // Who called us, before dropping privileges: for Received: and the default sender.
    const u = userInfo();
    dropRoot(config.dataDir);
    let opened;
    try {
      opened = await openStore(config, { server: false });
    } catch (e) {
      const code = String((e as NodeJS.ErrnoException).code ?? "");
      if (/^(EACCES|EPERM|EROFS|SQLITE_CANTOPEN|SQLITE_READONLY)/.test(code)) throw new SendmailError(EX.NOPERM, `no permission to write the queue in ${config.dataDir}: run as its owner or root (${(e as Error).message})`);
      // The database is busy, locked or unreachable: the caller should try again later.
      throw new SendmailError(EX.TEMPFAIL, `cannot open the queue: ${(e as Error).message}`);
    }
    const { store, bodiesInStore } = opened;
    try {
      const id = await queueMessage(store, config, bodiesInStore, { recipients: args.recipients, extract: args.extract, sender: args.sender, fullName: args.fullName, user: { name: u.username, uid: u.uid }, message }).catch((e: unknown) => {
        if (e instanceof SendmailError) throw e;
        const err = e as NodeJS.ErrnoException;
        // Disk full, database busy, I/O: temporary. Anything else is our bug.
        if (err.code && /^(EACCES|EPERM|EROFS|SQLITE_READONLY|SQLITE_CANTOPEN)/.test(err.code)) throw new SendmailError(EX.NOPERM, `no permission to write the queue in ${config.dataDir}: ${err.message}`);
        if (err.code && /^(ENOSPC|EIO|EAGAIN|EBUSY|SQLITE_BUSY|SQLITE_LOCKED|SQLITE_FULL|SQLITE_IOERR|ECONNREFUSED|ETIMEDOUT|ECONNRESET)/.test(err.code)) throw new SendmailError(EX.TEMPFAIL, `cannot queue the message: ${err.message}`);
        throw new SendmailError(EX.SOFTWARE, `internal error: ${err.message}`);
      });
      if (args.verbose) process.stderr.write(`sendmail: queued as ${id}\n`);
    } finally {
      await store.close();
    }
  } catch (e) {
    code = e instanceof SendmailError ? e.exitCode : EX.SOFTWARE;
    process.stderr.write(`sendmail: ${(e as Error).message}\n`);
  }
  process.exit(code);
}

/**
 * Run by root (cron, a system MUA), we become the owner of the data directory before touching
 * it, as Postfix's postdrop works as the mail system's group: files root created there (the
 * SQLite WAL, spool files) would be unreadable for a server that runs as that user.
 */
function dropRoot(dataDir: string): void {
  if (process.getuid?.() !== 0 || !process.setuid || !process.setgid) return;
  let st;
  try {
    st = statSync(dataDir);
  } catch {
    return; // no data directory yet: opening the store says what is wrong
  }
  if (st.uid === 0) return;
  process.setgid(st.gid);
  process.setuid(st.uid);
}

/** `petrel sendmail` in the command list; main.ts hands its arguments to sendmailMain. */
export function registerSendmail(program: Command): void {
  program
    .command("sendmail")
    .description("read a message on stdin and queue it (sendmail -t -i -f ... compatible; also runs as a `sendmail` symlink)")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[args...]")
    .action(async () => {
      await sendmailMain(process.argv.slice(process.argv.indexOf("sendmail") + 1));
    });
}

/** Whether this process runs as sendmail: a `sendmail` symlink, or `petrel sendmail ...`. */
export function sendmailArgv(argv: readonly string[]): readonly string[] | null {
  const base = (argv[1] ?? "").split(/[\\/]/).pop() ?? "";
  if (base === "sendmail") return argv.slice(2);
  if (argv[2] === "sendmail") return argv.slice(3);
  return null;
}
