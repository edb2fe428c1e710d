/**
 * `deltaflow online --model mlp|lenet|FILE --data FILE|- [--window N] …`: prequential ("test-then-train")
 * learning over a stream, the experiments of online learning. Each row is predicted when it arrives,
 * scored with that prediction, and learned from when its label is known; every `--window` rows a
 * report gives each metric cumulative, over the last N rows and faded (`--metrics`, `--fading`).
 *
 * - Drift: `--detector SPEC` watches the learner's errors (adwin, page-hinkley, ddm, eddm, hddm-a,
 *   kswin); `--reaction SPEC` says what a drift does (reset-optimizer, boost-lr, reinit, background);
 *   every detection and reaction is a line of output and of the run folder.
 * - Several learners on one stream: `--learner SPEC` (repeatable; onlineLearners.ts) — each gets
 *   exactly the same rows in the same order, and the reports are a side-by-side table.
 * - Late labels: `--delay N` reveals row t's label at row t + N; `--labels FILE|- --id COLUMN` reads
 *   them from a second stream of id,label rows (one label read per row read, so a run is repeatable),
 *   joined on the id, waiting at most `--max-label-wait` rows; what never meets its partner is counted.
 * - `--normalize online` standardizes each row with running per-feature statistics (Welford), which
 *   go into the saved model.
 * - A run folder (onlineRunFolder.ts): metrics.csv, events.csv, the model(s), plot.svg, summary.json.
 *
 * A model file continues at a careful learning rate (onlineOptimizer.ts), and a learning rate that
 * destroys the model gets one warning. `--batch N` > 1 learns N rows per step (plain prequential: no
 * drift, late labels or several learners).
 */
import { Command, Option } from 'commander';
import { map, type Observable } from 'rxjs';
import type { Model } from '../../src/layers/sequential.js';
import { initKernels } from '../../src/ops/kernels.js';
import { saveModel } from '../../src/layers/modelFile.js';
import { createCounters, fromCsv, type CsvSourceOptions } from '../../src/streams/sources/fromCsv.js';
import { interleave } from '../../src/streams/sources/interleave.js';
import { evaluateOnline, type DoneEvent, type LabelArrival, type LabelCounts, type OnlineEvent, type OnlineInput, type ReportEvent } from '../../src/streams/online/evaluateOnline.js';
import type { DetectionEvent, LearnerReport, LearnerSpec, ReactionEvent } from '../../src/streams/online/learnerRun.js';
import { classificationMetrics, metricNames, regressionMetrics } from '../../src/streams/online/metrics/metricNames.js';
import { onlineNormalize, OnlineNormalizeState } from '../../src/streams/online/onlineNormalize.js';
import { prequential, type PrequentialMetrics } from '../../src/streams/online/prequential.js';
import type { Sample } from '../../src/streams/types.js';
import { defaultPresetInput, DEFAULT_HIDDEN, isPresetName } from '../presets.js';
import { defaultRunDir } from '../runFolder.js';
import { openOnlineRunFolder, type OnlineRunFolder } from '../onlineRunFolder.js';
import * as parse from './args.js';
import { CliError } from './args.js';
import { addBadRowOptions, badRowCsvOptions, checkBadRowOptions, type BadRowOptions } from './badRows.js';
import { probeOutputDir, probeOutputFile } from './outputDir.js';
import { describeRowCounts, rowCountsOf } from './summary.js';
import { addDataOptions, setupData, type DataOptions } from './dataSetup.js';
import { csvOptions, losses, metaHints, metaToJson, missingMetaHint, outputCount, type DataMeta } from './meta.js';
import { loadModelFile } from './models.js';
import { openCsv, type CsvInput } from './columns.js';
import { metricList, metricTaskError, fadingFactor } from './metricOptions.js';
import { buildLearners, parseLearnerSpec, type BuiltLearner, type LearnerRequest } from './onlineLearners.js';
import type { OnlineOptimizerName } from './onlineOptimizer.js';
import { denormalizeOutputs, normalizeTargets, targetUnitsMse } from './targets.js';
import { addDashboardOptions, type DashboardFlags } from '../dashboard/dashboardOptions.js';
import { startDashboard, type LiveDashboard } from '../dashboard/startDashboard.js';
import { existsSync, readdirSync, statSync } from 'node:fs';

