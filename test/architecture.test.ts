/**
 * The layering rules of DESIGN.md, checked on every import in src/: a folder may import only
 * from lower layers (and itself), and the untrusted-input parsers do no I/O.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, dirname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), "../../src");

const LAYER: Record<string, number> = {
  core: 0,
  config: 1, dns: 1, mime: 1, observability: 1,
  smtp: 2, msgauth: 2, store: 2, auth: 2,
  policy: 3, queue: 3, delivery: 3,
  // ops: the DNS records a domain needs, checking them, `petrel doctor` (over config, dns, msgauth)
  ops: 3,
  imap: 4, pop3: 4, api: 4, web: 4,
  app: 5,
  cli: 6,
};
/** Exceptions DESIGN.md states: smtp may import core only. */
const ONLY: Record<string, string[]> = { smtp: ["core", "smtp"] };
/**
 * Sibling imports DESIGN.md names: queue defines Transport, delivery implements it; auth uses
 * the store's interfaces (Directory, AuthFailureStore), types only: app/ wires the backends.
 */
const SIBLING: Record<string, string[]> = { delivery: ["queue"], auth: ["store"] };
/** Sibling imports that must be `import type` (no runtime dependency). */
const TYPES_ONLY: Record<string, string[]> = { auth: ["store"] };

function* tsFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) yield p;
  }
}

const sourceDir = SRC;

test("every import respects the layers of DESIGN.md", () => {
  const violations: string[] = [];
  let files = 0;
  for (const file of tsFiles(sourceDir)) {
    files++;
    const from = relative(sourceDir, file).split(sep)[0]!;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:import|export)[^"']*?from\s+["']([^"']+)["']/g)) {
      const spec = m[1]!;
      if (!spec.startsWith(".")) continue;
      const target = relative(sourceDir, resolve(dirname(file), spec)).split(sep)[0]!;
      if (target === from) continue;
      const allowed = ONLY[from] ? ONLY[from]!.includes(target) : (LAYER[target] ?? 99) < (LAYER[from] ?? -1) || from === "app" || from === "cli" || (SIBLING[from]?.includes(target) ?? false);
      if (!allowed) violations.push(`${relative(sourceDir, file)} imports ${target} (${spec})`);
      else if (TYPES_ONLY[from]?.includes(target) && !/^import type /.test(m[0])) violations.push(`${relative(sourceDir, file)} imports ${target} at run time (${spec}); only types may be imported`);
    }
  }
  assert.ok(files > 20, `expected to scan the sources, found ${files} files`);
  assert.deepEqual(violations, []);
});

test("the code that reads untrusted bytes does no I/O of its own", () => {
  // Sockets are app/serve-socket.ts's business: the protocol engines hold none.
  const pure = ["smtp", "pop3", "mime"];
  const offenders: string[] = [];
  for (const dir of pure) {
    for (const file of tsFiles(join(sourceDir, dir))) {
      const text = readFileSync(file, "utf8");
      if (/from\s+["']node:(fs|net|tls|child_process|dgram|http|https)(\/promises)?["']/.test(text)) offenders.push(relative(sourceDir, file));
    }
  }
  assert.deepEqual(offenders, []);
});
