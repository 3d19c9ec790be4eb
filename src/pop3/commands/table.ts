/** The command table: verb -> states where it is valid, and its implementation. */
import type { Pop3Session, Pop3State } from "../session.js";
import { auth, capa, pass, quitAuthorization, stls, user } from "./authorization.js";
import { dele, list, noop, quit, retr, rset, stat, top, uidl } from "./transaction.js";

export interface CommandSpec {
  states: readonly Pop3State[];
  run(s: Pop3Session, arg: string): Promise<void> | void;
}

const A = ["authorization"] as const;
const T = ["transaction"] as const;

export const COMMANDS = new Map<string, CommandSpec>([
  ["CAPA", { states: ["authorization", "transaction"], run: capa }],
  ["USER", { states: A, run: user }],
  ["PASS", { states: A, run: pass }],
  ["AUTH", { states: A, run: auth }],
  ["STLS", { states: A, run: stls }],
  ["QUIT", { states: ["authorization", "transaction"], run: (s, a) => (s.state === "authorization" ? quitAuthorization(s, a) : quit(s, a)) }],
  ["STAT", { states: T, run: stat }],
  ["LIST", { states: T, run: list }],
  ["RETR", { states: T, run: retr }],
  ["DELE", { states: T, run: dele }],
  ["NOOP", { states: T, run: noop }],
  ["RSET", { states: T, run: rset }],
  ["TOP", { states: T, run: top }],
  ["UIDL", { states: T, run: uidl }],
]);
