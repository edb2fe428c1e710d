/**
 * Metrics in the Prometheus text exposition format (version 0.0.4), written by hand: the format is a
 * few lines per metric, and the server needs counters, gauges read at scrape time, and one latency
 * histogram — not a registry library.
 *
 *   # HELP deltaflow_rows_predicted_total Rows answered by POST /predict.
 *   # TYPE deltaflow_rows_predicted_total counter
 *   deltaflow_rows_predicted_total 1234
 *   deltaflow_http_request_duration_seconds_bucket{route="/predict",le="0.001"} 17
 *
 * Label values are escaped (`\\`, `\"`, `\n`); every label value comes from a fixed set (routes,
 * status codes, error kinds), never from the request, so the series stay few.
 */

export type Labels = Readonly<Record<string, string>>;

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
}

function numberText(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  lines(): string[];
}

/** A monotone count per label set. */
export class Counter implements Metric {
  readonly type = 'counter';
  private readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.values.get(key);
    if (entry === undefined) this.values.set(key, { labels, value: by });
    else entry.value += by;
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }

  lines(): string[] {
    return [...this.values.values()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${numberText(value)}`);
  }
}

/**
 * Values read when scraped, from counts the server keeps anyway; a null value is left out (no data
 * yet). A gauge, or a counter when the value only grows.
 */
export class Sampled implements Metric {
  constructor(
    readonly type: 'counter' | 'gauge',
    readonly name: string,
    readonly help: string,
    private readonly read: () => readonly (readonly [Labels, number | null])[],
  ) {}

  lines(): string[] {
    return this.read()
      .filter((e): e is readonly [Labels, number] => e[1] !== null)
      .map(([labels, v]) => `${this.name}${labelText(labels)} ${numberText(v)}`);
  }
}

/** Cumulative buckets of observed values (seconds), per label set. */
export class Histogram implements Metric {
  readonly type = 'histogram';
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, v: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) s.counts[i]++;
    s.sum += v;
    s.count++;
  }

  lines(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => out.push(`${this.name}_bucket${labelText({ ...s.labels, le: numberText(le) })} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${numberText(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

/** The metrics of one server, written in registration order. */
export class Registry {
  private readonly metrics: Metric[] = [];

  add<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }

  /** The exposition text (Content-Type `text/plain; version=0.0.4`). */
  text(): string {
    return `${this.metrics.flatMap((m) => [`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines()]).join('\n')}\n`;
  }
}