interface OnlineOptions extends DataOptions, BadRowOptions, DashboardFlags {
  readonly model?: string;
  readonly data: string;
  readonly window: number;
  readonly batch: number;
  readonly optimizer?: OnlineOptimizerName;
  readonly lr?: number;
  readonly momentum?: number;
  readonly hidden?: number[];
  readonly seed: number;
  readonly save?: string;
  readonly json: boolean;
  readonly out?: string;
  readonly force: boolean;
  readonly metrics?: string[];
  readonly fading: number;
  readonly detector?: string;
  readonly reaction?: string;
  readonly learner?: string[];
  readonly delay?: number;
  readonly labels?: string;
  readonly id?: string;
  readonly maxLabelWait: number;
  readonly normalize: 'none' | 'online';
  readonly driftAt?: number[];
}

/** A regression window whose mean loss is this many times the best window's gets one warning line. */
const DIVERGENCE_FACTOR = 100;

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
const num = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined ? '-' : v.toFixed(digits));

/** The one-line report of one learner (the first figures as before: accuracy, then loss). */
function reportLine(row: number, l: LearnerReport, window: number, isClassify: boolean): string {
  const v = l.values;
  const parts = [`rows ${row}`];
  if (isClassify) parts.push(`accuracy ${pct(v.accuracy)} (last ${window}: ${pct(v.accuracy_window)})`);
  parts.push(`loss ${num(l.loss)} (last ${window}: ${num(l.lossWindow)})`);
  if (isClassify && v.kappa !== undefined) parts.push(`κ ${num(v.kappa, 3)} (last ${window}: ${num(v.kappa_window, 3)})`);
  if (!isClassify && v.rmse !== undefined) parts.push(`rmse ${num(v.rmse)} (last ${window}: ${num(v.rmse_window)})`);
  return parts.join('  ');
}

/** The side-by-side table of several learners at one report. */
function reportTable(e: ReportEvent, window: number, isClassify: boolean): string {
  const keys = isClassify ? ['accuracy', 'accuracy_window', 'kappa_window'] : ['rmse', 'rmse_window'];
  const heads = ['learner', ...keys.map((k) => k.replace('_window', ` (last ${window})`)), 'loss', `loss (last ${window})`];
  const rows = e.learners.map((l) => [l.name, ...keys.map((k) => (k.startsWith('accuracy') ? pct(l.values[k]) : num(l.values[k], 3))), num(l.loss), num(l.lossWindow)]);
  const widths = heads.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [`rows ${e.row}`, fmt(heads), ...rows.map(fmt)].join('\n');
}

function eventLine(e: DetectionEvent | ReactionEvent): string {
  if (e.type === 'detection') {
    const how = e.signal === 'warning' ? 'warning' : `drift (error ${e.direction ?? 'up'}${e.reacted === false ? ', not reacted to' : ''})`;
    return `row ${e.row}  ${e.learner}: ${e.detector} ${how}`;
  }
  return `row ${e.row}  ${e.learner}: ${e.reaction}: ${e.detail}`;
}

function labelsLine(c: LabelCounts): string {
  return (
    `labels: ${c.labelled} joined; ${c.expired} rows waited too long, ${c.neverLabelled} never labelled, ` +
    `${c.unknownIds + c.labelsWithoutRow} labels for no row, ${c.duplicateLabels} duplicate labels, ${c.duplicateIds} duplicate row ids`
  );
}

