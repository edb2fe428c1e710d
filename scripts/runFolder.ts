/**
 * A training run's folder: `model.json` (the model file, with meta), `metrics.csv` (one row per step
 * and per epoch) and `plot.svg` (loss and accuracy against the step).
 *
 * metrics.csv columns: kind,epoch,step,samples,loss,accuracy,test_loss,test_accuracy,lr,seconds
 * - `kind` is `step` or `epoch`; `step` counts updates from 1 over the whole run; `samples` counts the
 *   training samples seen so far; `seconds` is the wall time since training started.
 * - a step row has the batch's loss and accuracy; an epoch row has the epoch's mean training loss and
 *   accuracy and, when there is test data, the test loss and accuracy. Missing values are empty.
 * Rows are appended as they happen, so an interrupted run keeps what it measured; the model file is
 * rewritten (atomically) after every epoch.
 */
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveModel, type JsonObject } from '../src/layers/modelFile.js';
import type { Model } from '../src/layers/sequential.js';
import { renderPlot, type EpochPoint, type PlotData, type StepPoint } from './plot.js';

export const METRICS_COLUMNS = ['kind', 'epoch', 'step', 'samples', 'loss', 'accuracy', 'test_loss', 'test_accuracy', 'lr', 'seconds'] as const;

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
}

export interface RunFolder {
  readonly dir: string;
  readonly modelPath: string;
  readonly metricsPath: string;
  readonly plotPath: string;
  /** Append one row to metrics.csv (and remember it for the plot). */
  addMetrics(row: MetricsRow): void;
  /** Write model.json atomically. */
  saveModel(model: Model, meta: JsonObject): Promise<void>;
  /** Write plot.svg from the rows so far. */
  writePlot(title: string): Promise<void>;
  /** Flush and close metrics.csv. */
  close(): Promise<void>;
}

/** `runs/2025-01-31T12-30-05`, made unique with a suffix when it already exists. */
export function defaultRunDir(now = new Date(), root = 'runs'): string {
  const stamp = now.toISOString().slice(0, 19).replace(/:/g, '-');
  let dir = join(root, stamp);
  for (let i = 2; existsSync(dir); i++) dir = join(root, `${stamp}-${i}`);
  return dir;
}

const cell = (v: number | null): string => (v === null || !Number.isFinite(v) ? '' : String(v));

function csvLine(r: MetricsRow): string {
  const values = [r.kind, String(r.epoch), String(r.step), String(r.samples), cell(r.loss), cell(r.accuracy), cell(r.testLoss), cell(r.testAccuracy), cell(r.lr), r.seconds.toFixed(3)];
  return `${values.join(',')}\n`;
}

/**
 * Create (or reuse) the folder and open metrics.csv with its header.
 *
 * @example const run = await openRunFolder(options.out ?? defaultRunDir());
 */
export async function openRunFolder(dir: string): Promise<RunFolder> {
  await mkdir(dir, { recursive: true });
  const modelPath = join(dir, 'model.json');
  const metricsPath = join(dir, 'metrics.csv');
  const plotPath = join(dir, 'plot.svg');
  const stream: WriteStream = createWriteStream(metricsPath);
  let streamError: Error | null = null;
  stream.on('error', (e) => {
    streamError = e;
  });
  stream.write(`${METRICS_COLUMNS.join(',')}\n`);
  const steps: StepPoint[] = [];
  const epochs: EpochPoint[] = [];

  return {
    dir,
    modelPath,
    metricsPath,
    plotPath,
    addMetrics(row) {
      if (streamError !== null) throw streamError;
      stream.write(csvLine(row));
      if (row.kind === 'step') steps.push({ step: row.step, loss: row.loss, accuracy: row.accuracy });
      else epochs.push({ epoch: row.epoch, step: row.step, trainLoss: row.loss, trainAccuracy: row.accuracy, testLoss: row.testLoss, testAccuracy: row.testAccuracy });
    },
    async saveModel(model, meta) {
      await saveModel(modelPath, model, meta);
    },
    async writePlot(title) {
      const data: PlotData = { title, steps, epochs };
      await writeFile(plotPath, renderPlot(data), 'utf8');
    },
    async close() {
      await new Promise<void>((resolve, reject) => {
        stream.end((e?: Error | null) => (e ? reject(e) : resolve()));
      });
      if (streamError !== null) throw streamError;
    },
  };
}
