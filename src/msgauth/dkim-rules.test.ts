/** RFC 6376 rules applied over mailauth's results, as a table. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { dkimRuleViolation, tagListViolation } from "./dkim-rules.js";

const SIG = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel; h=from:to; bh=AAAA; b=BBBB";

test("tag-list syntax (RFC 6376 3.2)", () => {
  const rows: [string, string | null][] = [
    ["a=1; b=2", null],
    ["a=1; b=2;", null],
    [" a = 1 ;\r\n\tb=2 ", null],
    ["a=1;; b=2", "empty tag"],
    ["a=1; a=2", "duplicate tag a"],
    ["a=1; _=2", 'invalid tag name "_"'],
    ["a=1; 1a=2", 'invalid tag name "1a"'],
    ["a=1; b", "tag without ="],
  ];
  for (const [text, want] of rows) assert.equal(tagListViolation(text), want, text);
  assert.equal(tagListViolation("S=x; a=1", ["s"]), "missing tag s", "tag names are case-sensitive");
});

test("signature and key record rules", () => {
  const rows: [string, string | undefined, string | null][] = [
    [SIG, "v=DKIM1; k=rsa; p=x", null],
    [SIG.replace("v=1", "v=0.5"), undefined, "unsupported signature version v=0.5"],
    [SIG.replace("v=1; ", ""), undefined, "missing tag v"],
    [`${SIG}; i=user@sub.example.com`, undefined, null],
    [`${SIG}; i=user=40example.com`.replace("i=user=40", "i=user=40"), undefined, null],
    [`${SIG}; i=jon@example.org`, undefined, "i= is not within d="],
    [`${SIG}; i=@badexample.com`, undefined, "i= is not within d="],
    [`${SIG}; q=http`, undefined, "unknown query method q=http"],
    [`${SIG}; q=dns/txt`, undefined, null],
    [SIG, "v=DKIM1; h=sha1; p=x", "key does not allow sha256"],
    [SIG, "v=DKIM1; h=sha1:sha256; p=x", null],
    [SIG, "v=DKIM1; s=chat; p=x", "key is not for email"],
    [SIG, "v=DKIM1; s=*; p=x", null],
    [`${SIG}; i=@sub.example.com`, "v=DKIM1; t=s; p=x", "key with t=s used for a subdomain i="],
    [`${SIG}; i=@example.com`, "v=DKIM1; t=y:s; p=x", null],
    [SIG, "v=DKIM1; g=nobody; p=x", null],
    [SIG.replace("rsa-sha256", "rsa-sha1"), undefined, "rsa-sha1 is not accepted (RFC 8301)"],
  ];
  for (const [sig, key, want] of rows) assert.equal(dkimRuleViolation(sig, key), want, `${sig} | ${key}`);
  assert.equal(dkimRuleViolation(SIG.replace("rsa-sha256", "rsa-sha1"), undefined, true), null, "allowed for old corpora");
});
