/**
 * The run's plot: loss and accuracy against the training step, as a standalone SVG document.
 *
 * Two panels side by side (one when there is no accuracy, i.e. regression). Each shows the per-step
 * training value (faint, with its moving average drawn over it), the per-epoch training mean and the
 * per-epoch test value (points joined by lines, placed at the step where the epoch ended), dashed
 * lines at epoch boundaries, axes with ticks and labels, and one legend. Scales come from d3-scale and
 * paths from d3-shape; the SVG text around them is written here (no DOM).
 */
import { scaleLinear, type ScaleLinear } from 'd3-scale';
import { line } from 'd3-shape';

export interface StepPoint {
  readonly step: number;
  readonly loss: number;
  /** null for regression. */
  readonly accuracy: number | null;
}

export interface EpochPoint {
  readonly epoch: number;
  /** The global step at which the epoch ended. */
  readonly step: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number | null;
  readonly testLoss: number | null;
  readonly testAccuracy: number | null;
}

export interface PlotData {
  readonly title: string;
  readonly steps: readonly StepPoint[];
  readonly epochs: readonly EpochPoint[];
}

const PANEL_W = 460;
const PANEL_H = 360;
const MARGIN = { top: 88, right: 20, bottom: 50, left: 64 };
const MAX_POINTS = 1500;
const COLORS = { stepRaw: '#9ecae1', stepAvg: '#1f77b4', epochTrain: '#2ca02c', epochTest: '#d62728', grid: '#e5e5e5', axis: '#333' };

type Point = readonly [number, number];

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2));

/** At most MAX_POINTS points: consecutive points averaged in equal bins (keeps the shape, bounds the file size). */
function downsample(points: readonly Point[]): Point[] {
  if (points.length <= MAX_POINTS) return [...points];
  const out: Point[] = [];
  const per = points.length / MAX_POINTS;
  for (let b = 0; b < MAX_POINTS; b++) {
    const lo = Math.floor(b * per);
    const hi = Math.max(lo + 1, Math.floor((b + 1) * per));
    let sx = 0;
    let sy = 0;
    for (let i = lo; i < hi; i++) {
      sx += points[i][0];
      sy += points[i][1];
    }
    out.push([sx / (hi - lo), sy / (hi - lo)]);
  }
  return out;
}

/** Centred moving average over about `window` points (narrower at the ends), so the curve does not lag. */
function movingAverage(points: readonly Point[], window: number): Point[] {
  const half = Math.floor(window / 2);
  const prefix = new Float64Array(points.length + 1);
  points.forEach(([, y], i) => {
    prefix[i + 1] = prefix[i] + y;
  });
  return points.map(([x], i) => {
    const lo = Math.max(0, i - half);
    const hi = Math.min(points.length, i + half + 1);
    return [x, (prefix[hi] - prefix[lo]) / (hi - lo)];
  });
}

interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly Point[];
  readonly width: number;
  readonly hasMarkers: boolean;
}

function pathOf(points: readonly Point[], x: ScaleLinear<number, number>, y: ScaleLinear<number, number>): string {
  const d = line<Point>()
    .x((p) => x(p[0]))
    .y((p) => y(p[1]))(points);
  return d ?? '';
}

/** One panel at (ox, oy): frame, grid, ticks, axis labels, epoch boundaries, series. */
function panel(
  ox: number,
  oy: number,
  title: string,
  yLabel: string,
  series: readonly Series[],
  xMax: number,
  epochSteps: readonly number[],
  isPercent: boolean,
): string {
  const w = PANEL_W - MARGIN.left - MARGIN.right;
  const h = PANEL_H - MARGIN.top - MARGIN.bottom;
  // The first steps of a run are far from the rest: the per-step values set the range by their 3rd and
  // 97th percentiles (the early outliers are clipped), the smoothed and per-epoch values in full.
  const stepYs = (series[0]?.points ?? []).map((p) => p[1]).filter(Number.isFinite).sort((a, b) => a - b);
  const otherYs = series.slice(1).flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const ys = [...otherYs, ...(stepYs.length > 0 ? [stepYs[Math.floor(0.03 * (stepYs.length - 1))], stepYs[Math.ceil(0.97 * (stepYs.length - 1))]] : [])];
  let yMin = ys.length > 0 ? Math.min(...ys) : 0;
  let yMax = ys.length > 0 ? Math.max(...ys) : 1;
  if (isPercent) yMax = Math.min(1, yMax);
  if (!isPercent) yMin = Math.min(0, yMin);
  if (yMin === yMax) {
    yMin -= 0.5;
    yMax += 0.5;
  }
  const x = scaleLinear().domain([0, Math.max(1, xMax)]).range([0, w]).nice();
  const y = scaleLinear().domain([yMin, yMax]).range([h, 0]).nice();
  const xTicks = x.ticks(6);
  const yTicks = y.ticks(6);
  const yFormat = isPercent ? y.tickFormat(6, '%') : y.tickFormat(6);
  const xFormat = x.tickFormat(6);
  const parts: string[] = [`<g transform="translate(${ox + MARGIN.left},${oy + MARGIN.top})">`];
  parts.push(`<text x="${w / 2}" y="-12" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  for (const t of yTicks) {
    const ty = fmt(y(t));
    parts.push(`<line x1="0" x2="${w}" y1="${ty}" y2="${ty}" stroke="${COLORS.grid}"/>`);
    parts.push(`<line x1="-5" x2="0" y1="${ty}" y2="${ty}" stroke="${COLORS.axis}"/>`);
    parts.push(`<text x="-8" y="${ty}" dy="0.32em" text-anchor="end" font-size="11">${esc(yFormat(t))}</text>`);
  }
  for (const t of xTicks) {
    const tx = fmt(x(t));
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${h}" y2="${h + 5}" stroke="${COLORS.axis}"/>`);
    parts.push(`<text x="${tx}" y="${h + 18}" text-anchor="middle" font-size="11">${esc(xFormat(t))}</text>`);
  }
  if (epochSteps.length <= 30) {
    epochSteps.forEach((s, i) => {
      const tx = fmt(x(s));
      parts.push(`<line x1="${tx}" x2="${tx}" y1="0" y2="${h}" stroke="#bbb" stroke-dasharray="3,3"/>`);
      if (epochSteps.length <= 15) parts.push(`<text x="${tx}" y="${h - 4}" dx="-3" text-anchor="end" font-size="9" fill="#888">e${i + 1}</text>`);
    });
  }
  parts.push(`<clipPath id="clip-${ox}"><rect x="0" y="0" width="${w}" height="${h}"/></clipPath>`);
  parts.push(`<g clip-path="url(#clip-${ox})">`);
  for (const s of series) {
    if (s.points.length === 0) continue;
    parts.push(`<path d="${pathOf(s.points, x, y)}" fill="none" stroke="${s.color}" stroke-width="${s.width}"/>`);
    if (s.hasMarkers) {
      for (const [px, py] of s.points) parts.push(`<circle cx="${fmt(x(px))}" cy="${fmt(y(py))}" r="3" fill="${s.color}"/>`);
    }
  }
  parts.push('</g>');
  parts.push(`<rect x="0" y="0" width="${w}" height="${h}" fill="none" stroke="${COLORS.axis}"/>`);
  parts.push(`<text x="${w / 2}" y="${h + 38}" text-anchor="middle" font-size="12">training step</text>`);
  parts.push(`<text transform="translate(-48,${h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`);
  parts.push('</g>');
  return parts.join('\n');
}

