import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "./metrics.js";

test("counters, gauges and collected gauges render as exposition text 0.0.4", async () => {
  const r = new Registry();
  const c = r.counter("x_total", "Things\nwith a \\ in help.", ["kind"]);
  c.inc({ kind: 'a"b\\c\nd' });
  c.inc({ kind: "plain" }, 2);
  r.gauge("g", "A gauge.").set(-1.5);
  r.collected("q", "Collected.", ["state"], async () => [{ labels: { state: "queued" }, value: 3 }]);
  assert.equal(
    await r.render(),
    [
      "# HELP x_total Things\\nwith a \\\\ in help.",
      "# TYPE x_total counter",
      'x_total{kind="a\\"b\\\\c\\nd"} 1',
      'x_total{kind="plain"} 2',
      "# HELP g A gauge.",
      "# TYPE g gauge",
      "g -1.5",
      "# HELP q Collected.",
      "# TYPE q gauge",
      'q{state="queued"} 3',
      "",
    ].join("\n"),
  );
  assert.throws(() => c.inc({ kind: "x" }, -1));
  assert.throws(() => r.counter("x_total", "again"));
  assert.throws(() => r.counter("bad-name", "x"));
  assert.throws(() => r.counter("ok", "x", ["le"]));
});

test("histograms have cumulative buckets, +Inf, _sum and _count", async () => {
  const r = new Registry();
  const h = r.histogram("lat_seconds", "Latency.", ["l"], [0.1, 1]);
  for (const v of [0.05, 0.5, 0.5, 7]) h.observe(v, { l: "x" });
  assert.equal(
    await r.render(),
    ["# HELP lat_seconds Latency.", "# TYPE lat_seconds histogram", 'lat_seconds_bucket{l="x",le="0.1"} 1', 'lat_seconds_bucket{l="x",le="1"} 3', 'lat_seconds_bucket{l="x",le="+Inf"} 4', 'lat_seconds_sum{l="x"} 8.05', 'lat_seconds_count{l="x"} 4', ""].join("\n"),
  );
});

test("a failing collector drops its family from the scrape, not the scrape", async () => {
  const r = new Registry();
  r.gauge("a", "A.").set(1);
  r.collected("b", "B.", [], () => {
    throw new Error("store down");
  });
  const failed: string[] = [];
  assert.equal(await r.render((name) => failed.push(name)), "# HELP a A.\n# TYPE a gauge\na 1\n");
  assert.deepEqual(failed, ["b"]);
});

test("label sets beyond the series limit fold into one 'other' series", async () => {
  const r = new Registry();
  const c = r.counter("many_total", "Many.", ["k"]);
  for (let i = 0; i < 1100; i++) c.inc({ k: String(i) });
  const lines = (await r.render()).split("\n").filter((l) => l.startsWith("many_total{"));
  assert.equal(lines.length, 1001);
  assert.ok(lines.includes('many_total{k="other"} 100'));
});
