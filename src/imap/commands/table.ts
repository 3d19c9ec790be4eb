/** The command table: name -> states where it is valid, whether it takes arguments, and its handler. */
import type { CommandContext, Done, ImapSession, ImapState } from "../session.js";
import { capability, enable, id, logout, noop } from "./any.js";
import { authenticate, login, starttls } from "./auth.js";
import { create, del, namespace, rename, status, subscribe } from "./mailbox.js";
import { list, lsub } from "./list.js";
import { close, expunge, select, unselect } from "./select.js";
import { append } from "./append.js";
import { idle } from "./idle.js";
import { fetch, store } from "./fetch.js";
import { search } from "./search.js";
import { copy } from "./copy.js";
import { getQuota, getQuotaRoot, setQuota } from "./quota.js";

export interface CommandSpec {
  states: readonly ImapState[];
  /** The command takes arguments (a space follows its name). */
  args: boolean;
  run(s: ImapSession, c: CommandContext): Promise<Done> | Done;
}

const ANY = ["notauth", "auth", "selected"] as const;
const N = ["notauth"] as const;
const A = ["auth", "selected"] as const;
const S = ["selected"] as const;

export const COMMANDS = new Map<string, CommandSpec>([
  ["CAPABILITY", { states: ANY, args: false, run: capability }],
  ["NOOP", { states: ANY, args: false, run: noop }],
  ["LOGOUT", { states: ANY, args: false, run: logout }],
  ["ID", { states: ANY, args: true, run: id }],
  ["STARTTLS", { states: N, args: false, run: starttls }],
  ["LOGIN", { states: N, args: true, run: login }],
  ["AUTHENTICATE", { states: N, args: true, run: authenticate }],
  // RFC 5161 3.1 / RFC 9051 6.3.1: ENABLE only in authenticated state, before a SELECT.
  ["ENABLE", { states: ["auth"], args: true, run: enable }],
  ["SELECT", { states: A, args: true, run: select }],
  ["EXAMINE", { states: A, args: true, run: select }],
  ["CREATE", { states: A, args: true, run: create }],
  ["DELETE", { states: A, args: true, run: del }],
  ["RENAME", { states: A, args: true, run: rename }],
  ["SUBSCRIBE", { states: A, args: true, run: subscribe }],
  ["UNSUBSCRIBE", { states: A, args: true, run: subscribe }],
  ["LIST", { states: A, args: true, run: list }],
  ["LSUB", { states: A, args: true, run: lsub }],
  ["NAMESPACE", { states: A, args: false, run: namespace }],
  ["STATUS", { states: A, args: true, run: status }],
  ["APPEND", { states: A, args: true, run: append }],
  ["IDLE", { states: A, args: false, run: idle }],
  ["GETQUOTA", { states: A, args: true, run: getQuota }],
  ["GETQUOTAROOT", { states: A, args: true, run: getQuotaRoot }],
  ["SETQUOTA", { states: A, args: true, run: setQuota }],
  ["CHECK", { states: S, args: false, run: noop }],
  ["CLOSE", { states: S, args: false, run: close }],
  ["UNSELECT", { states: S, args: false, run: unselect }],
  ["EXPUNGE", { states: S, args: false, run: expunge }],
  ["UID EXPUNGE", { states: S, args: true, run: expunge }],
  ["SEARCH", { states: S, args: true, run: search }],
  ["UID SEARCH", { states: S, args: true, run: search }],
  ["FETCH", { states: S, args: true, run: fetch }],
  ["UID FETCH", { states: S, args: true, run: fetch }],
  ["STORE", { states: S, args: true, run: store }],
  ["UID STORE", { states: S, args: true, run: store }],
  ["COPY", { states: S, args: true, run: copy }],
  ["UID COPY", { states: S, args: true, run: copy }],
  ["MOVE", { states: S, args: true, run: copy }],
  ["UID MOVE", { states: S, args: true, run: copy }],
]);
