/**
 * The dashboard page: reads the server's events (/events, server-sent; protocol.ts), keeps each
 * run's data (runData.ts) and redraws at most twice a second: the runs' cards (final test accuracy,
 * model summary), scalar charts overlaid per run — raw and smoothed with the debiased EMA of
 * src/ops/smoothing.ts at the slider's weight — the online windows with drift markers, and every
 * layer's distributions of weights, gradients and deltas as percentile bands.
 */
import { debiasedEma } from '../../../src/ops/smoothing.js';
import type { ControlMessage, LayersMessage, WireMessage } from '../protocol.js';
import { BandChart, LineChart, type Line } from './charts.js';
import { applyMessage, finalTestAccuracy, type RunData } from './runData.js';

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
/** Scalars redraw at most this often; band charts at most every LAYERS_REDRAW_MS (they are many). */
const REDRAW_MS = 500;
const LAYERS_REDRAW_MS = 2000;
let lastLayersDraw = 0;

const token = new URLSearchParams(location.search).get('token');
const withToken = (path: string): string => (token === null ? path : `${path}?token=${encodeURIComponent(token)}`);

const runs: RunData[] = [];
let control: ControlMessage | null = null;
let smoothing = 0.6;
let isDirty = true;
let isLayersDirty = true;
/** The run ended and its server has gone: the status line keeps saying so. */
let isServerGone = false;
let lastDraw = 0;

/** Whether there are runs and every one has ended. */
function isEveryRunDone(): boolean {
  return runs.length > 0 && runs.every((r) => r.done !== null);
}

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`dashboard page: #${id} missing`);
  return el;
}

const statusEl = byId('status', HTMLElement);
function setStatus(status: 'live' | 'finished' | 'disconnected' | 'replay', text: string): void {
  statusEl.dataset.status = status;
  statusEl.textContent = text;
}

const colorOf = (run: number): string => PALETTE[run % PALETTE.length];
const shortName = (r: RunData): string => r.info.name.split('/').filter((s) => s !== '').pop() ?? r.info.name;
const pct = (v: number | null): string => (v === null ? '–' : `${(100 * v).toFixed(2)}%`);

// ───────────── runs' cards ─────────────

function renderRuns(): void {
  const host = byId('runs', HTMLElement);
  runs.forEach((r, i) => {
    let card = host.querySelector<HTMLElement>(`[data-run="${i}"]`);
    if (card === null) {
      card = document.createElement('article');
      card.className = 'run';
      card.dataset.run = String(i);
      card.style.setProperty('--run-color', colorOf(i));
      card.innerHTML = '<div class="name"></div><div class="title facts"></div><div class="facts progress"></div><div class="final">test accuracy <span data-final-test-accuracy></span></div><details><summary>model</summary><pre></pre></details>';
      host.append(card);
    }
    const set = (selector: string, text: string): void => {
      const el = card?.querySelector(selector);
      if (el !== null && el !== undefined && el.textContent !== text) el.textContent = text;
    };
    set('.name', shortName(r));
    set('.title', r.info.title);
    const steps = r.steps.step.length === 0 ? (r.windows.seen.length === 0 ? 0 : null) : r.steps.step[r.steps.step.length - 1];
    const seen = r.windows.seen.length === 0 ? null : r.windows.seen[r.windows.seen.length - 1];
    const state = r.done === null ? 'running' : r.done.status;
    set('.progress', `${state}${steps === null ? '' : `, step ${steps}`}${seen === null ? '' : `, ${seen} rows`}${r.epochs.length === 0 ? '' : `, epoch ${r.epochs[r.epochs.length - 1].epoch}`}`);
    set('[data-final-test-accuracy]', pct(finalTestAccuracy(r)));
    set('pre', r.info.summary);
  });
}

// ───────────── scalars ─────────────

const charts = new Map<string, LineChart>();
function lineChart(parent: HTMLElement, id: string, title: string, options?: ConstructorParameters<typeof LineChart>[3]): LineChart {
  let c = charts.get(id);
  if (c === undefined) {
    c = new LineChart(parent, id, title, options);
    charts.set(id, c);
  }
  return c;
}

type StepKey = 'loss' | 'accuracy' | 'lr' | 'gradNorm' | 'samplesPerSecond';

/** Raw and smoothed lines of a step column for every run (+ the test value at each epoch end). */
function stepLines(key: StepKey, test?: 'testLoss' | 'testAccuracy', train?: 'trainLoss' | 'trainAccuracy'): Line[] {
  return runs.flatMap((r, i) => {
    const name = shortName(r);
    const color = colorOf(i);
    const y = r.steps[key];
    if (!y.some((v) => v !== null)) return [];
    const lines: Line[] = [
      { label: `${name}`, color, style: 'raw', x: r.steps.step, y },
      { label: `${name} smoothed`, color, style: 'line', x: r.steps.step, y: debiasedEma(y, smoothing) },
    ];
    if (test !== undefined && r.epochs.some((e) => e[test] !== null)) {
      lines.push({ label: `${name} test`, color, style: 'points', x: r.epochs.map((e) => e.step), y: r.epochs.map((e) => e[test]) });
    }
    if (train !== undefined && r.epochs.length > 0 && test === undefined) {
      lines.push({ label: `${name} epoch mean`, color, style: 'points', x: r.epochs.map((e) => e.step), y: r.epochs.map((e) => e[train]) });
    }
    return lines;
  });
}

