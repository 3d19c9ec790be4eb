/**
 * Reading existing mail for `petrel import`: Maildir / Maildir++ folders and mbox files, one
 * message at a time (an mbox of gigabytes is streamed, never held whole).
 *
 * Maildir (https://cr.yp.to/proto/maildir.html, Maildir++ for subfolders): messages in cur/ and
 * new/ (tmp/ is work in progress: skipped), flags from the ":2," info suffix, the internal date
 * from the file's mtime (what Dovecot and Courier use), subfolders ".Sub.Folder" -> "Sub/Folder"
 * (names in modified UTF-7, as Courier and Dovecot write them).
 *
 * mbox (RFC 4155): a message starts at a "From " line at the start of the file or after an empty
 * line; the empty line before it belongs to the separator. ">From " lines are unquoted the
 * mboxrd way (one ">" less for ">>From "), which also undoes mboxo's quoting. The internal date
 * comes from the From_ line; flags from Status: / X-Status: (mutt, Dovecot, Thunderbird).
 */
import { createReadStream } from "node:fs";
import { open, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { decodeMutf7 } from "../../imap/mutf7.js";

export interface SourceMessage {
  /** The message, CRLF line endings. */
  raw: Buffer;
  flags: string[];
  internalDate: number;
  /** Where it came from, for error messages. */
  origin: string;
}

export interface SourceFolder {
  /** Folder name relative to the import target: "" for the top, else "Sub/Folder". */
  name: string;
  /** How many units of work (messages for a Maildir, octets for an mbox), for progress. */
  size: number;
  unit: "messages" | "bytes";
  /** Messages in order; `progress` is called with the units done so far. */
  messages(progress: (done: number) => void): AsyncGenerator<SourceMessage>;
}

export type SourceFormat = "maildir" | "mbox";

/** LF or CRLF in, CRLF out (lone CRs are left alone). */
export function toCrlf(data: Buffer): Buffer {
  let lf = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0x0a && (i === 0 || data[i - 1] !== 0x0d)) lf++;
  if (lf === 0) return data;
  const out = Buffer.allocUnsafe(data.length + lf);
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0a && (i === 0 || data[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = data[i]!;
  }
  return out;
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

export async function detectFormat(path: string): Promise<SourceFormat> {
  const s = await stat(path).catch(() => null);
  if (!s) throw new Error(`${path}: no such file or directory`);
  if (s.isFile()) return "mbox";
  if (s.isDirectory()) {
    if ((await isDir(join(path, "cur"))) || (await isDir(join(path, "new")))) return "maildir";
    const names = await readdir(path);
    for (const n of names) if (n.startsWith(".") && ((await isDir(join(path, n, "cur"))) || (await isDir(join(path, n, "new"))))) return "maildir";
    throw new Error(`${path}: a directory, but not a Maildir (no cur/ or new/)`);
  }
  throw new Error(`${path}: neither a file (mbox) nor a directory (Maildir)`);
}

// ---- Maildir ----

/** Maildir info flags (":2,DFRST") -> IMAP flags. Unknown letters (keywords a-z) are skipped. */
const MAILDIR_FLAGS: Record<string, string> = { S: "\\Seen", R: "\\Answered", F: "\\Flagged", T: "\\Deleted", D: "\\Draft" };

export function maildirFlags(filename: string): string[] {
  // ":2," on Unix; "!2," or ";2," where ":" is not allowed in file names.
  const m = /[:!;]2,([A-Za-z]*)$/.exec(filename);
  if (!m) return [];
  const out: string[] = [];
  for (const ch of new Set(m[1]!)) if (MAILDIR_FLAGS[ch]) out.push(MAILDIR_FLAGS[ch]!);
  return out;
}

/** ".Sub.Folder" -> "Sub/Folder" (Maildir++), decoded from modified UTF-7. */
export function maildirFolderName(dirName: string): string {
  const parts = dirName.replace(/^\./, "").split(".").filter((p) => p !== "");
  return parts.map((p) => (p.includes("&") ? (decodeMutf7(p) ?? p) : p)).join("/");
}

async function maildirFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const sub of ["cur", "new"]) {
    const names = await readdir(join(dir, sub)).catch(() => [] as string[]);
    for (const n of names) if (!n.startsWith(".")) files.push(join(sub, n));
  }
  // Delivery order: the unique names start with the delivery time (seconds), then the rest.
  return files.sort((a, b) => {
    const ta = Number(/^(\d+)/.exec(a.slice(4))?.[1] ?? 0);
    const tb = Number(/^(\d+)/.exec(b.slice(4))?.[1] ?? 0);
    return ta - tb || (a.slice(4) < b.slice(4) ? -1 : a.slice(4) > b.slice(4) ? 1 : 0);
  });
}

function maildirFolder(dir: string, name: string, files: string[]): SourceFolder {
  return {
    name,
    size: files.length,
    unit: "messages",
    async *messages(progress) {
      let done = 0;
      for (const f of files) {
        const p = join(dir, f);
        const [data, st] = await Promise.all([readFile(p), stat(p)]).catch((e: NodeJS.ErrnoException) => {
          // Moved by a running MUA between the listing and now: not an error of ours.
          if (e.code === "ENOENT") return [null, null] as const;
          throw e;
        });
        done++;
        if (data && st) yield { raw: toCrlf(data), flags: f.startsWith("new") ? [] : maildirFlags(f), internalDate: st.mtimeMs, origin: p };
        progress(done);
      }
    },
  };
}