/** The learners the options ask for: one from the plain options, or one per --learner. */
function learnerRequests(o: OnlineOptions, command: Command): LearnerRequest[] {
  if (o.learner === undefined || o.learner.length === 0) {
    if (o.model === undefined) throw new CliError('give --model (a preset or a model file), or one --learner SPEC per learner');
    return [{ model: o.model, optimizer: o.optimizer ?? 'sgd', seed: o.seed, ...(o.hidden === undefined ? {} : { hidden: o.hidden }), ...(o.lr === undefined ? {} : { lr: o.lr }), ...(o.momentum === undefined ? {} : { momentum: o.momentum }), ...(o.detector === undefined ? {} : { detector: o.detector }), ...(o.reaction === undefined ? {} : { reaction: o.reaction }) }];
  }
  const plain = ['model', 'optimizer', 'lr', 'momentum', 'hidden', 'detector', 'reaction'].filter((k) => command.getOptionValueSource(k) === 'cli');
  if (plain.length > 0) throw new CliError(`--${plain[0]} with --learner: give it inside each learner's spec (e.g. --learner model=mlp,lr=0.1)`);
  return o.learner.map((spec, i) => parseLearnerSpec(spec, i));
}

/** A fresh run folder path: --out (refused when not empty, unless --force) or runs/<timestamp>. */
function runDirOf(o: OnlineOptions): string {
  const dir = o.out ?? defaultRunDir();
  if (o.out !== undefined && !o.force && existsSync(dir) && statSync(dir).isDirectory() && readdirSync(dir).length > 0) {
    throw new CliError(`--out ${dir} is not empty: choose another folder, or pass --force to replace the run's files there`);
  }
  return dir;
}

