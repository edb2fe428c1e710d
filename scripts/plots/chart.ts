/**
 * Line charts as a standalone SVG document: a title, one legend, and panels side by side, each with a
 * frame, grid, ticks, axis labels, its series and optional vertical markers (epoch boundaries, drift
 * detections). The training plot (trainingPlot.ts) and the online plot are built on it.
 *
 * Layout: the canvas is `PANEL_W` per panel wide; the title wraps into lines and the legend flows into
 * rows that fit that width, and the top margin grows with them; each panel's left margin fits its
 * widest y tick label and its right margin half its last x tick label. Text widths are estimates
 * (textWidth.ts) on the wide side, so every box stays inside the canvas (checked by rendering the
 * plots in test/cli/plots.test.ts). Scales come from d3-scale and paths from d3-shape; the SVG text
 * around them is written here (no DOM).
 */
import { scaleLinear, type ScaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { fitWithEllipsis, textWidth, wrapText } from './textWidth.js';

export type Point = readonly [number, number];

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly points: readonly Point[];
  readonly width: number;
  readonly hasMarkers: boolean;
  /** SVG stroke-dasharray, e.g. `4,3`. */
  readonly dash?: string;
  /**
   * The series sets the y range by its 3rd and 97th percentiles only (noisy per-step values whose
   * early outliers would squash the rest); the other series set it in full.
   */
  readonly isRobustRange?: boolean;
}

/** A vertical line across a panel at `x`, with an optional short label at its top. */
export interface VerticalMarker {
  readonly x: number;
  readonly color: string;
  readonly dash?: string;
  readonly label?: string;
}

export interface ChartPanel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
  /** y values are fractions, shown as percentages and capped at 100 %. */
  readonly isPercent: boolean;
  readonly markers?: readonly VerticalMarker[];
}

/** A legend entry: a line sample (with a dot when `hasMarkers`) and its label. */
export interface LegendEntry {
  readonly label: string;
  readonly color: string;
  readonly width: number;
  readonly hasMarkers: boolean;
  readonly dash?: string;
}

export interface ChartDocument {
  readonly title: string;
  readonly panels: readonly ChartPanel[];
  readonly legend: readonly LegendEntry[];
}

const PANEL_W = 460;
const PLOT_H = 222;
const MARGIN = { right: 20, bottom: 50, minLeft: 64 };
const SIDE = 12;
const TITLE = { size: 14, lineHeight: 18 };
const LEGEND = { size: 12, rowHeight: 20, sample: 22, gap: 18 };
const TICK_SIZE = 11;
const COLORS = { grid: '#e5e5e5', axis: '#333' };

export const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2));

function pathOf(points: readonly Point[], x: ScaleLinear<number, number>, y: ScaleLinear<number, number>): string {
  const d = line<Point>()
    .x((p) => x(p[0]))
    .y((p) => y(p[1]))(points);
  return d ?? '';
}

