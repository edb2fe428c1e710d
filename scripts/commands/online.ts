/**
 * `deltaflow online --model mlp|lenet|FILE --data FILE|- [--window N]`: prequential ("test-then-train")
 * learning over a stream. Each row is first predicted with the current weights and scored, then
 * learned from; every N rows a line reports the cumulative accuracy and loss and those of the last N
 * rows. `--save FILE` writes the model at the end, with its data description. A regression model
 * trained with `--normalize` keeps learning normalized targets; its losses are reported in target units.
 */
import { Command, Option } from 'commander';
import { initKernels } from '../../src/ops/kernels.js';
import { saveModel } from '../../src/layers/modelFile.js';
import { createCounters, fromCsv } from '../../src/streams/sources/fromCsv.js';
import { prequential, type PrequentialMetrics } from '../../src/streams/online/prequential.js';
import { DEFAULT_HIDDEN, defaultPresetInput, isPresetName } from '../presets.js';
import * as parse from './args.js';
import { CliError } from './args.js';
import { addBadRowOptions, badRowCsvOptions, checkBadRowOptions, type BadRowOptions } from './badRows.js';
import { probeOutputFile } from './outputDir.js';
import { describeRowCounts, rowCountsOf } from './summary.js';
import { addDataOptions, setupData, type DataOptions } from './dataSetup.js';
import { csvOptions, losses, metaHints, metaToJson, missingMetaHint, outputCount } from './meta.js';
import { buildPreset, checkModelFits, loadModelFile, type ModelChoice } from './models.js';
import { normalizeTargets, targetUnitsMse } from './targets.js';
import { onlineOptimizer, type OnlineOptimizerName } from './onlineOptimizer.js';
import { addDashboardOptions, type DashboardFlags } from '../dashboard/dashboardOptions.js';
import { startDashboard } from '../dashboard/startDashboard.js';


interface OnlineOptions extends DataOptions, BadRowOptions, DashboardFlags {
  readonly model: string;
  readonly data: string;
  readonly window: number;
  readonly batch: number;
  readonly optimizer: OnlineOptimizerName;
  readonly lr?: number;
  readonly momentum?: number;
  readonly hidden?: number[];
  readonly seed: number;
  readonly save?: string;
  readonly json: boolean;
}

/** A window whose mean loss is this many times the best window's gets one warning line. */
const DIVERGENCE_FACTOR = 4;

const pct = (v: number | null): string => (v === null ? '-' : `${(100 * v).toFixed(2)}%`);

function line(m: PrequentialMetrics, window: number): string {
  const acc = m.cumulativeAccuracy === null ? '' : `accuracy ${pct(m.cumulativeAccuracy)} (last ${window}: ${pct(m.windowAccuracy)})  `;
  return `rows ${m.seen}  ${acc}loss ${m.cumulativeLoss.toFixed(4)} (last ${window}: ${m.windowLoss.toFixed(4)})`;
}

