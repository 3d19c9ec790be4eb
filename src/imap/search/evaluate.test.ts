/** SEARCH keys (RFC 9051 6.4.4, RFC 5032 WITHIN, RFC 7162 MODSEQ) over real messages. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseMessage, type ParsedMessage } from "../../mime/index.js";
import type { SearchKey } from "../types.js";
import { sentDay } from "./dates.js";
import { searchMessages, type SearchItem } from "./evaluate.js";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../test/fixtures/mime");
const fixture = (name: string) => readFileSync(join(FIXTURES, name));
const crlf = (lines: string[]) => Buffer.from(lines.map((l) => `${l}\r\n`).join(""), "utf8");
const at = (iso: string) => Date.parse(iso);

const NOW = at("2024-06-01T12:00:00Z");

const RAW: Buffer[] = [
  fixture("composed.eml"), // Date: Sat, 02 Mar 2024 11:22:33 +0000
  fixture("rfc3501-plain.eml"), // Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
  fixture("charsets.eml"), // no Date
  crlf([
    "From: Stra\u00dfe Person <strasse@example.test>",
    "To: team@example.test",
    "Date: Mon, 1 Jan 2024 23:30:00 -0500",
    "Subject:",
    "X-Custom: Some VALUE here",
    "Content-Type: text/plain; charset=utf-8",
    "Content-Transfer-Encoding: 8bit",
    "",
    "Stra\u00dfe and the cafe\u0301 (decomposed), \u00dcN\u00cfCODE shouting.",
  ]),
];
const META: Omit<SearchItem, "uid" | "seq">[] = [
  { recent: false, meta: { uid: 0, modseq: 5, flags: ["\\Seen", "\\Answered"], internalDate: at("2024-03-02T23:30:00Z"), size: 9000 } },
  { recent: true, meta: { uid: 0, modseq: 9, flags: [], internalDate: at("1996-07-17T12:00:00Z"), size: 3300 } },
  { recent: true, meta: { uid: 0, modseq: 12, flags: ["\\Flagged", "$Forwarded", "\\Deleted", "\\Draft", "\\SEEN"], internalDate: at("2024-05-31T12:00:00Z"), size: 1200 } },
  { recent: false, meta: { uid: 0, modseq: 7, flags: ["$label1"], internalDate: at("2024-01-02T04:30:00Z"), size: 400 } },
];
const UIDS = [10, 20, 30, 45];
const ITEMS: SearchItem[] = META.map((m, i) => ({ ...m, seq: i + 1, uid: UIDS[i]!, meta: { ...m.meta, uid: UIDS[i]! } }));
const PARSED = new Map<number, ParsedMessage>(UIDS.map((u, i) => [u, parseMessage(RAW[i]!)]));

/** The sequence numbers that match, and the UIDs loaded to find out. */
async function run(key: SearchKey, items = ITEMS, gone: number[] = []): Promise<{ seqs: number[]; loaded: number[] }> {
  const loaded: number[] = [];
  const res = await searchMessages(
    key,
    items,
    async (uid) => {
      loaded.push(uid);
      return gone.includes(uid) ? null : (PARSED.get(uid) ?? null);
    },
    NOW,
  );
  assert.equal(res.length, items.length);
  return { seqs: items.filter((_, i) => res[i]).map((it) => it.seq), loaded: loaded.sort((a, b) => a - b) };
}
const seqs = async (key: SearchKey) => (await run(key)).seqs;

const header = (field: string, value: string): SearchKey => ({ op: "header", field, value });
const flag = (f: string, set = true): SearchKey => ({ op: "flag", flag: f, set });