async function runOnline(options: OnlineOptions, command: Command): Promise<void> {
  checkBadRowOptions(options);
  const requests = learnerRequests(options, command);
  const isPlain = options.batch > 1;
  if (isPlain && (requests.length > 1 || requests[0].detector !== undefined || options.delay !== undefined || options.labels !== undefined || options.normalize === 'online')) {
    throw new CliError(`--batch ${options.batch}: drift detection, late labels, online normalization and several learners learn one row at a time (--batch 1)`);
  }
  if (options.labels !== undefined && options.id === undefined) throw new CliError('--labels needs --id COLUMN: the column that joins a label to its row');
  if (options.labels !== undefined && options.delay !== undefined) throw new CliError('--delay and --labels: give one (--delay simulates late labels, --labels reads them)');
  if (options.labels === '-' && options.data === '-') throw new CliError('--labels - and --data -: only one of them can be stdin');
  // Outputs are checked before the stream is read, so an unwritable path does not lose the run at its end.
  if (options.save !== undefined) await probeOutputFile(options.save, '--save');
  const runDir = runDirOf(options);
  await probeOutputDir(runDir);
  const policy = badRowCsvOptions(options);

  // The data description: the options, completed by the first model file's meta.
  const firstFile = requests.find((r) => !isPresetName(r.model));
  const fileChoice = firstFile === undefined ? null : await loadModelFile(firstFile.model, firstFile.seed);
  const fromModel = fileChoice === null ? null : metaHints(fileChoice.meta, fileChoice.name);
  const hint = fileChoice === null ? null : missingMetaHint(fromModel, fileChoice.name, options.scale !== undefined);
  if (hint !== null) process.stderr.write(`deltaflow: ${hint}\n`);
  const isLenet = requests.some((r) => r.model === 'lenet');
  const shape = options.shape ?? (isLenet && fromModel === null ? defaultPresetInput('lenet') : undefined);
  const hasLabelColumn = options.labels === undefined;
  // Late labels from another input: their column and classes are found there; the id is no feature.
  const labelsInput = options.labels === undefined ? undefined : await openCsv(options.labels, '--labels', options.maxRecordSize);
  const exclude = idColumnExcluded(options);
  // NOTE: online normalization is not a first pass over the file: setupData reads the data as it is.
  const setup = await setupData({ ...options, exclude, normalize: undefined, shape, data: options.data, isVerbose: !options.json, csv: policy, ...(labelsInput === undefined ? {} : { labelsFrom: labelsInput }) }, fromModel);
  const { meta } = setup;
  if (options.normalize === 'online' && meta.normalize !== null) throw new CliError(`--normalize online: ${fileChoice?.name ?? 'the model'} already normalizes its features (meta.normalize); continue it without --normalize`);
  const isClassify = meta.task === 'classify';
  const learners = await buildLearners(requests, meta, setup.input.name);
  for (const l of learners) {
    const r = requests[learners.indexOf(l)];
    if (l.isContinuing && r.lr === undefined) {
      process.stderr.write(`deltaflow: continuing ${l.choice.name} with ${l.optimizer.kind} lr ${l.optimizer.lr} (a hundredth of a new model's default, so learning refines the trained weights instead of undoing them; pass --lr to choose)\n`);
    }
  }
  const metricsOf = (): { classification: ReturnType<typeof classificationMetrics>; regression: ReturnType<typeof regressionMetrics> } => {
    const names = options.metrics ?? (isClassify ? metricNames('accuracy,kappa,kappa-t') : metricNames('mae,rmse'));
    try {
      return isClassify ? { classification: classificationMetrics(names), regression: [] } : { classification: [], regression: regressionMetrics(names) };
    } catch (e) {
      throw metricTaskError(e);
    }
  };
  const metrics = metricsOf();
  await initKernels();

  // A model that learned normalized targets keeps learning them; losses and scores are in target units.
  const targetNorm = meta.targetNormalize;
  const loss = targetNorm === null ? losses[meta.loss]() : targetUnitsMse(targetNorm);
  const scoreValues =
    targetNorm === null
      ? undefined
      : (output: Float32Array, target: Float32Array) => {
          const values = denormalizeOutputs(targetNorm, output, 1, output.length);
          return { predicted: values[0], truth: targetNorm.a[0] + targetNorm.b[0] * target[0] };
        };
  const specs: LearnerSpec[] = learners.map((l) => ({
    name: l.name,
    model: l.model,
    loss,
    optimizer: l.optimizer,
    task: meta.task,
    seed: l.seed,
    reactions: l.reactions,
    ...(l.detector === undefined ? {} : { detector: l.detector }),
    ...(scoreValues === undefined ? {} : { scoreValues }),
  }));

  // The rows (and the late labels): the run's counters are the data stream's.
  const counters = createCounters();
  const normalizeState = new OnlineNormalizeState();
  const idColumn = options.id;
  const rowCsv: CsvSourceOptions = {
    ...csvOptions(meta, setup.input.name),
    ...policy,
    counters,
    ...(hasLabelColumn ? {} : { task: 'predict' as const, label: undefined, classes: undefined, targets: undefined }),
    ...(idColumn === undefined ? {} : { id: idColumn }),
  };
  const readRows = (extra: Partial<CsvSourceOptions> = {}): Observable<Sample> => {
    const o = { ...rowCsv, ...extra };
    const raw = setup.input.stream !== null ? fromCsv(setup.input.stream, o) : fromCsv(options.data, o);
    const targets = hasLabelColumn ? raw.pipe(normalizeTargets(targetNorm)) : raw;
    return options.normalize === 'online' ? targets.pipe(onlineNormalize(normalizeState)) : targets;
  };
  const labelsPath = options.labels;
  const input: Observable<OnlineInput> =
    labelsInput === undefined || idColumn === undefined
      ? readRows()
      : interleave(
          (gate) => readRows({ gate }),
          (gate) => readLabels(labelsInput, meta, idColumn, { ...policy, gate }).pipe(map((a): LabelArrival => (targetNorm === null ? a : { ...a, target: normalizeTarget(a.target, targetNorm) }))),
        );
  const labelTiming = labelsPath !== undefined ? { byId: { maxWait: options.maxLabelWait } } : options.delay !== undefined ? { delay: options.delay } : 'with-row';

  // The run folder: one report line per learner, one per event.
  const keys = isPlain ? [] : evaluateKeys(metrics, isClassify, options.fading);
  const run = await openOnlineRunFolder(runDir, { keys: isPlain ? ['accuracy', 'accuracy_window'] : keys, learners: learners.map((l) => l.name), isRegression: !isClassify });
  const title = `online ${learners.map((l) => l.name).join(', ')} on ${setup.input.name}: window ${options.window}${options.delay === undefined ? '' : `, labels ${options.delay} rows late`}${labelsPath === undefined ? '' : `, labels from ${labelsPath}`}`;
  const dash = options.dashboard
    ? await startDashboard({ flags: options, choice: learners[0].choice, name: run.dir, title, kind: 'online', statsPath: null, log: (l) => process.stderr.write(`deltaflow: ${l}\n`) })
    : null;
  if (!options.json) process.stdout.write(`online ${learners.map((l) => `${l.name} (${l.optimizer.kind} lr ${l.optimizer.lr}${l.detector === undefined ? '' : ', with a drift detector'})`).join(', ')} on ${setup.input.name}; run folder ${run.dir}\n`);

  const warnings = learners.map(() => divergenceWatch(meta, options.window));
  const started = performance.now();
  let done: DoneEvent | null = null;
  let lastRow = 0;
  const onReport = (e: ReportEvent, isFinal: boolean): void => {
    if (!isFinal) run.addReport(e);
    lastRow = e.row;
    if (options.json) {
      const one = e.learners.length === 1 ? legacyFields(e.learners[0], e.row) : {};
      process.stdout.write(`${JSON.stringify({ type: isFinal ? 'done' : 'progress', ...one, row: e.row, learners: e.learners })}\n`);
    } else {
      const text = e.learners.length === 1 ? reportLine(e.row, e.learners[0], options.window, isClassify) : reportTable(e, options.window, isClassify);
      process.stdout.write(`${isFinal ? 'done: ' : ''}${text}\n`);
    }
    if (isFinal) return;
    e.learners.forEach((l, i) => warnings[i](l, e.row, learners[i].optimizer.lr));
    const first = e.learners[0];
    dash?.onWindow({ seen: e.row, cumulativeAccuracy: first.values.accuracy ?? null, windowAccuracy: first.values.accuracy_window ?? null, cumulativeLoss: first.loss ?? 0, windowLoss: first.lossWindow ?? 0, kappa: first.values.kappa_window ?? null });
  };
  const onEvent = (e: DetectionEvent | ReactionEvent): void => {
    run.addEvent(e);
    if (options.json) process.stdout.write(`${JSON.stringify(e)}\n`);
    else process.stdout.write(`${eventLine(e)}\n`);
    if (e.type === 'detection' && e.signal === 'drift') dash?.onDrift({ seen: e.row, detector: e.detector, message: `${e.learner}: error ${e.direction ?? 'up'}` });
  };

  let failure: unknown = null;
  try {
    if (isPlain) done = await runPlain(readRows(), specs[0], options, onReport);
    else {
      const events: Observable<OnlineEvent> = input.pipe(evaluateOnline(specs, { reportEvery: options.window, window: options.window, fading: options.fading, labels: labelTiming, classificationMetrics: metrics.classification, regressionMetrics: metrics.regression }));
      await new Promise<void>((resolve, reject) => {
        events.subscribe({
          next: (e) => {
            if (e.type === 'report') onReport(e, false);
            else if (e.type === 'done') {
              done = e;
              if (e.row > 0) onReport({ type: 'report', row: e.row, learners: e.learners }, true);
            } else onEvent(e);
          },
          error: reject,
          complete: () => resolve(),
        });
      });
    }
  } catch (e) {
    failure = e;
  }
  const final = done as DoneEvent | null;
  const seconds = (performance.now() - started) / 1000;
  dash?.finish({ status: failure === null ? 'done' : 'failed', steps: lastRow, seconds, trainLoss: final?.learners[0].loss ?? null, testLoss: null, testAccuracy: null, ...(failure === null ? {} : { error: failure instanceof Error ? failure.message : String(failure) }) });
  await dash?.close();
  await finishRun(run, { options, meta, learners, final, failure, counters, seconds, normalizeState, title, setupName: setup.input.name, rows: lastRow });
  if (failure !== null) throw failure;
  if (final === null || final.row === 0) throw new CliError(`${setup.input.name}: no data rows`);
  if (final.labels !== null && !options.json) process.stdout.write(`${labelsLine(final.labels)}\n`);
  if (options.onBadRow === 'skip' && !options.json) process.stdout.write(`rows: ${describeRowCounts(rowCountsOf(counters, final.labels?.labelled)).replace(' trained', ' learned from')}\n`);
  if (options.save !== undefined && !options.json) process.stdout.write(`wrote ${options.save}\n`);
}