/** The panel's y domain: robust series by their 3rd–97th percentiles, the others in full. */
function yDomain(panel: ChartPanel): [number, number] {
  const ys: number[] = [];
  for (const s of panel.series) {
    const values = s.points.map((p) => p[1]).filter(Number.isFinite);
    if (s.isRobustRange === true && values.length > 0) {
      values.sort((a, b) => a - b);
      ys.push(values[Math.floor(0.03 * (values.length - 1))], values[Math.ceil(0.97 * (values.length - 1))]);
    } else ys.push(...values);
  }
  let lo = ys.length > 0 ? Math.min(...ys) : 0;
  let hi = ys.length > 0 ? Math.max(...ys) : 1;
  if (panel.isPercent) hi = Math.min(1, hi);
  else lo = Math.min(0, lo);
  if (lo === hi) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

interface PanelLayout {
  readonly left: number;
  readonly right: number;
  readonly x: ScaleLinear<number, number>;
  readonly y: ScaleLinear<number, number>;
  readonly xTicks: readonly { readonly value: number; readonly text: string }[];
  readonly yTicks: readonly { readonly value: number; readonly text: string }[];
}

/** Scales and margins of one panel: the left margin fits the widest y tick label and the y axis label. */
function layoutPanel(panel: ChartPanel, xMax: number): PanelLayout {
  const [lo, hi] = yDomain(panel);
  const y = scaleLinear().domain([lo, hi]).range([PLOT_H, 0]).nice();
  const yFormat = panel.isPercent ? y.tickFormat(6, '%') : y.tickFormat(6);
  const yTicks = y.ticks(6).map((value) => ({ value, text: yFormat(value) }));
  const left = Math.max(MARGIN.minLeft, Math.ceil(8 + Math.max(0, ...yTicks.map((t) => textWidth(t.text, TICK_SIZE))) + 28));
  const xDomain = scaleLinear().domain([0, Math.max(1, xMax)]).nice();
  const xFormat = xDomain.tickFormat(6);
  const xValues = xDomain.ticks(6);
  const lastText = xFormat(xValues.at(-1) ?? 0);
  const right = Math.max(MARGIN.right, Math.ceil(textWidth(lastText, TICK_SIZE) / 2 + 6));
  const x = xDomain.copy().range([0, PANEL_W - left - right]);
  return { left, right, x, y, xTicks: xValues.map((value) => ({ value, text: xFormat(value) })), yTicks };
}

/** One panel at (ox, oy): frame, grid, ticks, axis labels, markers, series. */
function renderPanel(index: number, ox: number, oy: number, panel: ChartPanel, layout: PanelLayout): string {
  const { left, right, x, y } = layout;
  const w = PANEL_W - left - right;
  const h = PLOT_H;
  const parts: string[] = [`<g transform="translate(${ox + left},${oy})">`];
  parts.push(`<text x="${w / 2}" y="-12" text-anchor="middle" font-size="15" font-weight="bold">${esc(fitWithEllipsis(panel.title, 15, PANEL_W - 2 * SIDE, true))}</text>`);
  for (const t of layout.yTicks) {
    const ty = fmt(y(t.value));
    parts.push(`<line x1="0" x2="${w}" y1="${ty}" y2="${ty}" stroke="${COLORS.grid}"/>`);
    parts.push(`<line x1="-5" x2="0" y1="${ty}" y2="${ty}" stroke="${COLORS.axis}"/>`);
    parts.push(`<text x="-8" y="${ty}" dy="0.32em" text-anchor="end" font-size="${TICK_SIZE}">${esc(t.text)}</text>`);
  }
  for (const t of layout.xTicks) {
    const tx = fmt(x(t.value));
    parts.push(`<line x1="${tx}" x2="${tx}" y1="${h}" y2="${h + 5}" stroke="${COLORS.axis}"/>`);
    parts.push(`<text x="${tx}" y="${h + 18}" text-anchor="middle" font-size="${TICK_SIZE}">${esc(t.text)}</text>`);
  }
  const markers = panel.markers ?? [];
  for (const m of markers) {
    const tx = fmt(x(m.x));
    parts.push(`<line x1="${tx}" x2="${tx}" y1="0" y2="${h}" stroke="${m.color}" stroke-dasharray="${m.dash ?? '3,3'}"/>`);
    if (m.label !== undefined) parts.push(`<text x="${tx}" y="${h - 4}" dx="-3" text-anchor="end" font-size="9" fill="#888">${esc(m.label)}</text>`);
  }
  parts.push(`<clipPath id="clip-${index}"><rect x="0" y="0" width="${w}" height="${h}"/></clipPath>`);
  parts.push(`<g clip-path="url(#clip-${index})">`);
  for (const s of panel.series) {
    if (s.points.length === 0) continue;
    const dash = s.dash === undefined ? '' : ` stroke-dasharray="${s.dash}"`;
    parts.push(`<path d="${pathOf(s.points, x, y)}" fill="none" stroke="${s.color}" stroke-width="${s.width}"${dash}/>`);
    if (s.hasMarkers) {
      for (const [px, py] of s.points) parts.push(`<circle cx="${fmt(x(px))}" cy="${fmt(y(py))}" r="3" fill="${s.color}"/>`);
    }
  }
  parts.push('</g>');
  parts.push(`<rect x="0" y="0" width="${w}" height="${h}" fill="none" stroke="${COLORS.axis}"/>`);
  parts.push(`<text x="${w / 2}" y="${h + 38}" text-anchor="middle" font-size="12">${esc(fitWithEllipsis(panel.xLabel, 12, w))}</text>`);
  parts.push(`<text transform="translate(${-left + 16},${h / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(fitWithEllipsis(panel.yLabel, 12, h))}</text>`);
  parts.push('</g>');
  return parts.join('\n');
}

interface PlacedEntry {
  readonly entry: LegendEntry;
  readonly text: string;
  readonly x: number;
  readonly row: number;
}

/** Legend entries flowed into rows that fit between the side margins. */
function flowLegend(entries: readonly LegendEntry[], width: number): { placed: PlacedEntry[]; rows: number } {
  const placed: PlacedEntry[] = [];
  const maxText = width - 2 * SIDE - LEGEND.sample - 6;
  let x = SIDE;
  let row = 0;
  for (const entry of entries) {
    const text = fitWithEllipsis(entry.label, LEGEND.size, maxText);
    const itemW = LEGEND.sample + 6 + textWidth(text, LEGEND.size);
    if (x > SIDE && x + itemW > width - SIDE) {
      row++;
      x = SIDE;
    }
    placed.push({ entry, text, x, row });
    x += itemW + LEGEND.gap;
  }
  return { placed, rows: entries.length === 0 ? 0 : row + 1 };
}

function renderLegend(placed: readonly PlacedEntry[], top: number): string {
  const parts: string[] = [];
  for (const { entry, text, x, row } of placed) {
    const y = top + row * LEGEND.rowHeight;
    const dash = entry.dash === undefined ? '' : ` stroke-dasharray="${entry.dash}"`;
    parts.push(`<line x1="${x}" x2="${x + LEGEND.sample}" y1="${y}" y2="${y}" stroke="${entry.color}" stroke-width="${Math.max(2, entry.width)}"${dash}/>`);
    if (entry.hasMarkers) parts.push(`<circle cx="${x + LEGEND.sample / 2}" cy="${y}" r="3" fill="${entry.color}"/>`);
    parts.push(`<text x="${x + LEGEND.sample + 6}" y="${y}" dy="0.32em" font-size="${LEGEND.size}">${esc(text)}</text>`);
  }
  return parts.join('\n');
}

/**
 * The SVG text of a chart document.
 *
 * @example renderCharts({ title: 'run', legend, panels: [{ title: 'Loss', xLabel: 'step', yLabel: 'loss', series, isPercent: false }] })
 */
export function renderCharts(doc: ChartDocument): string {
  const nPanels = Math.max(1, doc.panels.length);
  const width = nPanels * PANEL_W;
  const titleLines = wrapText(doc.title, TITLE.size, width - 2 * SIDE);
  const legend = flowLegend(doc.legend, width);
  const legendTop = 12 + titleLines.length * TITLE.lineHeight + 14;
  const plotTop = legendTop + legend.rows * LEGEND.rowHeight + 30;
  const height = plotTop + PLOT_H + MARGIN.bottom;
  const xMax = Math.max(1, ...doc.panels.flatMap((p) => [...p.series.flatMap((s) => s.points.map((q) => q[0])), ...(p.markers ?? []).map((m) => m.x)]).filter(Number.isFinite));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...titleLines.map((t, i) => `<text x="${width / 2}" y="${20 + i * TITLE.lineHeight}" text-anchor="middle" font-size="${TITLE.size}">${esc(t)}</text>`),
    renderLegend(legend.placed, legendTop),
    ...doc.panels.map((p, i) => renderPanel(i, i * PANEL_W, plotTop, p, layoutPanel(p, xMax))),
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}