describe("flags and session state", () => {
  test("system flags case-insensitively, keywords, UN- forms", async () => {
    assert.deepEqual(await seqs(flag("\\Seen")), [1, 3]);
    assert.deepEqual(await seqs(flag("\\seen")), [1, 3]);
    assert.deepEqual(await seqs(flag("\\Seen", false)), [2, 4]);
    assert.deepEqual(await seqs(flag("\\Answered")), [1]);
    assert.deepEqual(await seqs(flag("\\Deleted")), [3]);
    assert.deepEqual(await seqs(flag("\\Draft")), [3]);
    assert.deepEqual(await seqs(flag("\\Flagged", false)), [1, 2, 4]);
    assert.deepEqual(await seqs(flag("$forwarded")), [3]);
    assert.deepEqual(await seqs(flag("$label1")), [4]);
    assert.deepEqual(await seqs(flag("$label", true)), []);
    assert.deepEqual(await seqs(flag("$nothing", false)), [1, 2, 3, 4]);
  });

  test("RECENT, NEW (recent and not seen), OLD, ALL", async () => {
    assert.deepEqual(await seqs({ op: "recent" }), [2, 3]);
    assert.deepEqual(await seqs({ op: "new" }), [2]);
    assert.deepEqual(await seqs({ op: "old" }), [1, 4]);
    assert.deepEqual(await seqs({ op: "all" }), [1, 2, 3, 4]);
  });

  test("sequence and UID sets, with * as the largest, ranges either way round, $ as empty", async () => {
    assert.deepEqual(await seqs({ op: "seq", set: [{ from: 2, to: "*" }] }), [2, 3, 4]);
    assert.deepEqual(await seqs({ op: "seq", set: [{ from: "*", to: "*" }] }), [4]);
    assert.deepEqual(await seqs({ op: "seq", set: [{ from: 3, to: 1 }] }), [1, 2, 3]);
    assert.deepEqual(await seqs({ op: "seq", set: [{ from: 1, to: 1 }, { from: 4, to: 4 }, { from: 9, to: 12 }] }), [1, 4]);
    assert.deepEqual(await seqs({ op: "uid", set: [{ from: 20, to: 30 }] }), [2, 3]);
    assert.deepEqual(await seqs({ op: "uid", set: [{ from: 100, to: "*" }] }), [4], "100:* holds the largest UID");
    assert.deepEqual(await seqs({ op: "uid", set: [{ from: 11, to: 19 }, { from: 44, to: 44 }] }), []);
    assert.deepEqual(await seqs({ op: "uid", set: "$" }), []);
    const many = Array.from({ length: 500 }, (_, i) => ({ from: 2 * i + 1, to: 2 * i + 1 }));
    assert.deepEqual(await seqs({ op: "seq", set: many }), [1, 3]);
  });

  test("LARGER, SMALLER, MODSEQ", async () => {
    assert.deepEqual(await seqs({ op: "size", cmp: "larger", size: 1200 }), [1, 2]);
    assert.deepEqual(await seqs({ op: "size", cmp: "smaller", size: 1200 }), [4]);
    assert.deepEqual(await seqs({ op: "modseq", modseq: 9 }), [2, 3]);
  });

  test("OLDER and YOUNGER (RFC 5032), relative to now", async () => {
    const day = 86400;
    assert.deepEqual(await seqs({ op: "younger", seconds: day }), [3]);
    assert.deepEqual(await seqs({ op: "older", seconds: day }), [1, 2, 4]);
    assert.deepEqual(await seqs({ op: "younger", seconds: 200 * day }), [1, 3, 4]);
    // Message 3 is exactly one day old: YOUNGER (younger than or equal to), not OLDER.
    assert.equal(NOW - ITEMS[2]!.meta.internalDate, day * 1000);
    assert.deepEqual(await seqs({ op: "younger", seconds: day - 1 }), []);
  });
});