/** The metric set's keys, in the order evaluateOnline reports them. */
function evaluateKeys(metrics: { classification: readonly { (): { name: string } }[]; regression: readonly { (): { name: string } }[] }, isClassify: boolean, fading: number | undefined): string[] {
  const names = (isClassify ? metrics.classification : metrics.regression).map((make) => make().name);
  return names.flatMap((n) => [n, `${n}_window`, ...(fading === undefined ? [] : [`${n}_fading`])]);
}

/** The fields the JSON lines of a single learner have always had. */
function legacyFields(l: LearnerReport, row: number): Record<string, number | null> {
  return { seen: row, cumulativeAccuracy: l.values.accuracy ?? null, windowAccuracy: l.values.accuracy_window ?? null, cumulativeLoss: l.loss, windowLoss: l.lossWindow };
}

/**
 * One warning when learning destroys a learner's model: a classifier's window loss worse than guessing
 * every class equally likely (ln k, softmax CE); a regression's window loss 100× its best window. (A
 * classifier's loss rising far above its best is what a drift does too, so that alone is no sign.)
 */
function divergenceWatch(meta: DataMeta, window: number): (l: LearnerReport, row: number, lr: number) => void {
  const guessLoss = meta.task === 'classify' && meta.loss === 'ce' ? Math.log(outputCount(meta)) : Infinity;
  let best = Infinity;
  let isWarned = false;
  return (l, row, lr) => {
    const w = l.lossWindow;
    // A part-filled window (the first rows, a short stream) is too few rows to call learning broken.
    if (w === null || l.scored < window) return;
    const isWorseThanGuessing = w > 1.5 * guessLoss;
    const isFarAboveBest = guessLoss === Infinity && w > DIVERGENCE_FACTOR * best && w > best + 0.1;
    best = Math.min(best, w);
    if (isWarned || !(isWorseThanGuessing || isFarAboveBest)) return;
    isWarned = true;
    const why = isWorseThanGuessing ? `above the ${guessLoss.toPrecision(3)} of guessing every class equally likely` : `${(w / Math.max(best, 1e-12)).toFixed(0)}× the best window so far (${best.toPrecision(3)})`;
    process.stderr.write(`deltaflow: the loss of the ${window} rows up to row ${row} is ${w.toPrecision(3)}, ${why}: the learning rate (${lr}) may be too high for this model; try a smaller --lr\n`);
  };
}

