/**
 * A small metrics registry that renders the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): counters, gauges (set, or read
 * by a callback at scrape time) and histograms, each with fixed label names. No dependency: the
 * format is a few lines per family.
 */

export type Labels = Record<string, string>;

type Kind = "counter" | "gauge" | "histogram";

interface Family {
  readonly name: string;
  readonly help: string;
  readonly kind: Kind;
  render(out: string[]): void | Promise<void>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Series per family; beyond it new label sets are folded into one "other" series (bounded memory). */
const MAX_SERIES = 1000;

/** Label values escape backslash, double quote and line feed; HELP escapes backslash and line feed. */
function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

abstract class Series<T> implements Family {
  protected readonly series = new Map<string, { values: string[]; data: T }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly kind: Kind,
    readonly labelNames: readonly string[],
  ) {
    if (!NAME.test(name)) throw new Error(`bad metric name ${name}`);
    for (const l of labelNames) if (!LABEL.test(l) || l.startsWith("__") || l === "le") throw new Error(`bad label name ${l}`);
  }

  protected abstract fresh(): T;

  protected get(labels: Labels | undefined): T {
    const values = this.labelNames.map((n) => labels?.[n] ?? "");
    let key = values.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      if (this.series.size >= MAX_SERIES) {
        values.fill("other");
        key = values.join("\u0000");
        s = this.series.get(key);
      }
      if (!s) {
        s = { values, data: this.fresh() };
        this.series.set(key, s);
      }
    }
    return s.data;
  }

  protected header(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.kind}`);
  }

  abstract render(out: string[]): void;
}

export class Counter extends Series<{ v: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "counter", labelNames);
  }
  protected fresh() {
    return { v: 0 };
  }
  inc(labels?: Labels, by = 1): void {
    if (by < 0) throw new Error("a counter only goes up");
    this.get(labels).v += by;
  }
  /** Make a series exist at 0 (so that rate() sees its first increment). */
  touch(labels?: Labels): void {
    this.get(labels);
  }
  value(labels?: Labels): number {
    return this.get(labels).v;
  }
  render(out: string[]): void {
    this.header(out);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(this.labelNames, s.values)} ${formatValue(s.data.v)}`);
  }
}

export class Gauge extends Series<{ v: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, "gauge", labelNames);
  }
  protected fresh() {
    return { v: 0 };
  }
  set(v: number, labels?: Labels): void {
    this.get(labels).v = v;
  }
  inc(labels?: Labels, by = 1): void {
    this.get(labels).v += by;
  }
  dec(labels?: Labels, by = 1): void {
    this.get(labels).v -= by;
  }
  value(labels?: Labels): number {
    return this.get(labels).v;
  }
  render(out: string[]): void {
    this.header(out);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(this.labelNames, s.values)} ${formatValue(s.data.v)}`);
  }
}

/** Seconds: from 1 ms to 5 minutes. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class Histogram extends Series<{ counts: number[]; sum: number; count: number }> {
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = LATENCY_BUCKETS) {
    super(name, help, "histogram", labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  protected fresh() {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }
  observe(v: number, labels?: Labels): void {
    const d = this.get(labels);
    d.sum += v;
    d.count++;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) d.counts[i]!++;
  }
  render(out: string[]): void {
    this.header(out);
    for (const s of this.series.values()) {
      // Bucket counts are cumulative (observe adds to every bucket at or above the value).
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, ["le", formatValue(b)])} ${s.data.counts[i]}`));
      out.push(`${this.name}_bucket${labelText(this.labelNames, s.values, ["le", "+Inf"])} ${s.data.count}`);
      out.push(`${this.name}_sum${labelText(this.labelNames, s.values)} ${formatValue(s.data.sum)}`);
      out.push(`${this.name}_count${labelText(this.labelNames, s.values)} ${s.data.count}`);
    }
  }
}

export type Sample = { labels?: Labels; value: number };
export type Collector = () => Promise<Sample[]> | Sample[];

/** A gauge family whose samples are read when scraped (queue sizes, memory). */
export class CollectedGauge implements Family {
  readonly kind = "gauge" as const;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly collect: Collector,
  ) {
    if (!NAME.test(name)) throw new Error(`bad metric name ${name}`);
  }
  async render(out: string[]): Promise<void> {
    const samples = await this.collect();
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} gauge`);
    for (const s of samples) {
      out.push(`${this.name}${labelText(this.labelNames, this.labelNames.map((n) => s.labels?.[n] ?? ""))} ${formatValue(s.value)}`);
    }
  }
}

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export class Registry {
  private readonly families = new Map<string, Family>();

  register<F extends Family>(f: F): F {
    if (this.families.has(f.name)) throw new Error(`metric ${f.name} is registered twice`);
    this.families.set(f.name, f);
    return f;
  }

  counter(name: string, help: string, labels: readonly string[] = []): Counter {
    return this.register(new Counter(name, help, labels));
  }
  gauge(name: string, help: string, labels: readonly string[] = []): Gauge {
    return this.register(new Gauge(name, help, labels));
  }
  histogram(name: string, help: string, labels: readonly string[] = [], buckets?: readonly number[]): Histogram {
    return this.register(new Histogram(name, help, labels, buckets));
  }
  collected(name: string, help: string, labels: readonly string[], collect: Collector): CollectedGauge {
    return this.register(new CollectedGauge(name, help, labels, collect));
  }

  /**
   * The exposition text. A collector that fails drops its family from this scrape (and is
   * counted in petrel_metrics_collect_errors_total by the caller) rather than failing the scrape.
   */
  async render(onError?: (name: string, e: unknown) => void): Promise<string> {
    const out: string[] = [];
    for (const f of this.families.values()) {
      const part: string[] = [];
      try {
        await f.render(part);
        out.push(...part);
      } catch (e) {
        onError?.(f.name, e);
      }
    }
    return out.join("\n") + "\n";
  }
}
