/**
 * Other projects' test suites (test/fixtures/msgauth-vectors, from /work/shared/vectors) through our msgauth path: mailauth over
 * our DnsResolver, over a loopback DNS server that serves each case's zone.
 * - SPF: the openspf RFC 7208 suite (pyspf) — every case through checkSpf().
 * - DKIM: Mail::DKIM's corpus with its FAKE_DNS.dat and expected verdicts; dkimpy's RFC 6376 /
 *   RFC 8463 example and bad key records — every message through MessageVerifier.
 * - ARC: ValiMail's validation suite — every message through MessageVerifier (ARC result).
 * Each suite asserts its pass count and the exact list of known deviations, so that a change in
 * either direction is noticed; the rates are printed.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { startDnsServer, type DnsRecords, type TestDnsServer } from "../helpers/dns-server.js";
import { DnsResolver } from "../../src/dns/resolver.js";
import { mailauthResolver } from "../../src/dns/mailauth.js";
import { MessageVerifier, checkSpf, type VerifyResults } from "../../src/msgauth/verify.js";
import { dkimpySign } from "../helpers/dkimpy-sign.js";

/** A copy of /work/shared/vectors (the files these suites need), from dist/test/scenarios/. */
const V = resolve(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/msgauth-vectors");
const HAVE = existsSync(V);

/** A resolver with no cache (zones change between cases) and quick failure. */
const resolverFor = (dns: TestDnsServer) => mailauthResolver(new DnsResolver({ servers: [dns.server], cacheSize: 0, timeoutMs: 300, tries: 1 }));

/** Replace the DNS server's zone. */
function loadZone(dns: TestDnsServer, names: Set<string>, zone: Map<string, DnsRecords>, fail: Map<string, "SERVFAIL" | "timeout"> = new Map()): void {
  for (const n of names) dns.remove(n);
  names.clear();
  for (const [n, r] of zone) {
    dns.set(n, r);
    names.add(n);
  }
  for (const [n, how] of fail) {
    dns.fail(n, how);
    names.add(n);
  }
}

async function verify(resolver: ReturnType<typeof resolverFor>, message: Buffer, o: { minBitLength?: number; allowRsaSha1?: boolean } = {}): Promise<VerifyResults> {
  const v = new MessageVerifier({ resolver, ip: "192.0.2.1", helo: "", sender: "", hostname: "mx.petrel.test", minBitLength: o.minBitLength, allowRsaSha1: o.allowRsaSha1 });
  for (let i = 0; i < message.length; i += 4096) await v.write(message.subarray(i, i + 4096));
  return v.finish();
}

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, "\r\n"), "utf8");

