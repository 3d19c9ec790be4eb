#!/usr/bin/env -S node --max-semi-space-size=2
/** The `petrel` command. One file per command group; each has --help and --config. */
import { Command } from "commander";
import { registerServe } from "./serve.js";
import { registerQueue } from "./queue.js";
import { registerDomain } from "./domain.js";
import { registerUser } from "./user.js";
import { registerAlias } from "./alias.js";
import { registerDkim } from "./dkim.js";
import { registerAuth } from "./auth.js";
import { registerTrace } from "./trace.js";
import { registerInit } from "./init.js";
import { registerDns } from "./dns.js";
import { registerDoctor } from "./doctor.js";
import { registerDmarc } from "./dmarc.js";
import { registerSend } from "./send.js";
import { registerSendmail, sendmailArgv, sendmailMain } from "./sendmail.js";
import { registerImport } from "./import.js";
import { registerReindex } from "./reindex.js";

const program = new Command();
program.name("petrel").description("Petrel: an all-in-one mail server").version("0.1.0");
registerServe(program);
registerQueue(program);
registerDomain(program);
registerUser(program);
registerAlias(program);
registerDkim(program);
registerAuth(program);
registerTrace(program);
registerInit(program);
registerDns(program);
registerDoctor(program);
registerDmarc(program);
registerSend(program);
registerSendmail(program);
registerImport(program);
registerReindex(program);
// Run as `sendmail` (a symlink) or `petrel sendmail`: sendmail's own option syntax, not commander's.
const sendmail = sendmailArgv(process.argv);
if (sendmail) await sendmailMain(sendmail);
else await program.parseAsync(process.argv);
