/**
 * The run's plot: loss and accuracy against the training step, as a standalone SVG document.
 *
 * Two panels side by side (one when there is no accuracy, i.e. regression). Each shows the per-step
 * training value (faint, with its moving average drawn over it), the per-epoch training mean and the
 * per-epoch test value (points joined by lines, placed at the step where the epoch ended), dashed
 * lines at epoch boundaries, axes with ticks and labels, and one legend. The layout is chart.ts's.
 */
import { renderCharts, type ChartSeries, type Point, type VerticalMarker } from './chart.js';

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

const MAX_POINTS = 1500;
const COLORS = { stepRaw: '#9ecae1', stepAvg: '#1f77b4', epochTrain: '#2ca02c', epochTest: '#d62728', epochLine: '#bbb' };

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

function seriesFor(data: PlotData, pick: 'loss' | 'accuracy'): ChartSeries[] {
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
    { label: 'train, per step', color: COLORS.stepRaw, points: raw, width: 1, hasMarkers: false, isRobustRange: true },
    { label: window > 1 ? `train, moving average of ${window}` : 'train, moving average', color: COLORS.stepAvg, points: movingAverage(raw, window), width: 2, hasMarkers: false },
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
  // Epoch boundaries: dashed lines, labelled while there are few of them.
  const epochs = data.epochs.length <= 30 ? data.epochs : [];
  const markers: VerticalMarker[] = epochs.map((e, i) => ({ x: e.step, color: COLORS.epochLine, ...(data.epochs.length <= 15 ? { label: `e${i + 1}` } : {}) }));
  const lossSeries = seriesFor(data, 'loss');
  const panels = [{ title: 'Loss', xLabel: 'training step', yLabel: 'loss', series: lossSeries, isPercent: false, markers }];
  if (hasAccuracy) panels.push({ title: 'Accuracy', xLabel: 'training step', yLabel: 'accuracy', series: seriesFor(data, 'accuracy'), isPercent: true, markers });
  return renderCharts({ title: data.title, panels, legend: lossSeries.filter((s) => s.points.length > 0) });
}