/** `--batch N` > 1: plain prequential, N rows per step, reported in the same shape. */
async function runPlain(rows: Observable<Sample>, spec: LearnerSpec, options: OnlineOptions, onReport: (e: ReportEvent, isFinal: boolean) => void): Promise<DoneEvent> {
  let last: PrequentialMetrics | null = null;
  let printedAt = 0;
  const toReport = (m: PrequentialMetrics): ReportEvent => ({
    type: 'report',
    row: m.seen,
    learners: [{ name: spec.name, scored: m.seen, values: { accuracy: m.cumulativeAccuracy, accuracy_window: m.windowAccuracy }, loss: m.cumulativeLoss, lossWindow: m.windowLoss }],
  });
  await new Promise<void>((resolve, reject) => {
    rows.pipe(prequential(spec.model, { loss: spec.loss, optimizer: spec.optimizer, window: options.window, batchSize: options.batch })).subscribe({
      next: (m) => {
        last = m;
        if (Math.floor(m.seen / options.window) > Math.floor(printedAt / options.window)) {
          printedAt = m.seen;
          onReport(toReport(m), false);
        }
      },
      error: reject,
      complete: () => resolve(),
    });
  });
  const final = last as PrequentialMetrics | null;
  if (final !== null && printedAt !== final.seen) onReport(toReport(final), false);
  if (final !== null) onReport(toReport(final), true);
  const report = final === null ? null : toReport(final).learners[0];
  return { type: 'done', row: final?.seen ?? 0, learners: report === null ? [] : [report], models: [spec.model], labels: null };
}

