// The open-files limit decides how many connections one process can hold: each socket is one fd,
// on our side and on the server's. Node cannot raise it itself, so we check and explain.
import { readFileSync } from "node:fs";

/** The soft "Max open files" limit of a process (default: this one), or undefined if unknown. */
export function openFilesLimit(pid: number | "self" = "self"): number | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "latin1"));
    if (!m) return undefined;
    return m[1] === "unlimited" ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return undefined;
  }
}

export function emfileAdvice(wanted: number): string {
  const limit = openFilesLimit();
  return (
    `this process may open ${limit ?? "?"} files, ${wanted} connections need ${wanted + 100}. Raise the limit in the shell that runs the ` +
    `benchmark, e.g. \`ulimit -n ${Math.max(65536, wanted + 1000)}\` (hard limit: \`ulimit -Hn\`), ` +
    `then run it again. The server under test needs the same.`
  );
}

export function isEmfile(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === "EMFILE" || code === "ENFILE";
}
