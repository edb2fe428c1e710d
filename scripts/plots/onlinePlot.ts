/**
 * The plot of an online run: the prequential figures against the row, one colour per learner.
 *
 * Classification: a panel of accuracy — windowed (solid) and cumulative (dashed) — and a panel of κ
 * over the window. Regression: the loss, windowed and cumulative, and RMSE over the window when it was
 * measured. Vertical markers: every drift a detector signalled (in its learner's colour; fainter when
 * nothing reacted to it) and the stream's known drift points (`--drift-at`, grey, dashed). The layout
 * is chart.ts's.
 */
import { renderCharts, type ChartPanel, type ChartSeries, type LegendEntry, type Point, type VerticalMarker } from './chart.js';

/** One report of one learner, as metrics.csv holds it. */
export interface OnlinePoint {
  readonly row: number;
  readonly learner: string;
  readonly values: Readonly<Record<string, number | null>>;
  readonly loss: number | null;
  readonly lossWindow: number | null;
}

export interface OnlineMarker {
  readonly row: number;
  readonly learner: string;
  /** The detector's drift was reacted to (a rise in error, not a repeat). */
  readonly isReacted: boolean;
}

export interface OnlinePlotData {
  readonly title: string;
  readonly isRegression: boolean;
  readonly learners: readonly string[];
  readonly points: readonly OnlinePoint[];
  readonly detections: readonly OnlineMarker[];
  /** Rows where the stream's concept is known to change. */
  readonly driftAt: readonly number[];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const colorOf = (i: number): string => PALETTE[i % PALETTE.length];

function series(data: OnlinePlotData, learner: string, pick: (p: OnlinePoint) => number | null): Point[] {
  return data.points.flatMap((p): Point[] => {
    if (p.learner !== learner) return [];
    const v = pick(p);
    return v === null || !Number.isFinite(v) ? [] : [[p.row, v]];
  });
}

/**
 * The SVG text of an online run's plot.
 *
 * @example await writeFile('plot.svg', renderOnlinePlot({ title, isRegression: false, learners: ['mlp'], points, detections, driftAt: [5000] }));
 */
export function renderOnlinePlot(data: OnlinePlotData): string {
  const isMany = data.learners.length > 1;
  const label = (learner: string, what: string): string => (isMany ? `${learner}, ${what}` : what);
  const markers: VerticalMarker[] = [
    ...data.driftAt.map((row): VerticalMarker => ({ x: row, color: '#777', dash: '6,4', label: 'drift' })),
    ...data.detections.map((d): VerticalMarker => {
      const color = colorOf(Math.max(0, data.learners.indexOf(d.learner)));
      return { x: d.row, color: d.isReacted ? color : `${color}55`, dash: '2,2' };
    }),
  ];
  const panel = (title: string, yLabel: string, isPercent: boolean, picks: readonly { what: string; dash?: string; pick: (p: OnlinePoint) => number | null }[]): { panel: ChartPanel; legend: LegendEntry[] } => {
    const all: ChartSeries[] = [];
    data.learners.forEach((learner, i) => {
      for (const { what, dash, pick } of picks) {
        all.push({ label: label(learner, what), color: colorOf(i), points: series(data, learner, pick), width: dash === undefined ? 2 : 1.5, hasMarkers: false, ...(dash === undefined ? {} : { dash }) });
      }
    });
    return { panel: { title, xLabel: 'row', yLabel, series: all, isPercent, markers }, legend: all.filter((x) => x.points.length > 0) };
  };
  const parts = data.isRegression
    ? [
        panel('Loss', 'loss', false, [
          { what: 'loss, window', pick: (p) => p.lossWindow },
          { what: 'loss, cumulative', dash: '5,3', pick: (p) => p.loss },
        ]),
        ...(data.points.some((p) => p.values.rmse_window !== undefined) ? [panel('RMSE over the window', 'rmse', false, [{ what: 'rmse, window', pick: (p) => p.values.rmse_window ?? null }])] : []),
      ]
    : [
        panel('Accuracy', 'accuracy', true, [
          { what: 'accuracy, window', pick: (p) => p.values.accuracy_window ?? null },
          { what: 'accuracy, cumulative', dash: '5,3', pick: (p) => p.values.accuracy ?? null },
        ]),
        panel('Cohen\'s κ over the window', 'κ', false, [{ what: 'κ, window', pick: (p) => p.values.kappa_window ?? null }]),
      ];
  // The legend names each learner's colour once, then the line styles and the markers.
  const legend: LegendEntry[] = isMany
    ? [
        ...data.learners.map((learner, i): LegendEntry => ({ label: learner, color: colorOf(i), width: 2, hasMarkers: false })),
        { label: 'over the window', color: '#555', width: 2, hasMarkers: false },
        { label: 'cumulative', color: '#555', width: 1.5, hasMarkers: false, dash: '5,3' },
      ]
    : parts.flatMap((p) => p.legend);
  if (data.driftAt.length > 0) legend.push({ label: 'known drift', color: '#777', width: 1, hasMarkers: false, dash: '6,4' });
  if (data.detections.length > 0) legend.push({ label: 'detected drift', color: colorOf(0), width: 1, hasMarkers: false, dash: '2,2' });
  return renderCharts({ title: data.title, panels: parts.map((p) => p.panel), legend });
}