describe("dates", () => {
  test("BEFORE, ON, SINCE: the internal date's day in UTC", async () => {
    const d = (cmp: "before" | "on" | "since", date: string): SearchKey => ({ op: "date", field: "internal", cmp, date });
    assert.deepEqual(await seqs(d("on", "2024-03-02")), [1]);
    assert.deepEqual(await seqs(d("on", "2024-01-02")), [4], "04:30 UTC");
    assert.deepEqual(await seqs(d("before", "2024-03-02")), [2, 4]);
    assert.deepEqual(await seqs(d("since", "2024-03-02")), [1, 3]);
    assert.deepEqual(await seqs(d("since", "2024-03-03")), [3]);
  });

  test("SENTBEFORE, SENTON, SENTSINCE: the Date: field's day in its own zone; no Date: uses the internal date", async () => {
    const d = (cmp: "before" | "on" | "since", date: string): SearchKey => ({ op: "date", field: "sent", cmp, date });
    assert.deepEqual(await seqs(d("on", "2024-01-01")), [4], "23:30 -0500 is still January 1st");
    assert.deepEqual(await seqs(d("on", "1996-07-17")), [2]);
    assert.deepEqual(await seqs(d("on", "2024-03-02")), [1]);
    assert.deepEqual(await seqs(d("on", "2024-05-31")), [3], "charsets.eml has no Date:");
    assert.deepEqual(await seqs(d("before", "2024-01-02")), [2, 4]);
    assert.deepEqual(await seqs(d("since", "2024-01-02")), [1, 3]);
  });

  test("the day of RFC 5322 dates, obsolete forms included", () => {
    const day = (s: string) => new Date(sentDay(s) * 86400000).toISOString().slice(0, 10);
    assert.equal(day("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)"), "1996-07-17");
    assert.equal(day("1 Jan 2024 23:30:00 -0500"), "2024-01-01");
    assert.equal(day("Fri, 3 Mar 99 10:00 EST"), "1999-03-03");
    assert.equal(day("Fri, 3 Mar 04 10:00 GMT"), "2004-03-03");
    assert.equal(day("Fri,3 MAR 104 10:00 GMT"), "2004-03-03");
    assert.ok(Number.isNaN(sentDay("yesterday")));
    assert.ok(Number.isNaN(sentDay("32 Jan 2024")));
    // Hostile input: only the start of the value is looked at, and the pattern does not backtrack.
    assert.ok(Number.isNaN(sentDay(`1 ${" ".repeat(100_000)}x`)));
    assert.ok(Number.isNaN(sentDay(`1 ${"-".repeat(100_000)}`)));
  });
});

describe("header and text keys", () => {
  test("FROM, TO, CC, BCC match names (decoded) and addresses, case-insensitively", async () => {
    assert.deepEqual(await seqs(header("from", "zoë")), [1]);
    assert.deepEqual(await seqs(header("FROM", "ZOË EXAMPLE")), [1]);
    assert.deepEqual(await seqs(header("from", "gray@cac")), [2]);
    assert.deepEqual(await seqs(header("from", "example.test")), [1, 3, 4]);
    assert.deepEqual(await seqs(header("to", "ünïcode person")), [1]);
    assert.deepEqual(await seqs(header("to", "PLAIN@example")), [1]);
    assert.deepEqual(await seqs(header("cc", "klensin")), [2]);
    assert.deepEqual(await seqs(header("cc", "undisclosed")), [1]);
    assert.deepEqual(await seqs(header("bcc", "")), []);
  });

  test("SUBJECT on the decoded subject, HEADER on any field; an empty value matches every message with the field", async () => {
    assert.deepEqual(await seqs(header("subject", "résumé attached")), [1]);
    assert.deepEqual(await seqs(header("subject", "WG MTG")), [2]);
    assert.deepEqual(await seqs(header("subject", "€uro")), [3], "windows-1252 encoded-word");
    assert.deepEqual(await seqs(header("subject", "")), [1, 2, 3, 4], "an empty Subject: is still a Subject:");
    assert.deepEqual(await seqs(header("x-custom", "some value")), [4]);
    assert.deepEqual(await seqs(header("X-CUSTOM", "")), [4]);
    assert.deepEqual(await seqs(header("Message-ID", "outer-1@")), [1]);
    assert.deepEqual(await seqs(header("In-Reply-To", "")), [1]);
    assert.deepEqual(await seqs(header("x-missing", "")), []);
    assert.deepEqual(await seqs(header("custom", "")), [], "the field name is matched whole");
  });

  test("BODY: decoded text of text parts (QP, base64, charsets, HTML), case-insensitive", async () => {
    assert.deepEqual(await seqs({ op: "body", value: "the report is ATTACHED" }), [1]);
    assert.deepEqual(await seqs({ op: "body", value: "inner text part" }), [1], "inside the forwarded message");
    assert.deepEqual(await seqs({ op: "body", value: "café déjà" }), [3], "quoted-printable latin1");
    assert.deepEqual(await seqs({ op: "body", value: "日本語" }), [3], "base64 shift_jis");
    assert.deepEqual(await seqs({ op: "body", value: "hidden" }), [], "scripts are not text");
    assert.deepEqual(await seqs({ op: "body", value: "summary and minutes" }), [], "a header is not the body");
    assert.deepEqual(await seqs({ op: "body", value: "" }), [1, 2, 3, 4]);
  });

  test("Unicode: case folding beyond ASCII, NFC normalisation of the text and of the key", async () => {
    assert.deepEqual(await seqs({ op: "body", value: "ünïcode shouting" }), [4]);
    assert.deepEqual(await seqs({ op: "body", value: "STRAẞE" }), [4], "capital sharp s folds to ß");
    assert.deepEqual(await seqs({ op: "body", value: "café" }), [4, 3].sort(), "precomposed key finds decomposed text");
    assert.deepEqual(await seqs({ op: "body", value: "cafe\u0301 (" }), [4], "decomposed key");
  });

  test("TEXT: header and body", async () => {
    assert.deepEqual(await seqs({ op: "text", value: "quarterly report" }), [1]);
    assert.deepEqual(await seqs({ op: "text", value: "hello zoë" }), [1]);
    assert.deepEqual(await seqs({ op: "text", value: "x-custom: some" }), [4]);
    assert.deepEqual(await seqs({ op: "text", value: "no such words" }), []);
  });

  test("regular expression characters in keys are literal", async () => {
    assert.deepEqual(await seqs({ op: "body", value: "(decomposed)" }), [4]);
    assert.deepEqual(await seqs({ op: "body", value: ".*" }), []);
    assert.deepEqual(await seqs(header("x-custom", "va[lu]e")), []);
  });
});

