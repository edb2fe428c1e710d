/**
 * The page's charts, on uPlot (served by the local server from node_modules): line charts of
 * scalars — several runs overlaid on one x axis (the union of their x values; a run has null where
 * it has no point) — and distribution charts, percentile bands over steps as TensorBoard draws them.
 * Each chart's element carries `data-chart` (its id), `data-points` (its x values) and, for line
 * charts, `data-markers` (its vertical markers), for tests.
 */
import uPlot from 'uplot';

export interface Line {
  readonly label: string;
  readonly color: string;
  /** raw: thin and faded (under its smoothed twin); line: solid; points: markers only (epoch values). */
  readonly style: 'raw' | 'line' | 'points';
  readonly x: readonly number[];
  readonly y: readonly (number | null)[];
}

/** One x axis for several (x, y) series: the sorted union of their xs, each y null where it has no point. */
export function alignSeries(lines: readonly Line[]): uPlot.AlignedData {
  const xs = [...new Set(lines.flatMap((l) => l.x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = lines.map((l) => {
    const y: (number | null)[] = new Array<number | null>(xs.length).fill(null);
    l.x.forEach((x, i) => {
      const j = at.get(x);
      if (j !== undefined) y[j] = l.y[i] ?? null;
    });
    return y;
  });
  return [xs, ...ys];
}

function seriesOf(l: Line): uPlot.Series {
  const common = { label: l.label, stroke: l.color, spanGaps: true };
  if (l.style === 'raw') return { ...common, stroke: `${l.color}44`, width: 1, points: { show: false } };
  if (l.style === 'points') return { ...common, width: 0, paths: () => null, points: { show: true, size: 7, fill: l.color } };
  return { ...common, width: 2, points: { show: false } };
}

function chartBox(parent: HTMLElement, id: string, title: string): { box: HTMLElement; plot: HTMLElement } {
  const box = document.createElement('div');
  box.className = 'chart';
  box.dataset.chart = id;
  box.dataset.points = '0';
  const h = document.createElement('h3');
  h.textContent = title;
  const plot = document.createElement('div');
  box.append(h, plot);
  parent.append(box);
  return { box, plot };
}

const widthOf = (el: HTMLElement): number => Math.max(200, el.clientWidth - 8);

/** A line chart whose series (runs × lines) may change; it is rebuilt when they do. */
export class LineChart {
  private chart: uPlot | null = null;
  private key = '';
  private readonly box: HTMLElement;
  private readonly plot: HTMLElement;
  /** x positions of vertical markers (drift detections), drawn over the plot. */
  markers: readonly number[] = [];

  constructor(
    parent: HTMLElement,
    id: string,
    title: string,
    private readonly options: { readonly height?: number; readonly xLabel?: string; readonly logY?: boolean } = {},
  ) {
    ({ box: this.box, plot: this.plot } = chartBox(parent, id, title));
  }

  update(lines: readonly Line[]): void {
    const data = alignSeries(lines);
    const key = lines.map((l) => `${l.label}|${l.style}|${l.color}`).join(';');
    if (this.chart === null || key !== this.key) {
      this.chart?.destroy();
      this.key = key;
      this.chart = new uPlot(
        {
          width: widthOf(this.box),
          height: this.options.height ?? 220,
          scales: { x: { time: false }, y: this.options.logY === true ? { distr: 3 } : {} },
          axes: [{ label: this.options.xLabel ?? 'step' }, { size: 70 }],
          series: [{ label: this.options.xLabel ?? 'step' }, ...lines.map(seriesOf)],
          plugins: [{ hooks: { draw: [(u: uPlot) => this.drawMarkers(u)] } }],
        },
        data,
        this.plot,
      );
    } else {
      this.chart.setData(data);
    }
    this.box.dataset.points = String(data[0].length);
    this.box.dataset.markers = String(this.markers.length);
  }

  private drawMarkers(u: uPlot): void {
    if (this.markers.length === 0) return;
    const { ctx } = u;
    ctx.save();
    ctx.strokeStyle = '#d62728';
    ctx.setLineDash([4, 3]);
    ctx.lineWidth = 1.5;
    for (const m of this.markers) {
      const x = u.valToPos(m, 'x', true);
      if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  }

  resize(): void {
    this.chart?.setSize({ width: widthOf(this.box), height: this.options.height ?? 220 });
  }
}

/**
 * Percentile bands over steps: series i is percentile i of the run's list (ascending, min to max);
 * bands fill between the outer pairs (min–max, …) with growing opacity, the middle one is the median.
 */
export class BandChart {
  private chart: uPlot | null = null;
  private readonly box: HTMLElement;
  private readonly plot: HTMLElement;

  constructor(
    parent: HTMLElement,
    id: string,
    title: string,
    private readonly color: string,
  ) {
    ({ box: this.box, plot: this.plot } = chartBox(parent, id, title));
  }

  update(steps: readonly number[], percentiles: readonly (readonly (number | null)[])[]): void {
    const data: uPlot.AlignedData = [[...steps], ...percentiles.map((p) => [...p])];
    if (this.chart === null) {
      const n = percentiles.length;
      const mid = Math.floor(n / 2);
      const bands: uPlot.Band[] = [];
      for (let i = 0; i < mid; i++) {
        bands.push({ series: [n - i, i + 1], fill: `${this.color}${['22', '33', '44', '66'][Math.min(3, i)]}` });
      }
      this.chart = new uPlot(
        {
          width: widthOf(this.box),
          height: 150,
          legend: { show: false },
          scales: { x: { time: false } },
          axes: [{ size: 30 }, { size: 55 }],
          series: [{}, ...percentiles.map((_, i) => ({ stroke: i === mid ? this.color : 'transparent', width: i === mid ? 1.5 : 0, points: { show: false }, spanGaps: true }))],
          bands,
        },
        data,
        this.plot,
      );
    } else {
      this.chart.setData(data);
    }
    this.box.dataset.points = String(steps.length);
  }

  resize(): void {
    this.chart?.setSize({ width: widthOf(this.box), height: 150 });
  }
}