function legend(ox: number, oy: number, series: readonly Series[]): string {
  let x = ox;
  const parts: string[] = [];
  for (const s of series) {
    parts.push(`<line x1="${x}" x2="${x + 22}" y1="${oy}" y2="${oy}" stroke="${s.color}" stroke-width="${Math.max(2, s.width)}"/>`);
    if (s.hasMarkers) parts.push(`<circle cx="${x + 11}" cy="${oy}" r="3" fill="${s.color}"/>`);
    parts.push(`<text x="${x + 28}" y="${oy}" dy="0.32em" font-size="12">${esc(s.label)}</text>`);
    x += 40 + s.label.length * 6.5;
  }
  return parts.join('\n');
}

function seriesFor(data: PlotData, pick: 'loss' | 'accuracy'): Series[] {
  const raw = downsample(
    data.steps.flatMap((p): Point[] => {
      const v = pick === 'loss' ? p.loss : p.accuracy;
      return v === null || !Number.isFinite(v) ? [] : [[p.step, v]];
    }),
  );
  const window = Math.max(1, Math.round(raw.length / 40));
  const epochTrain = data.epochs.flatMap((e): Point[] => {
    const v = pick === 'loss' ? e.trainLoss : e.trainAccuracy;
    return v === null || !Number.isFinite(v) ? [] : [[e.step, v]];
  });
  const epochTest = data.epochs.flatMap((e): Point[] => {
    const v = pick === 'loss' ? e.testLoss : e.testAccuracy;
    return v === null || !Number.isFinite(v) ? [] : [[e.step, v]];
  });
  return [
    { label: 'train, per step', color: COLORS.stepRaw, points: raw, width: 1, hasMarkers: false },
    { label: `train, moving average of ${window}`, color: COLORS.stepAvg, points: movingAverage(raw, window), width: 2, hasMarkers: false },
    { label: 'train, epoch mean', color: COLORS.epochTrain, points: epochTrain, width: 2, hasMarkers: true },
    { label: 'test, after each epoch', color: COLORS.epochTest, points: epochTest, width: 2, hasMarkers: true },
  ];
}

/**
 * The SVG text of the run's plot.
 *
 * @example await writeFile('plot.svg', renderPlot({ title: 'lenet on mnist-train.csv', steps, epochs }));
 */
export function renderPlot(data: PlotData): string {
  const hasAccuracy = data.steps.some((p) => p.accuracy !== null) || data.epochs.some((e) => e.testAccuracy !== null || e.trainAccuracy !== null);
  const xMax = Math.max(1, ...data.steps.map((p) => p.step), ...data.epochs.map((e) => e.step));
  const epochSteps = data.epochs.map((e) => e.step);
  const lossSeries = seriesFor(data, 'loss');
  const width = hasAccuracy ? 2 * PANEL_W : PANEL_W;
  const height = PANEL_H;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(data.title)}</text>`,
    legend(MARGIN.left, 46, lossSeries.filter((s) => s.points.length > 0)),
    panel(0, 0, 'Loss', 'loss', lossSeries, xMax, epochSteps, false),
  ];
  if (hasAccuracy) parts.push(panel(PANEL_W, 0, 'Accuracy', 'accuracy', seriesFor(data, 'accuracy'), xMax, epochSteps, true));
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
