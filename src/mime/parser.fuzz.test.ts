/**
 * Properties (fast-check): whatever the bytes (random, MIME-like token soup, mutations of the
 * fixtures) parseMessage does not throw and keeps every promise of treeProblems; and for random
 * well-formed trees, every part's header and body are exactly the octets that were written.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { parseMessage, type MimePart } from "./index.js";
import { treeProblems } from "./invariants.js";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/mime");
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".eml"))
  .map((f) => readFileSync(join(FIXTURES, f)));

function holds(raw: Buffer): void {
  const m = parseMessage(raw);
  const problems = treeProblems(raw, m);
  assert.deepEqual(problems, [], raw.toString("latin1").slice(0, 2000));
  assert.equal(typeof m.searchBody, "string");
  assert.equal(typeof m.searchHeaders, "string");
}

test("random bytes", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => holds(Buffer.from(bytes))),
    { numRuns: 300 },
  );
});

const TOKENS = [
  "\r\n", "\n", "\r", "\r\n\r\n", "\n\n", " ", "\t", ":", "x", "é", "\xff", "-", "--", "=?", "?=", "<", ">", '"', ";", "(", ")", "@", ",",
  "--b", "--b--", "--c", "--c--", "--b1", "--b ", "--",
  "Content-Type: multipart/mixed; boundary=b", "Content-Type: multipart/alternative; boundary=c", "Content-Type: multipart/digest; boundary=b1",
  'Content-Type: multipart/mixed; boundary="b1"', "Content-Type: multipart/related; boundary=", "Content-Type: message/rfc822", "Content-Type: message/global",
  "Content-Type: text/html; charset=koi8-r", "Content-Type: text/plain; charset*=utf-8''%E2%82", "Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: quoted-printable",
  "Content-Disposition: attachment; filename*0*=utf-8''a; filename*1=b", "Subject: =?utf-8?Q?x=C3?=", "From: a@b", "To: g: a@b, c;", "Cc: <", " folded",
];
/** Tokens are UTF-8, except "\xff": one octet that is never valid UTF-8. */
const bytesOf = (s: string) => (s === "\xff" ? Buffer.from([0xff]) : Buffer.from(s, "utf8"));

test("MIME-like token soup", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 200 }), (tokens) => holds(Buffer.concat(tokens.map(bytesOf)))),
    { numRuns: 500 },
  );
});

type Mutation = { kind: "delete" | "insert" | "duplicate" | "byte" | "lf" | "truncate"; at: number; len: number; token: string; byte: number };
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("delete", "insert", "duplicate", "byte", "lf", "truncate"),
  at: fc.nat(),
  len: fc.nat({ max: 300 }),
  token: fc.constantFrom(...TOKENS),
  byte: fc.integer({ min: 0, max: 255 }),
});

function mutate(raw: Buffer, m: Mutation): Buffer {
  const at = raw.length === 0 ? 0 : m.at % (raw.length + 1);
  const end = Math.min(raw.length, at + m.len);
  switch (m.kind) {
    case "delete":
      return Buffer.concat([raw.subarray(0, at), raw.subarray(end)]);
    case "insert":
      return Buffer.concat([raw.subarray(0, at), bytesOf(m.token), raw.subarray(at)]);
    case "duplicate":
      return Buffer.concat([raw.subarray(0, end), raw.subarray(at, end), raw.subarray(end)]);
    case "byte": {
      const copy = Buffer.from(raw);
      if (at < copy.length) copy[at] = m.byte;
      return copy;
    }
    case "lf":
      return Buffer.from(raw.toString("latin1").replace(/\r\n/g, "\n"), "latin1");
    case "truncate":
      return raw.subarray(0, at);
  }
}

test("mutations of the fixtures", () => {
  fc.assert(
    fc.property(fc.constantFrom(...fixtures), fc.array(mutation, { minLength: 1, maxLength: 8 }), (raw, ms) => holds(ms.reduce(mutate, raw))),
    { numRuns: 400 },
  );
});

// A model of well-formed messages: build a tree, write it out, and expect the parse to find each
// node's header and body at exactly the octets written for it.
type Node =
  | { kind: "leaf"; type: string; text: string[] }
  | { kind: "multipart"; subtype: string; preamble: string | null; epilogue: string | null; children: Node[] }
  | { kind: "message"; subject: string; inner: Node };