describe("NOT, OR, AND, and what gets loaded", () => {
  test("combinations", async () => {
    assert.deepEqual(await seqs({ op: "not", key: flag("\\Seen") }), [2, 4]);
    assert.deepEqual(await seqs({ op: "or", a: flag("\\Answered"), b: { op: "body", value: "shouting" } }), [1, 4]);
    assert.deepEqual(await seqs({ op: "and", keys: [flag("\\Seen"), { op: "body", value: "report" }] }), [1]);
    assert.deepEqual(await seqs({ op: "not", key: { op: "or", a: header("subject", "WG"), b: { op: "recent" } } }), [1, 4]);
    assert.deepEqual(await seqs({ op: "and", keys: [] }), [1, 2, 3, 4]);
    assert.deepEqual(await seqs({ op: "and", keys: [{ op: "not", key: { op: "body", value: "zoë" } }, { op: "old" }] }), [4]);
  });

  test("cheap keys decide first: SEEN BODY x loads only the seen messages", async () => {
    const r = await run({ op: "and", keys: [{ op: "body", value: "report" }, flag("\\Seen")] });
    assert.deepEqual(r.seqs, [1]);
    assert.deepEqual(r.loaded, [10, 30]);
  });

  test("nothing is loaded when no key needs the message", async () => {
    const r = await run({ op: "or", a: flag("\\Seen"), b: { op: "date", field: "internal", cmp: "since", date: "2024-01-01" } });
    assert.deepEqual(r.seqs, [1, 3, 4]);
    assert.deepEqual(r.loaded, []);
  });

  test("OR that a cheap key already makes true does not load; NOT of an undecided key loads", async () => {
    const r = await run({ op: "or", a: { op: "recent" }, b: { op: "not", key: { op: "body", value: "zoë" } } });
    assert.deepEqual(r.seqs, [2, 3, 4]);
    assert.deepEqual(r.loaded, [10, 45]);
  });

  test("a message that is gone matches nothing", async () => {
    const r = await run({ op: "not", key: { op: "body", value: "absent" } }, ITEMS, [20]);
    assert.deepEqual(r.seqs, [1, 3, 4]);
  });

  test("many messages: every result in its place", async () => {
    const items: SearchItem[] = Array.from({ length: 1000 }, (_, i) => ({ ...ITEMS[i % 4]!, seq: i + 1, uid: UIDS[i % 4]! }));
    const r = await run({ op: "and", keys: [{ op: "body", value: "shouting" }, { op: "seq", set: [{ from: 1, to: 500 }] }] }, items);
    assert.deepEqual(r.seqs, Array.from({ length: 125 }, (_, i) => 4 * i + 4));
  });
});