/** `--exclude` and the `--id` column: an id is never a feature. */
function idColumnExcluded(options: OnlineOptions): string[] | undefined {
  if (options.id === undefined) return options.exclude;
  return [...new Set([...(options.exclude ?? []), options.id])];
}

/** The labels stream of `--labels`: `id,label` rows (the label column as the data names it), as LabelArrivals. */
function readLabels(input: CsvInput, meta: DataMeta, idColumn: string, policy: Partial<CsvSourceOptions>): Observable<LabelArrival> {
  const base = csvOptions(meta, input.name);
  const { shape: _shape, normalize: _normalize, ...rest } = base;
  const o: CsvSourceOptions = { ...rest, ...policy, features: [], id: idColumn, scale: 1 };
  const source = input.stream !== null ? fromCsv(input.stream, o) : fromCsv(input.name, o);
  return source.pipe(
    map((s): LabelArrival => {
      const id = s.origin.id;
      if (id === undefined) throw new CliError(`${s.origin.source}:${s.origin.line}: no id`);
      return { kind: 'label', id, label: s.label, target: s.target };
    }),
  );
}

function normalizeTarget(target: Float32Array, norm: { readonly a: readonly number[]; readonly b: readonly number[] }): Float32Array {
  const out = new Float32Array(target.length);
  for (let j = 0; j < out.length; j++) out[j] = (target[j] - norm.a[j]) / norm.b[j];
  return out;
}

interface RunEnd {
  readonly options: OnlineOptions;
  readonly meta: DataMeta;
  readonly learners: readonly BuiltLearner[];
  readonly final: DoneEvent | null;
  readonly failure: unknown;
  readonly counters: ReturnType<typeof createCounters>;
  readonly seconds: number;
  readonly normalizeState: OnlineNormalizeState;
  readonly title: string;
  readonly setupName: string;
  readonly rows: number;
}

/** The run folder's models, plot and summary (also when the run failed: what it measured). */
async function finishRun(run: OnlineRunFolder, end: RunEnd): Promise<void> {
  const { options, meta, learners, final } = end;
  await run.close();
  const stats = end.normalizeState.statistics();
  const savedMeta = { ...meta, ...(stats === null ? {} : { normalize: stats }) };
  const models: readonly Model[] = final?.models ?? learners.map((l) => l.model);
  if (end.failure === null) {
    for (const [i, l] of learners.entries()) {
      const training = { online: true, data: end.setupName, rows: end.rows, optimizer: l.optimizer.kind, lr: l.optimizer.lr, ...(options.normalize === 'online' ? { normalize: 'online' } : {}) };
      await run.saveModel(l.name, models[i], metaToJson(savedMeta, { training }));
    }
    if (options.save !== undefined) await saveModel(options.save, models[0], metaToJson(savedMeta, { training: { online: true, data: end.setupName, rows: end.rows, optimizer: learners[0].optimizer.kind, lr: learners[0].optimizer.lr } }));
  }
  await run.writePlot(end.title, options.driftAt ?? []);
  await run.writeSummary({
    status: end.failure === null ? 'done' : 'failed',
    ...(end.failure === null ? {} : { error: end.failure instanceof Error ? end.failure.message : String(end.failure) }),
    rows: end.rows,
    seconds: end.seconds,
    learners: (final?.learners ?? []).map((l) => ({ name: l.name, scored: l.scored, loss: l.loss, lossWindow: l.lossWindow, values: { ...l.values } })),
    ...(final?.labels === null || final?.labels === undefined ? {} : { labels: { ...final.labels } }),
    // With late labels only the labelled rows were learned from; the rest were read and predicted (pending).
    ...rowCountsOf(end.counters, final?.labels?.labelled ?? undefined),
    models: end.failure === null ? learners.map((l) => run.modelPath(l.name)) : [],
  });
}

