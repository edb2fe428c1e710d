/**
 * `deltaflow evaluate --model FILE --data FILE|-`: stream a labelled CSV through a trained model and
 * report the mean loss, the accuracy, per-class precision, recall and F1, and the confusion matrix
 * (rows: true class, columns: predicted class) — as an aligned table, or one JSON object with `--json`.
 * Regression reports the loss and the root-mean-square error over the targets, in target units (also
 * for a model that learned normalized targets: its outputs are mapped back, targets.ts).
 */
import { Command } from 'commander';
import { lastValueFrom } from 'rxjs';
import { initKernels } from '../../src/ops/kernels.js';
import { evaluate, type EvalResult } from '../../src/streams/training/evaluate.js';
import { createCounters, fromCsv } from '../../src/streams/sources/fromCsv.js';
import { ensureMnistCsv } from '../prepareData.js';
import { positiveInt } from './args.js';
import { addBadRowOptions, badRowCsvOptions, checkBadRowOptions, type BadRowOptions } from './badRows.js';
import { describeRowCounts, rowCountsOf } from './summary.js';
import { addDataOptions, modelForData, type DataOptions } from './dataSetup.js';
import { table } from './inspect.js';
import { csvOptions, losses, type DataMeta } from './meta.js';
import { normalizeTargets, targetUnitsMse } from './targets.js';

interface EvaluateOptions extends DataOptions, BadRowOptions {
  readonly model: string;
  readonly data?: string;
  readonly batch: number;
  readonly json: boolean;
}

export interface ClassFigures {
  readonly name: string;
  readonly precision: number | null;
  readonly recall: number | null;
  readonly f1: number | null;
  readonly support: number;
}

/** Precision, recall and F1 of every class from the confusion matrix (null where a ratio has no samples). */
export function perClass(confusion: readonly (readonly number[])[], names: readonly string[]): ClassFigures[] {
  return names.map((name, k) => {
    const tp = confusion[k]?.[k] ?? 0;
    const support = (confusion[k] ?? []).reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + (row[k] ?? 0), 0);
    const precision = predicted === 0 ? null : tp / predicted;
    const recall = support === 0 ? null : tp / support;
    const f1 = precision === null || recall === null || precision + recall === 0 ? null : (2 * precision * recall) / (precision + recall);
    return { name, precision, recall, f1, support };
  });
}

const fixed = (v: number | null, digits = 4): string => (v === null ? '-' : v.toFixed(digits));

function report(meta: DataMeta, result: EvalResult, source: string): string {
  const lines = [`${source}: ${result.count} rows`];
  if (meta.task === 'regress') {
    // ½‖a − y‖² per sample → RMSE over every target value.
    const rmse = Math.sqrt((2 * result.loss) / meta.label.length);
    const units = meta.targetNormalize === null ? 'in target units' : `in target units; the model's outputs mapped back from ${meta.targetNormalize.kind}-normalized targets`;
    lines.push(`loss ${result.loss.toFixed(6)} (mean of ½‖output − target‖², ${units})`, `rmse ${rmse.toFixed(6)} (over ${meta.label.join(', ')}, in target units)`);
    return `${lines.join('\n')}\n`;
  }
  const names = meta.classes ?? [];
  lines.push(`loss ${result.loss.toFixed(4)}  accuracy ${result.accuracy === null ? '-' : `${(100 * result.accuracy).toFixed(2)}%`}`, '');
  const figures = perClass(result.confusion, names);
  lines.push(
    table(
      ['class', 'precision', 'recall', 'f1', 'support'],
      figures.map((f) => [f.name, fixed(f.precision), fixed(f.recall), fixed(f.f1), String(f.support)]),
      [false, true, true, true, true],
    ),
    '',
    'confusion matrix (rows: true class, columns: predicted class)',
    table(
      ['', ...names],
      result.confusion.map((row, k) => [names[k] ?? String(k), ...row.map(String)]),
      [false, ...names.map(() => true)],
    ),
  );
  return `${lines.join('\n')}\n`;
}

async function runEvaluate(options: EvaluateOptions): Promise<void> {
  const data = options.data ?? (await ensureMnistCsv()).test;
  checkBadRowOptions(options);
  const policy = badRowCsvOptions(options);
  // The kernels before any model: its weights then live in the kernels' memory (resident), not copied in each step.
  await initKernels();
  const { choice, setup } = await modelForData(options.model, data, options, !options.json, policy);
  const { meta } = setup;
  const { model } = choice;
  const counters = createCounters();
  const csv = { ...policy, counters };
  const source = setup.input.stream !== null ? fromCsv(setup.input.stream, { ...csvOptions(meta, 'stdin'), ...csv }) : fromCsv(data, { ...csvOptions(meta), ...csv });
  // A model that learned normalized targets is scored on normalized targets, its cost reported in target units.
  const loss = meta.targetNormalize === null ? losses[meta.loss]() : targetUnitsMse(meta.targetNormalize);
  const result = await lastValueFrom(source.pipe(normalizeTargets(meta.targetNormalize), evaluate(model, { loss, batchSize: options.batch })));
  const isSkipping = options.onBadRow === 'skip';
  const rows = rowCountsOf(counters);
  if (options.json) {
    const names = meta.classes ?? [];
    const { rowsTrained: _evaluatedBelow, ...skipped } = rows;
    const doc = {
      data: setup.input.name,
      count: result.count,
      ...(isSkipping ? skipped : {}),
      loss: result.loss,
      accuracy: result.accuracy,
      ...(meta.task === 'regress'
        ? { rmse: Math.sqrt((2 * result.loss) / meta.label.length), units: 'target' }
        : { classes: names, perClass: perClass(result.confusion, names), confusion: result.confusion }),
    };
    process.stdout.write(`${JSON.stringify(doc)}\n`);
    return;
  }
  process.stdout.write(report(meta, result, setup.input.name));
  if (isSkipping) process.stdout.write(`rows: ${describeRowCounts(rows).replace(' trained', ' evaluated')}\n`);
}

export function evaluateCommand(): Command {
  const command = new Command('evaluate')
    .description('evaluate a trained model on a labelled CSV: loss, accuracy, per-class precision and recall, confusion matrix')
    .requiredOption('--model <file>', 'a model file written by deltaflow train')
    .option('--data <file|->', 'labelled CSV, or - for stdin (default: data/mnist-test.csv)')
    .option('--batch <n>', 'rows per forward batch (does not change the result)', positiveInt, 256)
    .option('--json', 'print one JSON object instead of tables', false);
  return addBadRowOptions(addDataOptions(command), 'reported in the rows line of the report').action(runEvaluate);
}