describe("vectors: other projects' SPF, DKIM and ARC suites", { skip: HAVE ? false : "test/fixtures/msgauth-vectors missing" }, () => {
  let dns: TestDnsServer;
  const names = new Set<string>();
  before(async () => {
    dns = await startDnsServer({}, { ttl: 0 });
  });
  after(async () => dns?.close());

  test("SPF: openspf RFC 7208 suite (pyspf)", async (t) => {
    const docs = parseAllDocuments(readFileSync(join(V, "spf-pyspf/rfc7208-tests.yml"), "utf8")).map((d) => d.toJS() as SpfScenario | null);
    const failures: string[] = [];
    let total = 0;
    const resolver = resolverFor(dns);
    for (const sc of docs) {
      if (!sc) continue;
      const { zone, fail } = spfZone(sc.zonedata ?? {});
      loadZone(dns, names, zone, fail);
      for (const [name, c] of Object.entries(sc.tests)) {
        total++;
        const r = await checkSpf(resolver, { ip: c.host, helo: c.helo, sender: c.mailfrom, hostname: "mx.petrel.test" });
        const want = ([] as string[]).concat(c.result);
        if (!want.includes(r.status.result)) failures.push(`${name}: ${r.status.result}, want ${want.join("|")}`);
      }
    }
    const passed = total - failures.length;
    t.diagnostic(`SPF rfc7208-tests.yml: ${passed}/${total} (${((100 * passed) / total).toFixed(1)}%)`);
    for (const f of failures) t.diagnostic(`  deviation ${f}`);
    assert.equal(total, 203);
    assert.deepEqual(failures.map((f) => f.split(":")[0]).sort(), [...SPF_KNOWN].sort(), failures.join("\n"));
  });

  test("DKIM: Mail::DKIM corpus with FAKE_DNS.dat and its expected verdicts", async (t) => {
    const dir = join(V, "dkim-mail-dkim");
    const zone = new Map<string, DnsRecords>();
    const fail = new Map<string, "SERVFAIL" | "timeout">();
    for (const line of readFileSync(join(dir, "FAKE_DNS.dat"), "utf8").split("\n")) {
      if (!line.trim() || line.startsWith("#")) continue;
      const sp = line.indexOf(" ");
      const name = line.slice(0, sp).trim();
      const value = line.slice(sp + 1).trim();
      if (value === "NXDOMAIN") continue;
      if (value.startsWith("~~")) fail.set(name, "SERVFAIL");
      else zone.set(name, { TXT: [value] });
    }
    loadZone(dns, names, zone, fail);
    const resolver = resolverFor(dns);
    const expected = readFileSync(join(dir, "expected-results-verifier.txt"), "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/) as [string, string]);
    const failures: string[] = [];
    for (const [file, want] of expected) {
      // Mail::DKIM's verifier.t accepts short keys and SHA-1 (its strict mode does not).
      const r = await verify(resolver, readFileSync(join(dir, "corpus", file)), { minBitLength: 384, allowRsaSha1: true });
      const got = mailDkimVerdict(r);
      if (got !== want) failures.push(`${file}: ${got}, want ${want}`);
    }
    const passed = expected.length - failures.length;
    // The verdict that matters for policy: pass or not.
    const sameSide = expected.length - failures.filter((f) => /: (pass, want (?!pass)|\w+, want pass)/.test(f)).length;
    t.diagnostic(`DKIM Mail::DKIM corpus: ${passed}/${expected.length} exact (${((100 * passed) / expected.length).toFixed(1)}%), ${sameSide}/${expected.length} pass/not-pass`);
    for (const f of failures) t.diagnostic(`  deviation ${f}`);
    assert.deepEqual(failures.map((f) => f.split(":")[0]).sort(), [...DKIM_KNOWN].sort(), failures.join("\n"));
    // Strict mode (verifier_strict.t: SHA-1 and short keys refused), our production settings.
    const strict = readFileSync(join(dir, "expected-results-verifier-strict.txt"), "utf8").trim().split("\n").map((l) => l.trim().split(/\s+/) as [string, string]);
    const strictOff: string[] = [];
    for (const [file, want] of strict) {
      const got = mailDkimVerdict(await verify(resolver, readFileSync(join(dir, "corpus", file))));
      if (got !== want) strictOff.push(`${file}: ${got}, want ${want}`);
    }
    t.diagnostic(`DKIM Mail::DKIM strict: ${strict.length - strictOff.length}/${strict.length}`);
    for (const f of strictOff) t.diagnostic(`  deviation ${f}`);
    // Both are draft-era signatures without v=1 (RFC 6376 6.1.1: PERMFAIL).
    assert.deepEqual(strictOff.map((f) => f.split(":")[0]).sort(), ["good_ietf01_1.txt", "mine_ietf01_3.txt"]);
  });

  test("DKIM: dkimpy's RFC 6376 / RFC 8463 example and bad key records", async (t) => {
    const dir = join(V, "dkim-dkimpy");
    const rsa = readFileSync(join(dir, "test.txt"), "utf8").trim();
    // RFC 8463 A.2's published Ed25519 key (dkimpy's ed25519test.dns is another key, for its own signing tests).
    const ed = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    loadZone(dns, names, new Map([["brisbane._domainkey.football.example.com", { TXT: [ed] }], ["test._domainkey.football.example.com", { TXT: [rsa] }]]));
    const resolver = resolverFor(dns);
    // RFC 8463 appendix A: one Ed25519 and one RSA signature, both valid.
    const r = await verify(resolver, readFileSync(join(dir, "rfc6376.signed.msg")));
    assert.deepEqual(r.dkim.map((d) => [d.selector, d.status.result]), [["brisbane", "pass"], ["test", "pass"]]);
    // The same, one body octet changed: both fail.
    const changed = Buffer.from(readFileSync(join(dir, "rfc6376.signed.msg"), "latin1").replace("Hi.", "Hi!"), "latin1");
    assert.deepEqual(mailDkimVerdict(await verify(resolver, changed)), "fail");
    // test.message signed with test.private, verified against each of dkimpy's key records.
    const signed = await dkimpySign(readFileSync(join(dir, "test.message")), { mode: "dkim", domain: "example.com", selector: "test", key: readFileSync(join(dir, "test.private"), "utf8") });
    const cases: [string, string][] = [["test.txt", "pass"], ["test_bad.txt", "invalid"], ["badk.txt", "invalid"], ["badversion.txt", "invalid"]];
    let ok = 0;
    for (const [file, want] of cases) {
      loadZone(dns, names, new Map([["test._domainkey.example.com", { TXT: [readFileSync(join(dir, file), "utf8").trim()] }]]));
      const got = mailDkimVerdict(await verify(resolver, signed));
      if (got === want) ok++;
      else t.diagnostic(`  deviation ${file}: ${got}, want ${want}`);
    }
    t.diagnostic(`DKIM dkimpy key records: ${ok}/${cases.length}`);
    assert.equal(ok, cases.length);
  });

  test("ARC: ValiMail validation suite", async (t) => {
    const docs = parseAllDocuments(readFileSync(join(V, "arc-valimail/tests/arc-draft-validation-tests.yml"), "utf8")).map((d) => d.toJS() as ArcScenario | null);
    const failures: string[] = [];
    let total = 0;
    const resolver = resolverFor(dns);
    for (const sc of docs) {
      if (!sc) continue;
      loadZone(dns, names, new Map(Object.entries(sc["txt-records"] ?? {}).map(([n, v]) => [n, { TXT: [String(v).replace(/\s+/g, " ").trim()] }])));
      for (const [name, c] of Object.entries(sc.tests)) {
        total++;
        const r = await verify(resolver, crlf(c.message ?? ""));
        const got = r.arc.status.result;
        const want = String(c.cv ?? "").toLowerCase() || "none";
        if (got !== want) failures.push(`${name}: ${got}, want ${want}`);
      }
    }
    const passed = total - failures.length;
    t.diagnostic(`ARC arc-draft-validation-tests.yml: ${passed}/${total} (${((100 * passed) / total).toFixed(1)}%)`);
    for (const f of failures) t.diagnostic(`  deviation ${f}`);
    assert.equal(total, 171);
    assert.deepEqual(failures.map((f) => f.split(":")[0]).sort(), [...ARC_KNOWN].sort(), failures.join("\n"));
  });
});

interface SpfCase {
  helo: string;
  host: string;
  mailfrom: string;
  result: string | string[];
}
interface SpfScenario {
  description: string;
  tests: Record<string, SpfCase>;
  zonedata?: Record<string, (string | Record<string, unknown>)[]>;
}
interface ArcScenario {
  description: string;
  tests: Record<string, { message?: string; cv?: string }>;
  "txt-records"?: Record<string, string>;
}

/**
 * The suite's zonedata as our DNS server's zone. RFC 7208 dropped the SPF RR type; drivers
 * serve a name's SPF records as TXT when it has no TXT of its own (the suite's convention).
 * TIMEOUT becomes SERVFAIL: both are temperror, and SERVFAIL does not wait for a timeout.
 */
function spfZone(data: Record<string, (string | Record<string, unknown>)[]>): { zone: Map<string, DnsRecords>; fail: Map<string, "SERVFAIL"> } {
  const zone = new Map<string, DnsRecords>();
  const fail = new Map<string, "SERVFAIL">();
  for (const [name, recs] of Object.entries(data)) {
    const r: DnsRecords = {};
    const spf: (string | string[])[] = [];
    let timeout = false;
    let noTxt = false;
    for (const rec of recs) {
      if (rec === "TIMEOUT") {
        timeout = true;
        continue;
      }
      const [type, value] = Object.entries(rec as Record<string, unknown>)[0]!;
      const txt = (v: unknown) => (Array.isArray(v) ? v.map(String) : String(v));
      switch (type) {
        case "TXT":
          // "TXT: NONE": the name has no TXT records (and its SPF ones are not copied).
          if (value === "NONE") noTxt = true;
          else (r.TXT ??= []).push(txt(value));
          break;
        case "SPF":
          if (value !== "NONE" && !(Array.isArray(value) && value.length === 0)) spf.push(txt(value));
          break;
        case "A":
          (r.A ??= []).push(...([] as string[]).concat(value as string));
          break;
        case "AAAA":
          (r.AAAA ??= []).push(...([] as string[]).concat(value as string));
          break;
        case "MX": {
          const [priority, exchange] = value as [number, string];
          (r.MX ??= []).push({ priority, exchange });
          break;
        }
        case "PTR":
          (r.PTR ??= []).push(String(value));
          break;
        case "CNAME":
          r.CNAME = String(value);
          break;
      }
    }
    // TIMEOUT: queries for types the name lists no records of time out (our server fails the
    // whole name, so a name with TXT records answers instead: only TXT matters to SPF there).
    if (timeout && !r.TXT) fail.set(name, "SERVFAIL");
    if (!r.TXT && spf.length && !timeout && !noTxt) r.TXT = spf;
    zone.set(name, r);
  }
  return { zone, fail };
}

/**
 * Mail::DKIM's overall verdict: pass when a signature passes; fail when one failed its
 * cryptographic or body-hash check; invalid when none could be checked (no key, bad key,
 * unsupported version or algorithm); none without signatures.
 */
function mailDkimVerdict(r: VerifyResults): string {
  const sigs = r.dkim;
  if (sigs.length === 0) return "none";
  const one = (s: VerifyResults["dkim"][number]) => {
    const st = s.status;
    if (st.result === "pass") return "pass";
    if (st.result === "fail" || (st.result === "neutral" && /body hash did not verify/.test(st.comment ?? ""))) return "fail";
    if (st.result === "temperror") return "temperror";
    return "invalid";
  };
  const all = sigs.map(one);
  for (const v of ["pass", "fail", "temperror", "invalid"] as const) if (all.includes(v)) return v;
  return "invalid";
}

/** Known deviations from each suite, with the reason (README, "Inbound authentication"). */
const SPF_KNOWN: string[] = [
  // c-ares refuses to query names with ":" "/" or spaces (EBADNAME): no such name for us.
  "a-colon-domain",
  "a-colon-domain-ip4mapped",
  "mx-colon-domain",
  "mx-colon-domain-ip4mapped",
  "macro-mania-in-domain",
  // mailauth 4.13: a temperror inside include: is not propagated (RFC 7208 5.2 says temperror).
  "include-temperror",
  // mailauth 4.13 is lenient with these syntax errors (RFC 7208 says permerror).
  "bare-ip6",
  "exp-syntax-error",
  "exp-twice",
  "exp-only-macro-char",
  // mailauth 4.13: %{p} (validated domain name) is not implemented.
  "p-macro-multiple",
  // HELO identity with an invalid domain name: mailauth gives permerror, the suite fail (its
  // "strict" variants accept permerror for some of them).
  "invalid-hello-macro",
  "hello-domain-literal",
  "require-valid-helo",
];
const DKIM_KNOWN: string[] = [
  // Pre-standard signatures: upstream skips ietf00; the others have no v= or v=0.5, which
  // RFC 6376 6.1.1 makes PERMFAIL ("incompatible version"); multiple_1's only good one is such.
  "good_ietf00_1.txt",
  "good_ietf00_2.txt",
  "good_ietf00_3.txt",
  "good_ietf00_4.txt",
  "good_ietf00_5.txt",
  "mine_ietf01_1.txt",
  "mine_ietf01_2.txt",
  "mine_ietf01_3.txt",
  "mine_ietf01_4.txt",
  "mine_ietf05_1.txt",
  "good_ietf01_1.txt",
  "good_ietf01_2.txt",
  "multiple_1.txt",
  "no_body_1.txt",
  "no_body_2.txt",
  "no_body_3.txt",
  // DomainKeys (RFC 4870, historic) signatures: not DKIM, not verified.
  "good_dk_gmail.txt",
  "good_dk_yahoo.txt",
  "good_dk_1.txt",
  "good_dk_2.txt",
  "good_dk_3.txt",
  "good_dk_4.txt",
  "good_dk_5.txt",
  "good_dk_6.txt",
  "good_dk_7.txt",
  "dk_headers_1.txt",
  "dk_headers_2.txt",
  "dk_multiple_1.txt",
  // Key record g= (RFC 4871 granularity): removed by RFC 6376, ignored; these verify.
  "badkey_8.txt",
  "badkey_9.txt",
  "badkey_12.txt",
  "badkey_13.txt",
  // Not pass either way: mailauth checks the body hash before fetching the key, so a message
  // with a bad key and a changed body is "fail" here and "invalid" in Mail::DKIM.
  "ignore_1.txt",
  "badkey_1.txt",
  "badkey_2.txt",
  "badkey_3.txt",
  "badkey_4.txt",
  "badkey_5.txt",
  "badkey_6.txt",
  "badkey_7.txt",
  "badkey_14.txt",
  "badkey_15.txt",
  "badkey1_ed25519.txt",
  "badkey4_ed25519.txt",
  "badkey5_ed25519.txt",
];
// RFC 8617 5.2 step 2: a chain whose newest seal says cv=fail is "fail"; the (draft-era) suite says none.
const ARC_KNOWN: string[] = ["cv_fail_i1_as_cv_fail", "cv_fail_i2_as2_fail", "cv_fail_i2_as1_fail"];