function renderScalars(): void {
  const host = byId('scalars', HTMLElement);
  const hasSteps = runs.some((r) => r.steps.step.length > 0);
  if (!hasSteps) return;
  lineChart(host, 'loss', 'loss (train per step, test per epoch)').update(stepLines('loss', 'testLoss'));
  lineChart(host, 'accuracy', 'accuracy (train per step, test per epoch)').update(stepLines('accuracy', 'testAccuracy'));
  lineChart(host, 'lr', 'learning rate').update(runs.map((r, i) => ({ label: shortName(r), color: colorOf(i), style: 'line', x: r.steps.step, y: r.steps.lr })));
  lineChart(host, 'samples-per-second', 'samples/s').update(stepLines('samplesPerSecond'));
  lineChart(host, 'grad-norm', 'gradient norm (before clipping)').update(stepLines('gradNorm'));
}

function renderOnline(): void {
  const online = runs.filter((r) => r.windows.seen.length > 0);
  const part = byId('online-part', HTMLElement);
  part.hidden = online.length === 0;
  if (online.length === 0) return;
  const host = byId('online', HTMLElement);
  const markers = runs.flatMap((r) => r.drifts.map((d) => d.seen));
  const lines = (a: 'windowAccuracy' | 'windowLoss' | 'kappa', b?: 'cumulativeAccuracy' | 'cumulativeLoss'): Line[] =>
    runs.flatMap((r, i) => {
      if (r.windows.seen.length === 0) return [];
      const name = shortName(r);
      const out: Line[] = [{ label: `${name} window`, color: colorOf(i), style: 'line', x: r.windows.seen, y: r.windows[a] }];
      if (b !== undefined) out.push({ label: `${name} cumulative`, color: colorOf(i), style: 'raw', x: r.windows.seen, y: r.windows[b] });
      return out;
    });
  const charts: [string, string, Line[]][] = [
    ['online-accuracy', 'prequential accuracy (window and cumulative); dashed: drift detections', lines('windowAccuracy', 'cumulativeAccuracy')],
    ['online-loss', 'prequential loss (window and cumulative)', lines('windowLoss', 'cumulativeLoss')],
  ];
  if (online.some((r) => r.windows.kappa.some((k) => k !== null))) charts.push(['online-kappa', 'κ (Cohen\'s kappa of the window)', lines('kappa')]);
  for (const [id, title, ls] of charts) {
    const c = lineChart(host, id, title, { xLabel: 'rows seen' });
    c.markers = markers;
    c.update(ls);
  }
}

// ───────────── layers ─────────────

const bandCharts = new Map<string, BandChart>();
/** Per run, the layer records last drawn (the band charts change only when new ones arrive). */
const drawnLayers = new Map<number, LayersMessage>();

function renderLayers(): void {
  const host = byId('layers', HTMLElement);
  runs.forEach((r, i) => {
    let section = host.querySelector<HTMLElement>(`.layer-run[data-run="${i}"]`);
    if (section === null) {
      section = document.createElement('section');
      section.className = 'layer-run';
      section.dataset.run = String(i);
      const h = document.createElement('h3');
      h.textContent = r.info.statsEvery > 0 ? `${shortName(r)} — every ${r.info.statsEvery} steps` : shortName(r);
      section.append(h);
      host.append(section);
    }
    if (r.layers.length === 0) {
      if (section.querySelector('.empty') === null && r.info.layers.length > 0) {
        const p = document.createElement('p');
        p.className = 'empty';
        p.textContent = r.info.statsEvery > 0 ? 'no layer statistics yet' : 'this run has no layer statistics (it was trained without --dashboard)';
        section.append(p);
      }
      return;
    }
    section.querySelector('.empty')?.remove();
    const newest = r.layers[r.layers.length - 1];
    if (drawnLayers.get(i) === newest && r.layers.length === Number(section.dataset.records)) return;
    drawnLayers.set(i, newest);
    section.dataset.records = String(r.layers.length);
    const steps = r.layers.map((l) => l.step);
    for (const info of r.info.layers) {
      let row = section.querySelector<HTMLElement>(`.layer[data-layer="${info.index}"]`);
      if (row === null) {
        row = document.createElement('div');
        row.className = 'layer';
        row.dataset.layer = String(info.index);
        row.innerHTML = '<div class="label"></div><div class="charts"></div>';
        const label = row.querySelector('.label');
        if (label !== null) label.textContent = `#${info.index} ${info.label}`;
        section.append(row);
      }
      const grid = row.querySelector<HTMLElement>('.charts');
      if (grid === null) continue;
      const panels: [string, string, (l: RunData['layers'][number]['layers'][number]) => { p: readonly (number | null)[] } | null | undefined][] = [];
      for (const name of info.params) {
        panels.push([`weights-${name}`, `${name}`, (l) => l.weights[name]]);
        panels.push([`grads-${name}`, `∂C/∂${name}`, (l) => l.grads[name]]);
      }
      panels.push(['delta', 'δ arriving (∂C/∂y)', (l) => l.delta]);
      for (const [id, title, pick] of panels) {
        const key = `${i}/${info.index}/${id}`;
        let chart = bandCharts.get(key);
        if (chart === undefined) {
          chart = new BandChart(grid, id, title, colorOf(i));
          bandCharts.set(key, chart);
        }
        const nP = r.info.percentiles.length;
        const columns = Array.from({ length: nP }, (_, k) =>
          r.layers.map((rec) => {
            const stat = rec.layers.find((s) => s.layer === info.index);
            return stat === undefined ? null : (pick(stat)?.p[k] ?? null);
          }),
        );
        chart.update(steps, columns);
      }
    }
  });
}