async function runOnline(options: OnlineOptions): Promise<void> {
  checkBadRowOptions(options);
  // --save is checked before the stream is read, so an unwritable path does not lose the run at its end.
  if (options.save !== undefined) await probeOutputFile(options.save, '--save');
  const policy = badRowCsvOptions(options);
  const fileChoice = isPresetName(options.model) ? null : await loadModelFile(options.model, options.seed);
  const fromModel = fileChoice === null ? null : metaHints(fileChoice.meta, fileChoice.name);
  const hint = fileChoice === null ? null : missingMetaHint(fromModel, fileChoice.name, options.scale !== undefined);
  if (hint !== null) process.stderr.write(`deltaflow: ${hint}\n`);
  const isLenet = options.model === 'lenet';
  const shape = options.shape ?? (isLenet && fromModel === null ? defaultPresetInput('lenet') : undefined);
  const setup = await setupData({ ...options, shape, data: options.data, isVerbose: !options.json, csv: policy }, fromModel);
  const { meta } = setup;
  let choice: ModelChoice;
  if (fileChoice !== null) {
    choice = fileChoice;
  } else {
    if (options.model !== 'mlp' && options.model !== 'lenet') throw new CliError(`--model ${options.model}: not a preset`);
    choice = buildPreset(options.model, {
      input: [...meta.shape],
      outputs: outputCount(meta),
      hidden: options.hidden ?? DEFAULT_HIDDEN,
      hasSigmoidOutput: meta.task === 'classify' && meta.loss === 'mse',
      seed: options.seed,
    });
  }
  checkModelFits(choice, meta.features.length, outputCount(meta), setup.input.name);
  const isContinuing = fileChoice !== null;
  const optimizer = onlineOptimizer(options, { isContinuing });
  const { lr } = optimizer;
  if (isContinuing && options.lr === undefined) {
    process.stderr.write(
      `deltaflow: continuing ${fileChoice.name} with ${options.optimizer} lr ${lr} (a hundredth of a new model's default, so learning refines the trained weights instead of undoing them; pass --lr to choose)\n`,
    );
  }
  await initKernels();

  const counters = createCounters();
  const csv = { ...csvOptions(meta, setup.input.name), ...policy, counters };
  // A model that learned normalized targets keeps learning them; its losses are reported in target units.
  const source = (setup.input.stream !== null ? fromCsv(setup.input.stream, csv) : fromCsv(options.data, csv)).pipe(normalizeTargets(meta.targetNormalize));
  const loss = meta.targetNormalize === null ? losses[meta.loss]() : targetUnitsMse(meta.targetNormalize);
  let printedAt = 0;
  let last: PrequentialMetrics | null = null;
  const report = (m: PrequentialMetrics, type: 'progress' | 'done'): void => {
    if (options.json) process.stdout.write(`${JSON.stringify({ type, ...m })}\n`);
    else process.stdout.write(`${type === 'done' ? 'done: ' : ''}${line(m, options.window)}\n`);
  };
  // One warning when learning is destroying the model: a window's loss above what guessing every class
  // equally likely scores (ln k, softmax cross-entropy), or far above the best window so far.
  const guessLoss = meta.task === 'classify' && meta.loss === 'ce' ? Math.log(outputCount(meta)) : Infinity;
  let bestWindowLoss = Infinity;
  let isDivergenceWarned = false;
  const watchLoss = (m: PrequentialMetrics): void => {
    const w = m.windowLoss;
    const isWorseThanGuessing = w > 1.5 * guessLoss;
    const isFarAboveBest = w > DIVERGENCE_FACTOR * bestWindowLoss && w > bestWindowLoss + 0.1;
    bestWindowLoss = Math.min(bestWindowLoss, w);
    if (isDivergenceWarned || !(isWorseThanGuessing || isFarAboveBest)) return;
    isDivergenceWarned = true;
    const why = isWorseThanGuessing
      ? `above the ${guessLoss.toPrecision(3)} of guessing every class equally likely`
      : `${(w / Math.max(bestWindowLoss, 1e-12)).toFixed(0)}× the best window so far (${bestWindowLoss.toPrecision(3)})`;
    process.stderr.write(
      `deltaflow: the loss of the ${options.window} rows up to row ${m.seen} is ${w.toPrecision(3)}, ${why}: the learning rate (${lr}) may be too high for this model; try a smaller --lr\n`,
    );
  };
  // --dashboard: a live page of the windowed metrics and the layers (no run folder, so nothing is kept).
  const dash = options.dashboard
    ? await startDashboard({ flags: options, choice, name: setup.input.name, title: `online ${choice.name} on ${setup.input.name}: ${optimizer.kind} lr ${lr}, window ${options.window}`, kind: 'online', statsPath: null, log: (l) => process.stderr.write(`deltaflow: ${l}\n`) })
    : null;
  const started = performance.now();
  const ended = (status: 'done' | 'failed', error?: unknown): Promise<void> => {
    const end = last as PrequentialMetrics | null;
    dash?.finish({ status, steps: end?.seen ?? 0, seconds: (performance.now() - started) / 1000, trainLoss: end?.cumulativeLoss ?? null, testLoss: null, testAccuracy: null, ...(error === undefined ? {} : { error: error instanceof Error ? error.message : String(error) }) });
    return dash?.close() ?? Promise.resolve();
  };
  await new Promise<void>((resolve, reject) => {
    source.pipe(prequential(choice.model, { loss, optimizer, window: options.window, batchSize: options.batch, ...(dash === null ? {} : { internals: dash.internals }) })).subscribe({
      next: (m) => {
        last = m;
        dash?.onWindow(m);
        if (Math.floor(m.seen / options.window) > Math.floor(printedAt / options.window)) {
          printedAt = m.seen;
          report(m, 'progress');
          watchLoss(m);
        }
      },
      error: (e: unknown) => void ended('failed', e).finally(() => reject(e)),
      complete: () => void ended('done').then(resolve, reject),
    });
  });
  const final = last as PrequentialMetrics | null;
  if (final === null) throw new CliError(`${setup.input.name}: no data rows`);
  report(final, 'done');
  if (options.onBadRow === 'skip' && !options.json) process.stdout.write(`rows: ${describeRowCounts(rowCountsOf(counters)).replace(' trained', ' learned from')}\n`);
  if (options.save !== undefined) {
    await saveModel(options.save, choice.model, metaToJson(meta, { training: { online: true, data: setup.input.name, rows: final.seen, optimizer: optimizer.kind, lr } }));
    if (!options.json) process.stdout.write(`wrote ${options.save}\n`);
  }
}

export function onlineCommand(): Command {
  const command = new Command('online')
    .description('prequential (test-then-train) learning over a stream: every row is predicted, scored, then learned from')
    .requiredOption('--model <mlp|lenet|file>', 'a preset, or a model file to continue from')
    .requiredOption('--data <file|->', 'CSV with a header, or - for stdin')
    .option('--window <n>', 'report every n rows, with the accuracy and loss of the last n rows', parse.positiveInt, 500)
    .option('--batch <n>', 'rows per predict-then-learn step', parse.positiveInt, 1)
    .addOption(new Option('--optimizer <name>', 'update rule').choices(['sgd', 'momentum', 'adam']).default('sgd'))
    .option('--lr <x>', 'learning rate (default: sgd 0.01, momentum 0.005, adam 0.001; a hundredth of that for a model file)', parse.positiveNumber)
    .option('--momentum <mu>', 'momentum coefficient of --optimizer momentum (default 0.9)', parse.unitInterval)
    .option('--hidden <widths>', `hidden layer widths of the mlp preset (default: ${DEFAULT_HIDDEN.join(',')})`, parse.widths)
    .option('--seed <n>', 'seed of a preset\'s initialization', parse.integer, 1)
    .option('--save <file>', 'write the learned model (with its data description) at the end')
    .option('--json', 'JSON lines on stdout instead of text', false);
  return addDashboardOptions(addBadRowOptions(addDataOptions(command), 'reported in the rows line at the end')).action(runOnline);
}
