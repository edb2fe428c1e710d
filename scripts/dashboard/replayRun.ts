/**
 * A finished run folder as a RunStore, for `deltaflow dashboard RUN…`: its stats.jsonl (written by
 * `train --dashboard`: every chart, layer distributions included), or — for a run trained without
 * --dashboard — its metrics.csv (step scalars and epochs; samples/s from the rows' samples and
 * seconds) with the model summary of its model.json and the status of its summary.json.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from '../commands/args.js';
import { summary } from '../commands/inspect.js';
import { loadModelFile } from '../commands/models.js';
import { parseMetricsCsv } from '../runFolder.js';
import { layersWithParams } from './layerStats.js';
import type { EpochMessage, RunMessage, StepsMessage } from './protocol.js';
import { RunStore } from './runStore.js';
import { readStatsFile } from './statsFile.js';

type StepColumns = { readonly type: 'steps'; step: number[] } & { [K in Exclude<keyof StepsMessage, 'type' | 'step'>]: (number | null)[] };

/** The run in `dir` (a folder written by `deltaflow train`). */
export async function replayRun(dir: string): Promise<RunStore> {
  const statsPath = join(dir, 'stats.jsonl');
  if (existsSync(statsPath)) {
    const [first, ...rest] = await readStatsFile(statsPath);
    if (first.type !== 'run') throw new CliError(`${statsPath}:1: the first line must be the "run" event`);
    const store = new RunStore({ ...first, name: dir });
    for (const e of rest) store.add(e);
    return store;
  }
  const metricsPath = join(dir, 'metrics.csv');
  if (!existsSync(metricsPath)) throw new CliError(`${dir}: not a run folder (no stats.jsonl nor metrics.csv)`);
  return fromMetrics(dir, metricsPath);
}

async function fromMetrics(dir: string, metricsPath: string): Promise<RunStore> {
  const rows = parseMetricsCsv(await readFile(metricsPath, 'utf8'));
  if (rows === null) throw new CliError(`${metricsPath}: not a deltaflow metrics.csv (unexpected header)`);
  const modelPath = join(dir, 'model.json');
  const choice = existsSync(modelPath) ? await loadModelFile(modelPath, 0) : null;
  const run: RunMessage = {
    type: 'run',
    version: 1,
    name: dir,
    title: `${dir} (from metrics.csv: trained without --dashboard, so no layer statistics)`,
    kind: 'train',
    summary: choice === null ? `${modelPath}: missing` : summary(choice),
    layers: choice === null ? [] : layersWithParams(choice.model),
    percentiles: [],
    statsEvery: 0,
  };
  const store = new RunStore(run);
  const cols: StepColumns = { type: 'steps', step: [], epoch: [], samples: [], seconds: [], loss: [], accuracy: [], lr: [], gradNorm: [], samplesPerSecond: [] };
  const epochs: EpochMessage[] = [];
  let previous: { samples: number; seconds: number } | null = null;
  for (const { row } of rows) {
    if (row.kind === 'epoch') {
      epochs.push({ type: 'epoch', epoch: row.epoch, step: row.step, trainLoss: row.loss, trainAccuracy: row.accuracy, testLoss: row.testLoss, testAccuracy: row.testAccuracy, seconds: row.seconds });
      continue;
    }
    cols.step.push(row.step);
    cols.epoch.push(row.epoch);
    cols.samples.push(row.samples);
    cols.seconds.push(row.seconds);
    cols.loss.push(Number.isFinite(row.loss) ? row.loss : null);
    cols.accuracy.push(row.accuracy);
    cols.lr.push(row.lr);
    cols.gradNorm.push(row.gradNorm ?? null);
    const dt = previous === null ? 0 : row.seconds - previous.seconds;
    cols.samplesPerSecond.push(previous !== null && dt > 0 ? (row.samples - previous.samples) / dt : null);
    previous = { samples: row.samples, seconds: row.seconds };
  }
  store.add(cols);
  for (const e of epochs) store.add(e);
  const last = epochs[epochs.length - 1];
  store.add({
    type: 'done',
    status: await statusOf(dir),
    steps: cols.step[cols.step.length - 1] ?? 0,
    seconds: previous?.seconds ?? 0,
    trainLoss: last?.trainLoss ?? null,
    testLoss: last?.testLoss ?? null,
    testAccuracy: last?.testAccuracy ?? null,
  });
  return store;
}

/** summary.json's status ('done' when it has none, as runs written before it). */
async function statusOf(dir: string): Promise<'done' | 'failed'> {
  try {
    const doc: unknown = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'));
    return typeof doc === 'object' && doc !== null && 'status' in doc && doc.status === 'failed' ? 'failed' : 'done';
  } catch {
    return 'done';
  }
}