// ───────────── loop ─────────────

let drawTimer: ReturnType<typeof setTimeout> | null = null;

/**
 * Draw soon: scalars at most every REDRAW_MS, band charts at most every LAYERS_REDRAW_MS (at once
 * when every run has ended). Nothing runs while no message arrives — no animation-frame loop.
 */
function scheduleDraw(): void {
  if (drawTimer !== null) return;
  const now = performance.now();
  const isAllDone = isEveryRunDone();
  const layersWait = isLayersDirty ? (isAllDone ? 0 : lastLayersDraw + LAYERS_REDRAW_MS - now) : Infinity;
  const wait = Math.max(0, Math.min(isDirty ? lastDraw + REDRAW_MS - now : Infinity, layersWait));
  drawTimer = setTimeout(() => {
    drawTimer = null;
    requestAnimationFrame(draw);
  }, Number.isFinite(wait) ? wait : 0);
}

/**
 * Draw what is due. Once every run has ended, everything left is drawn at once, and only then does
 * the status say so: "finished" means the page shows the whole run.
 */
function draw(now: number): void {
  const isAllDone = isEveryRunDone();
  if (isDirty && (isAllDone || now - lastDraw >= REDRAW_MS)) {
    isDirty = false;
    lastDraw = now;
    renderRuns();
    renderScalars();
    renderOnline();
    document.body.dataset.drawn = String(Number(document.body.dataset.drawn ?? '0') + 1);
  }
  if (isLayersDirty && (isAllDone || now - lastLayersDraw >= LAYERS_REDRAW_MS)) {
    isLayersDirty = false;
    lastLayersDraw = now;
    renderLayers();
  }
  showStatus(isAllDone);
  if (isDirty || isLayersDirty) scheduleDraw();
}

/** The status line, for what has been drawn: live, finished, or a replay. */
function showStatus(isAllDone: boolean): void {
  if (isServerGone && control?.isLive !== false) setStatus('finished', 'run finished (the server has stopped; replay it with `deltaflow dashboard RUN`)');
  else if (control?.isLive === false) setStatus('replay', `replay of ${runs.length} run${runs.length === 1 ? '' : 's'}`);
  else if (isAllDone) setStatus('finished', 'run finished');
  else setStatus('live', 'live');
  if (isAllDone) byId('stats-every-control', HTMLElement).hidden = true;
}

function onControl(c: ControlMessage): void {
  control = c;
  const box = byId('stats-every-control', HTMLElement);
  box.hidden = !c.isLive || isEveryRunDone();
  const input = byId('stats-every', HTMLInputElement);
  if (document.activeElement !== input) input.value = String(c.statsEvery);
}

function connect(): void {
  const events = new EventSource(withToken('events'));
  const handle = (e: MessageEvent<string>): void => {
    const m = JSON.parse(e.data) as WireMessage;
    if (m.type === 'control') onControl(m);
    else applyMessage(runs, m);
    isDirty = true;
    isLayersDirty = true;
    scheduleDraw();
  };
  for (const type of ['run', 'steps', 'epoch', 'layers', 'window', 'drift', 'done', 'control']) events.addEventListener(type, handle);
  events.onerror = () => {
    const isAllDone = isEveryRunDone();
    if (isAllDone || control?.isLive === false) {
      events.close();
      isServerGone = true;
      // The status follows the draw that shows everything (one may still be due).
      if (drawTimer === null && !isDirty && !isLayersDirty) showStatus(true);
    } else {
      setStatus('disconnected', 'disconnected — retrying');
    }
  };
}

function setup(): void {
  const slider = byId('smoothing', HTMLInputElement);
  const shown = byId('smoothing-value', HTMLOutputElement);
  slider.addEventListener('input', () => {
    smoothing = Number(slider.value);
    shown.value = smoothing.toFixed(2);
    isDirty = true;
    lastDraw = 0;
    scheduleDraw();
  });
  const every = byId('stats-every', HTMLInputElement);
  every.addEventListener('change', () => {
    const k = Number(every.value);
    if (!Number.isInteger(k) || k < 1) return;
    fetch(withToken('api/control'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ statsEvery: k }) }).catch(() => undefined);
  });
  window.addEventListener('resize', () => {
    for (const c of charts.values()) c.resize();
    for (const c of bandCharts.values()) c.resize();
  });
  connect();
}

setup();
