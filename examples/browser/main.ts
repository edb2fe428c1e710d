/**
 * The demo page: starts the training worker (worker.ts), sends it what to train on — the MNIST CSV
 * served next to this page, or a CSV file the user picks — and draws what comes back: live loss and
 * accuracy (uPlot, raw and smoothed), the test accuracy, the training samples/s, and test digits
 * with their predictions. A timer keeps ticking on this thread while the worker trains.
 *
 * URL parameters: `?rows=N&epochs=E&autostart=1` preset the form and start at once.
 */
import uPlot from 'uplot';
import { debiasedEma } from '../../src/ops/smoothing.js';
import type { TrainRequest, WorkerMessage } from './protocol.js';

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`demo page: #${id} missing`);
  return el;
}

const params = new URLSearchParams(location.search);
const rowsInput = byId('rows', HTMLInputElement);
const epochsInput = byId('epochs', HTMLInputElement);
const fileInput = byId('file', HTMLInputElement);
const button = byId('train', HTMLButtonElement);
const status = byId('status', HTMLElement);
rowsInput.value = params.get('rows') ?? rowsInput.value;
epochsInput.value = params.get('epochs') ?? epochsInput.value;

const steps: number[] = [];
const losses: number[] = [];
const accuracies: (number | null)[] = [];

function chart(id: string): { plot: uPlot; box: HTMLElement } {
  const box = byId(id, HTMLElement);
  const plot = new uPlot(
    {
      width: Math.max(300, box.clientWidth - 8),
      height: 220,
      scales: { x: { time: false } },
      series: [{ label: 'step' }, { label: 'per step', stroke: '#1f77b455', width: 1 }, { label: 'smoothed', stroke: '#1f77b4', width: 2 }],
    },
    [[], [], []],
    box,
  );
  return { plot, box };
}
const lossChart = chart('loss-chart');
const accuracyChart = chart('accuracy-chart');

function redraw(): void {
  const set = (c: { plot: uPlot; box: HTMLElement }, y: (number | null)[]): void => {
    c.plot.setData([steps, y, debiasedEma(y, 0.8)]);
    c.box.dataset.points = String(steps.length);
  };
  set(lossChart, losses);
  set(accuracyChart, accuracies);
}

function showDigits(digits: Extract<WorkerMessage, { type: 'digits' }>['digits']): void {
  const host = byId('digits', HTMLElement);
  host.replaceChildren();
  for (const d of digits) {
    const figure = document.createElement('figure');
    figure.className = `digit${d.predicted === d.label ? '' : ' wrong'}`;
    const canvas = document.createElement('canvas');
    canvas.width = 28;
    canvas.height = 28;
    const ctx = canvas.getContext('2d');
    if (ctx !== null) {
      const image = ctx.createImageData(28, 28);
      d.pixels.forEach((v, i) => {
        image.data.set([255 - v, 255 - v, 255 - v, 255], 4 * i);
      });
      ctx.putImageData(image, 0, 0);
    }
    const caption = document.createElement('figcaption');
    caption.textContent = `predicted ${d.predicted} (label ${d.label})`;
    figure.append(canvas, caption);
    host.append(figure);
  }
}

let ticks = 0;
const ticker = byId('ticks', HTMLElement);
let tickTimer: ReturnType<typeof setInterval> | null = null;

function start(): void {
  const worker = new Worker('worker.js', { type: 'module' });
  steps.length = 0;
  losses.length = 0;
  accuracies.length = 0;
  button.disabled = true;
  status.textContent = 'starting the worker…';
  document.body.dataset.state = 'training';
  ticks = 0;
  tickTimer = setInterval(() => {
    ticks++;
    ticker.textContent = String(ticks);
  }, 50);
  let pendingDraw = false;
  worker.addEventListener('message', (event: MessageEvent<WorkerMessage>) => {
    const m = event.data;
    switch (m.type) {
      case 'ready':
        byId('kernels', HTMLElement).textContent = m.wasm ? 'WebAssembly SIMD' : 'TypeScript (no WASM SIMD)';
        status.textContent = 'training…';
        break;
      case 'steps':
        for (const s of m.steps) {
          steps.push(s.step);
          losses.push(s.loss);
          accuracies.push(s.accuracy);
        }
        if (m.steps.length > 0) status.textContent = `training… step ${m.steps[m.steps.length - 1].step}, ${Math.round(m.steps[m.steps.length - 1].samplesPerSecond)} samples/s`;
        if (!pendingDraw) {
          pendingDraw = true;
          requestAnimationFrame(() => {
            pendingDraw = false;
            redraw();
          });
        }
        break;
      case 'epoch':
        status.textContent = `epoch ${m.epoch}: test accuracy ${m.testAccuracy === null ? '–' : `${(100 * m.testAccuracy).toFixed(2)}%`}`;
        byId('accuracy', HTMLElement).textContent = m.testAccuracy === null ? '–' : `${(100 * m.testAccuracy).toFixed(2)}%`;
        break;
      case 'digits':
        showDigits(m.digits);
        break;
      case 'done':
        redraw();
        byId('accuracy', HTMLElement).textContent = m.testAccuracy === null ? '–' : `${(100 * m.testAccuracy).toFixed(2)}%`;
        byId('samples-per-second', HTMLElement).textContent = String(Math.round(m.samplesPerSecond));
        status.textContent = `done: ${m.samples} samples in ${m.seconds.toFixed(1)} s of training steps`;
        finish('done', worker);
        break;
      case 'error':
        status.textContent = `error: ${m.message}`;
        finish('error', worker);
        break;
    }
  });
  worker.addEventListener('error', (e) => {
    status.textContent = `error: ${e.message}`;
    finish('error', worker);
  });
  const request: TrainRequest = {
    type: 'train',
    trainUrl: 'data/mnist-train.csv',
    testUrl: 'data/mnist-test.csv',
    file: fileInput.files?.[0] ?? null,
    rows: Number(rowsInput.value),
    testRows: 2000,
    epochs: Number(epochsInput.value),
    batch: 32,
    lr: 2e-3,
  };
  worker.postMessage(request);
}

function finish(state: 'done' | 'error', worker: Worker): void {
  if (tickTimer !== null) clearInterval(tickTimer);
  document.body.dataset.state = state;
  button.disabled = false;
  worker.terminate();
}

byId('settings', HTMLFormElement).addEventListener('submit', (e) => {
  e.preventDefault();
  start();
});
if (!crossOriginIsolated) status.textContent = 'note: this page is not cross-origin isolated, so the WebAssembly kernels (shared memory) cannot start; serve it with `npm run demo`';
if (params.get('autostart') === '1') start();
