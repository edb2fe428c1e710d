/**
 * A training run's folder: `model.json` (the model file, with meta), `metrics.csv` (one row per step
 * and per epoch) and `plot.svg` (loss and accuracy against the step).
 *
 * metrics.csv columns: kind,epoch,step,samples,loss,accuracy,test_loss,test_accuracy,lr,seconds,grad_norm
 * - `kind` is `step` or `epoch`; `step` counts updates from 1 over the whole run; `samples` counts the
 *   training samples seen so far; `seconds` is the wall time since training started.
 * - a step row has the batch's loss and accuracy; an epoch row has the epoch's mean training loss and
 *   accuracy and, when there is test data, the test loss and accuracy. Missing values are empty.
 * - `grad_norm` (step rows) is the global L2 norm of the step's averaged gradients BEFORE any `--clip-norm`.
 * Rows are appended as they happen, so an interrupted run keeps what it measured; the model file is
 * rewritten (atomically) after every epoch. A resumed run (`keepRows`) appends to the rows its
 * checkpoint covers (see scripts/commands/checkpointing.ts, which truncates the file to them first).
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveModel, type JsonObject } from '../src/layers/modelFile.js';
import type { Model } from '../src/layers/sequential.js';
import { renderPlot, type EpochPoint, type PlotData, type StepPoint } from './plots/trainingPlot.js';

export const METRICS_COLUMNS = ['kind', 'epoch', 'step', 'samples', 'loss', 'accuracy', 'test_loss', 'test_accuracy', 'lr', 'seconds', 'grad_norm'] as const;

export interface MetricsRow {
  readonly kind: 'step' | 'epoch';
  readonly epoch: number;
  readonly step: number;
  readonly samples: number;
  readonly loss: number;
  readonly accuracy: number | null;
  readonly testLoss: number | null;
  readonly testAccuracy: number | null;
  readonly lr: number | null;
  readonly seconds: number;
  /** The step's gradient norm before clipping (step rows). */
  readonly gradNorm?: number | null;
}

export interface RunFolder {
  readonly dir: string;
  readonly modelPath: string;
  readonly metricsPath: string;
  readonly plotPath: string;
  /**
   * Append one row to metrics.csv (and remember it for the plot). Step rows are handed to the file
   * together, at most METRICS_HAND_OVER_MS apart (a write per step costs a training step a system
   * call and a thread hand-off); an epoch row, `flushMetrics` and `close` hand over every row at once.
   */
  addMetrics(row: MetricsRow): void;
  /** Hand every row added so far to metrics.csv now (the rows a checkpoint just taken covers). */
  flushMetrics(): void;
  /** Write model.json atomically. */
  saveModel(model: Model, meta: JsonObject): Promise<void>;
  /** Write plot.svg from the rows so far. */
  writePlot(title: string): Promise<void>;
  /** Flush and close metrics.csv. */
  close(): Promise<void>;
}

/** The longest a step row of metrics.csv waits before it is handed to the file. */
export const METRICS_HAND_OVER_MS = 100;

/** `runs/2025-01-31T12-30-05`, made unique with a suffix when it already exists. */
export function defaultRunDir(now = new Date(), root = 'runs'): string {
  const stamp = now.toISOString().slice(0, 19).replace(/:/g, '-');
  let dir = join(root, stamp);
  for (let i = 2; existsSync(dir); i++) dir = join(root, `${stamp}-${i}`);
  return dir;
}

const cell = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : String(v));

function csvLine(r: MetricsRow): string {
  const values = [r.kind, String(r.epoch), String(r.step), String(r.samples), cell(r.loss), cell(r.accuracy), cell(r.testLoss), cell(r.testAccuracy), cell(r.lr), r.seconds.toFixed(3), cell(r.gradNorm ?? null)];
  return `${values.join(',')}\n`;
}

const cellValue = (text: string): number | null => (text === '' ? null : Number(text));

/**
 * The rows of a metrics.csv text (its header first), each with its line; null when the header is not
 * METRICS_COLUMNS. A line that does not parse (a torn last line) ends the list.
 */
export function parseMetricsCsv(text: string): { row: MetricsRow; line: string }[] | null {
  const lines = text.split('\n');
  if (lines[0] !== METRICS_COLUMNS.join(',')) return null;
  const out: { row: MetricsRow; line: string }[] = [];
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    if (f.length !== METRICS_COLUMNS.length || (f[0] !== 'step' && f[0] !== 'epoch')) break;
    const [epoch, step, samples, loss, seconds] = [f[1], f[2], f[3], f[4], f[9]].map(Number);
    if (![epoch, step, samples, seconds].every(Number.isFinite)) break;
    out.push({
      line,
      row: { kind: f[0], epoch, step, samples, loss: f[4] === '' ? NaN : loss, accuracy: cellValue(f[5]), testLoss: cellValue(f[6]), testAccuracy: cellValue(f[7]), lr: cellValue(f[8]), seconds, gradNorm: cellValue(f[10]) },
    });
  }
  return out;
}

export interface OpenRunFolderOptions {
  /** Resume: append to metrics.csv (which holds exactly these rows already) instead of starting it anew. */
  readonly keepRows?: readonly MetricsRow[];
}

/**
 * Create (or reuse) the folder and open metrics.csv with its header (or, with `keepRows`, for appending).
 *
 * @example const run = await openRunFolder(options.out ?? defaultRunDir());
 */
export async function openRunFolder(dir: string, options: OpenRunFolderOptions = {}): Promise<RunFolder> {
  await mkdir(dir, { recursive: true });
  const modelPath = join(dir, 'model.json');
  const metricsPath = join(dir, 'metrics.csv');
  const plotPath = join(dir, 'plot.svg');
  const isAppending = options.keepRows !== undefined;
  const stream: WriteStream = createWriteStream(metricsPath, { flags: isAppending ? 'a' : 'w' });
  let streamError: Error | null = null;
  stream.on('error', (e) => {
    streamError = e;
  });
  if (!isAppending) stream.write(`${METRICS_COLUMNS.join(',')}\n`);
  const steps: StepPoint[] = [];
  const epochs: EpochPoint[] = [];
  const remember = (row: MetricsRow): void => {
    if (row.kind === 'step') steps.push({ step: row.step, loss: row.loss, accuracy: row.accuracy });
    else epochs.push({ epoch: row.epoch, step: row.step, trainLoss: row.loss, trainAccuracy: row.accuracy, testLoss: row.testLoss, testAccuracy: row.testAccuracy });
  };
  options.keepRows?.forEach(remember);
  /** metrics.csv lines not yet handed to the stream, and when the last were. */
  let pending = '';
  let handedAt = performance.now();
  const handOver = (): void => {
    if (pending !== '') stream.write(pending);
    pending = '';
    handedAt = performance.now();
  };

  return {
    dir,
    modelPath,
    metricsPath,
    plotPath,
    addMetrics(row) {
      if (streamError !== null) throw streamError;
      pending += csvLine(row);
      if (row.kind !== 'step' || performance.now() - handedAt >= METRICS_HAND_OVER_MS) handOver();
      remember(row);
    },
    flushMetrics: handOver,
    async saveModel(model, meta) {
      await saveModel(modelPath, model, meta);
    },
    async writePlot(title) {
      const data: PlotData = { title, steps, epochs };
      await writeFile(plotPath, renderPlot(data), 'utf8');
    },
    async close() {
      handOver();
      await new Promise<void>((resolve, reject) => {
        stream.end((e?: Error | null) => (e ? reject(e) : resolve()));
      });
      if (streamError !== null) throw streamError;
    },
  };
}