const text = fc.array(fc.stringMatching(/^[a-z é\t]{0,12}$/), { maxLength: 4 });
const leaf = fc.record({ kind: fc.constant("leaf" as const), type: fc.constantFrom("text/plain", "text/html", "application/octet-stream", "image/png"), text });
const nodeAt = (depth: number): fc.Arbitrary<Node> =>
  depth === 0
    ? leaf
    : fc.oneof(
        { weight: 2, arbitrary: leaf },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant("multipart" as const),
            subtype: fc.constantFrom("mixed", "alternative", "related"),
            preamble: fc.option(text.map((t) => t.join(" "))),
            epilogue: fc.option(text.map((t) => t.join(" "))),
            children: fc.array(nodeAt(depth - 1), { minLength: 1, maxLength: 3 }),
          }),
        },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("message" as const), subject: fc.stringMatching(/^[a-z ]{0,10}$/), inner: nodeAt(depth - 1) }) },
      );

interface Expected {
  path: string;
  type: string;
  header: string;
  body: string;
  children: Expected[];
}

/** Writes `node`; `root` entities get a Subject line. Boundaries come from `boundary()`. */
function write(node: Node, eol: string, boundary: () => string, path: string, root: boolean): Expected {
  const subjectLine = root ? `Subject: generated${eol}` : "";
  // RFC 3501 6.4.5: a non-multipart message root is part 1 of its container.
  const p = root ? (path === "" ? "1" : `${path}.1`) : path;
  if (node.kind === "leaf") {
    return { path: p, type: node.type, header: `${subjectLine}Content-Type: ${node.type}${eol}${eol}`, body: node.text.join(eol), children: [] };
  }
  if (node.kind === "message") {
    const inner = write(node.inner, eol, boundary, p, true);
    return { path: p, type: "message/rfc822", header: `${subjectLine}Content-Type: message/rfc822${eol}${eol}`, body: inner.header + inner.body, children: [inner] };
  }
  const b = boundary();
  const children = node.children.map((c, i) => write(c, eol, boundary, path === "" ? String(i + 1) : `${path}.${i + 1}`, false));
  let body = node.preamble === null ? "" : `${node.preamble}${eol}`;
  for (const c of children) body += `--${b}${eol}${c.header}${c.body}${eol}`;
  body += `--${b}--`;
  if (node.epilogue !== null) body += `${eol}${node.epilogue}`;
  return { path, type: `multipart/${node.subtype}`, header: `${subjectLine}Content-Type: multipart/${node.subtype}; boundary="${b}"${eol}${eol}`, body, children };
}

function compare(raw: Buffer, p: MimePart, e: Expected): void {
  assert.equal(p.path, e.path);
  assert.equal(`${p.type}/${p.subtype}`, e.type, e.path);
  assert.equal(raw.subarray(p.headerStart, p.headerEnd).toString("utf8"), e.header, `header of ${e.path}`);
  assert.equal(raw.subarray(p.bodyStart, p.bodyEnd).toString("utf8"), e.body, `body of ${e.path}`);
  assert.equal(p.children.length, e.children.length, `children of ${e.path}`);
  p.children.forEach((c, i) => compare(raw, c, e.children[i]!));
}

test("random well-formed trees: each part at exactly the octets written", () => {
  const schemes = {
    // Every boundary a prefix of the later ones: the longest match must pick the right one.
    prefixes: () => {
      let n = 0;
      return () => `b${"1".repeat(++n)}`;
    },
    nodemailer: () => {
      let n = 0;
      return () => `--_NmP-5f3a-Part_${++n}`;
    },
  };
  fc.assert(
    fc.property(nodeAt(4), fc.constantFrom("\r\n", "\n"), fc.constantFrom("prefixes", "nodemailer") as fc.Arbitrary<keyof typeof schemes>, (node, eol, scheme) => {
      const e = write(node, eol, schemes[scheme](), "", true);
      const raw = Buffer.from(e.header + e.body, "utf8");
      const m = parseMessage(raw);
      assert.deepEqual(treeProblems(raw, m), []);
      compare(raw, m.root, e);
    }),
    { numRuns: 300 },
  );
});
