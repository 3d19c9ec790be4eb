#!/usr/bin/env -S node --max-semi-space-size=2
/** The `petrel` command. One file per command group; each has --help and --config. */
import { Command } from "commander";
import { registerServe } from "./serve.js";
import { registerQueue } from "./queue.js";
import { registerDomain } from "./domain.js";
import { registerUser } from "./user.js";
import { registerAlias } from "./alias.js";

const program = new Command();
program.name("petrel").description("Petrel: an all-in-one mail server").version("0.1.0");
registerServe(program);
registerQueue(program);
registerDomain(program);
registerUser(program);
registerAlias(program);
await program.parseAsync(process.argv);