export async function maildirFolders(root: string): Promise<SourceFolder[]> {
  const folders: SourceFolder[] = [];
  if ((await isDir(join(root, "cur"))) || (await isDir(join(root, "new")))) folders.push(maildirFolder(root, "", await maildirFiles(root)));
  const subs = (await readdir(root)).filter((n) => n.startsWith(".") && n !== "." && n !== "..").sort();
  for (const n of subs) {
    const dir = join(root, n);
    if (!(await isDir(join(dir, "cur"))) && !(await isDir(join(dir, "new")))) continue;
    const name = maildirFolderName(n);
    if (name === "") continue;
    folders.push(maildirFolder(dir, name, await maildirFiles(dir)));
  }
  return folders;
}

// ---- mbox ----

/** "From sender@x Sat Jan  3 01:05:34 1996" (asctime, optionally with a zone): the date, or null. */
export function fromLineDate(line: string): number | null {
  const m = /^From \S*\s+(\w{3}\s+\w{3}\s+\d{1,2}\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s+[A-Z]{2,5}|\s+[+-]\d{4})?\s+\d{4}(?:\s+[+-]\d{4})?)\s*$/.exec(line);
  if (!m) return null;
  const text = m[1]!.replace(/\s+/g, " ");
  // asctime has no zone: read it as UTC (local time on the writer's machine is unknowable).
  const parts = /^(\w{3}) (\w{3}) (\d{1,2}) (\d{1,2}:\d{2}(?::\d{2})?)(?: ([A-Z]{2,5}|[+-]\d{4}))? (\d{4})(?: ([+-]\d{4}))?$/.exec(text);
  if (!parts) return null;
  const zone = parts[7] ?? (parts[5] && /^[+-]/.test(parts[5]) ? parts[5] : "+0000");
  const t = Date.parse(`${parts[3]} ${parts[2]} ${parts[6]} ${parts[4]} ${zone}`);
  return Number.isNaN(t) ? null : t;
}

/** A From_ line: "From " then an address-ish word and an asctime date (so body text is not one). */
export function isFromLine(line: string): boolean {
  return line.startsWith("From ") && fromLineDate(line) !== null;
}

/** Flags from mbox Status: (R read) and X-Status: (A answered, F flagged, T draft, D deleted). */
export function mboxFlags(header: string): string[] {
  const flags = new Set<string>();
  const status = /^Status:[ \t]*([A-Za-z]*)/im.exec(header)?.[1] ?? "";
  const x = /^X-Status:[ \t]*([A-Za-z]*)/im.exec(header)?.[1] ?? "";
  if (status.includes("R")) flags.add("\\Seen");
  if (x.includes("A")) flags.add("\\Answered");
  if (x.includes("F")) flags.add("\\Flagged");
  if (x.includes("T")) flags.add("\\Draft");
  if (x.includes("D")) flags.add("\\Deleted");
  return [...flags];
}

export async function mboxFolder(path: string, name = ""): Promise<SourceFolder> {
  const size = (await stat(path)).size;
  // Refuse a file that is no mbox before any mailbox is created for it.
  const fh = await open(path, "r");
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4096), 0, 4096, 0);
    const first = buffer.subarray(0, bytesRead).toString("latin1").replace(/^(\r?\n)+/, "").split(/\r?\n/)[0] ?? "";
    if (bytesRead > 0 && first !== "" && !isFromLine(first)) throw new Error(`${path}: not an mbox file (it does not start with a "From " line)`);
  } finally {
    await fh.close();
  }
  return {
    name,
    size,
    unit: "bytes",
    async *messages(progress) {
      // latin1 keeps every octet as one character: the bytes come back unchanged.
      const stream = createReadStream(path, { encoding: "latin1", highWaterMark: 1 << 20 });
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      let current: string[] | null = null;
      let fromDate: number | null = null;
      let prevBlank = true;
      let n = 0;
      const finish = (): SourceMessage | null => {
        if (!current) return null;
        // The empty line before the next From_ line is the separator's, not the message's.
        if (current.length && current[current.length - 1] === "") current.pop();
        const text = current.map((l) => l + "\r\n").join("");
        const headEnd = text.indexOf("\r\n\r\n");
        const header = headEnd < 0 ? text : text.slice(0, headEnd);
        const date = fromDate ?? headerDate(header) ?? Date.now();
        return { raw: Buffer.from(text, "latin1"), flags: mboxFlags(header), internalDate: date, origin: `${path} message ${n}` };
      };
      // Octets consumed so far (latin1: one character per octet; readline took the LF).
      let consumed = 0;
      for await (const raw of lines) {
        consumed += raw.length + 1;
        const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
        if (prevBlank && isFromLine(line)) {
          const m = finish();
          if (m) yield m;
          progress(Math.min(size, consumed));
          n++;
          current = [];
          fromDate = fromLineDate(line);
          prevBlank = false;
          continue;
        }
        prevBlank = line === "";
        if (current === null) {
          if (line === "") continue; // blank lines before the first From_ line
          throw new Error(`${path}: not an mbox file (it does not start with a "From " line)`);
        }
        // mboxrd (and mboxo): ">From " -> "From ", ">>From " -> ">From ".
        current.push(/^>+From /.test(line) ? line.slice(1) : line);
      }
      const m = finish();
      if (m) yield m;
      progress(size);
    },
  };
}

function headerDate(header: string): number | null {
  const m = /^Date:[ \t]*(.+(?:\r\n[ \t].*)*)/im.exec(header);
  if (!m) return null;
  const t = Date.parse(m[1]!.replace(/\r\n[ \t]/g, " ").replace(/\([^)]*\)/g, "").trim());
  return Number.isNaN(t) ? null : t;
}
