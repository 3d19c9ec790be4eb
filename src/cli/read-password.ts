/**
 * Reading a new password for `petrel user add|passwd`: from a terminal, typed twice without
 * echo; otherwise (or with --password-stdin) the first line of stdin. Prompts go to stderr,
 * so stdout stays clean for scripts. The password is never printed.
 */
import { StringDecoder } from "node:string_decoder";

/** Longer lines are refused rather than buffered without end. */
const MAX_LINE = 4096;

export class PasswordInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PasswordInputError";
  }
}

/** One line from stdin, without its line ending. EOF before any newline ends the line. */
export async function readLine(input: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    const nl = b.indexOf(0x0a);
    const part = nl < 0 ? b : b.subarray(0, nl);
    chunks.push(part);
    size += part.length;
    if (size > MAX_LINE) throw new PasswordInputError(`password line longer than ${MAX_LINE} bytes`);
    if (nl >= 0) break;
  }
  return Buffer.concat(chunks).toString("utf8").replace(/\r$/, "");
}

/** Prompt on stderr and read a line from the terminal in raw mode, echoing nothing. */
export function promptHidden(prompt: string, tty: NodeJS.ReadStream = process.stdin, out: NodeJS.WriteStream = process.stderr): Promise<string> {
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder("utf8");
    let value = "";
    // Raw mode first: no echo even for what is typed the moment the prompt appears.
    tty.setRawMode(true);
    tty.resume();
    out.write(prompt);
    const done = (err: Error | null) => {
      tty.off("data", onData);
      tty.setRawMode(false);
      tty.pause();
      out.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of decoder.write(chunk)) {
        switch (ch) {
          case "\r":
          case "\n":
            return done(null);
          case "\x03": // Ctrl-C
            return done(new PasswordInputError("interrupted"));
          case "\x04": // Ctrl-D
            if (value === "") return done(new PasswordInputError("no password entered"));
            return done(null);
          case "\x7f":
          case "\b":
            value = Array.from(value).slice(0, -1).join("");
            break;
          case "\x15": // Ctrl-U: start again
            value = "";
            break;
          default:
            if (ch >= " ") value += ch;
            if (value.length > MAX_LINE) return done(new PasswordInputError(`password longer than ${MAX_LINE} characters`));
        }
      }
    };
    tty.on("data", onData);
  });
}

/**
 * A new password: stdin's first line with fromStdin or when stdin is not a terminal, else
 * typed twice. Refuses an empty password.
 */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  let pw: string;
  if (!fromStdin && process.stdin.isTTY) {
    pw = await promptHidden("New password: ");
    if (pw !== "" && (await promptHidden("Retype new password: ")) !== pw) throw new PasswordInputError("the passwords do not match");
  } else {
    pw = await readLine();
  }
  if (pw === "") throw new PasswordInputError("empty password refused");
  return pw;
}