export function onlineCommand(): Command {
  const command = new Command('online')
    .description('prequential (test-then-train) learning over a stream: every row is predicted, scored, then learned from; drift detection, late labels, several learners')
    .option('--model <mlp|lenet|file>', 'a preset, or a model file to continue from (or give --learner)')
    .requiredOption('--data <file|->', 'CSV with a header, or - for stdin')
    .option('--window <n>', 'report every n rows, with the figures of the last n rows', parse.positiveInt, 500)
    .option('--batch <n>', 'rows per predict-then-learn step (> 1: plain prequential)', parse.positiveInt, 1)
    .addOption(new Option('--optimizer <name>', 'update rule (default sgd)').choices(['sgd', 'momentum', 'adam']))
    .option('--lr <x>', 'learning rate (default: sgd 0.01, momentum 0.005, adam 0.001; a hundredth of that for a model file)', parse.positiveNumber)
    .option('--momentum <mu>', 'momentum coefficient of --optimizer momentum (default 0.9)', parse.unitInterval)
    .option('--hidden <widths>', `hidden layer widths of the mlp preset (default: ${DEFAULT_HIDDEN.join(',')})`, parse.widths)
    .option('--seed <n>', 'seed of a preset\'s initialization', parse.integer, 1)
    .option('--detector <spec>', 'a drift detector on the errors: adwin, page-hinkley, ddm, eddm, hddm-a or kswin, with parameters as NAME:KEY=VALUE (e.g. adwin:delta=0.002)')
    .option('--reaction <spec>', 'what a drift does: reset-optimizer, boost-lr[:factor=F:rows=N], reinit, background[:window=W:init=fresh|copy], joined with + (needs --detector)')
    .option('--learner <spec>', 'a learner (repeat for several on the same rows): model=…,hidden=64/32,optimizer=…,lr=…,detector=…,reaction=…,name=…', (v: string, acc: string[] = []) => [...acc, v])
    .option('--metrics <list>', 'classification: accuracy,kappa,kappa-t,f1,logloss; regression: mae,rmse,r2 (default: accuracy,kappa,kappa-t or mae,rmse)', metricList)
    .option('--fading <alpha>', 'fading factor of the faded figures, in (0, 1)', fadingFactor, 0.999)
    .option('--delay <n>', 'reveal each row\'s label n rows after it arrives (simulated late labels)', parse.nonNegativeInt)
    .option('--labels <file|->', 'read the labels from this id,label stream instead of the rows (needs --id)')
    .option('--id <column>', 'the column that joins a label to its row (--labels)')
    .option('--max-label-wait <rows>', 'rows a row waits for its label, and a label for its row, at most', parse.positiveInt, 10_000)
    .addOption(new Option('--normalize <kind>', 'online: standardize each row with running per-feature statistics (stored in the saved model)').choices(['none', 'online']).default('none'))
    .option('--drift-at <rows>', 'rows where the stream is known to drift (marked on the plot), e.g. those given to generate', (v: string) => v.split(',').map((x) => parse.nonNegativeInt(x)))
    .option('--out <dir>', 'run folder for metrics.csv, events.csv, the model, plot.svg and summary.json (default: runs/<timestamp>)')
    .option('--force', 'write into a non-empty --out', false)
    .option('--save <file>', 'also write the (first) learned model to this file')
    .option('--json', 'JSON lines on stdout instead of text', false);
  return addDashboardOptions(addBadRowOptions(addDataOptions(command), 'reported in the rows line at the end')).action(runOnline);
}
