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
 * - Live inputs: `--follow` tails a growing file; `--source redis://HOST:PORT/STREAM --group G
 *   --consumer C` reads a Redis stream through a consumer group (onlineInput.ts; the columns come from
 *   `--columns` or the stream's header entry, the classes from `--classes` or a model file);
 *   `--predictions redis://…/STREAM` writes every prediction with its row's id (onlinePredictions.ts).
 * - Checkpoints (onlineCheckpoints.ts): `--checkpoint-every ROWS`, `--resume RUN` (alone: the stored
 *   options), `--resume-or-start --out RUN`; SIGINT/SIGTERM stop at the next row with a checkpoint
 *   (exit 130/143, summary status `stopped`). A resumed run ends with the files of an uninterrupted
 *   one; with a Redis source, the entries a checkpoint covers are acknowledged once it is durable.
 * - A run folder (onlineRunFolder.ts): metrics.csv, events.csv, the model(s), plot.svg, summary.json.
 *
 * A model file continues at a careful learning rate (onlineOptimizer.ts), and a learning rate that
 * destroys the model gets one warning. `--batch N` > 1 learns N rows per step (plain prequential: no
 * drift, late labels, several learners nor checkpoints).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { filter, type Observable } from 'rxjs';
import type { Model } from '../../src/layers/sequential.js';
import { initKernels } from '../../src/ops/kernels.js';
import { saveModel } from '../../src/layers/modelFile.js';
import type { JsonValue } from '../../src/streams/checkpoint/checkpoint.js';
import { evaluateOnline, type DoneEvent, type LabelCounts, type OnlineEvent, type OnlineInput, type OnlineRunState, type ReportEvent } from '../../src/streams/online/evaluateOnline.js';
import type { DetectionEvent, LearnerReport, LearnerSpec, ReactionEvent } from '../../src/streams/online/learnerRun.js';
import { classificationMetrics, metricNames, regressionMetrics } from '../../src/streams/online/metrics/metricNames.js';
import { OnlineNormalizeState } from '../../src/streams/online/onlineNormalize.js';
import { prequential, type PrequentialMetrics } from '../../src/streams/online/prequential.js';
import { commitPosition } from '../../src/streams/sources/redis/commitPosition.js';
import { checkPosition } from '../../src/streams/sources/redis/streamPosition.js';
import { streamTarget } from '../../src/streams/sources/redis/redisUrl.js';
import type { Sample } from '../../src/streams/types.js';
import { defaultPresetInput, DEFAULT_HIDDEN, isPresetName } from '../presets.js';
import { defaultRunDir } from '../runFolder.js';
import { openOnlineRunFolder, type OnlineRunFolder } from '../onlineRunFolder.js';
import * as parse from './args.js';
import { CliError } from './args.js';
import { addBadRowOptions, badRowCsvOptions, checkBadRowOptions, type BadRowOptions } from './badRows.js';
import { resolveCheckpointDirs, signalExitCode, type CheckpointFlags } from './checkpointing.js';
import { openCsv, type CsvInput } from './columns.js';
import { addDataOptions, setupData, type DataOptions } from './dataSetup.js';
import { losses, metaHints, metaToJson, missingMetaHint, type DataMeta } from './meta.js';
import { loadModelFile } from './models.js';
import { metricList, metricTaskError, fadingFactor } from './metricOptions.js';
import { openOnlineCheckpoints } from './onlineCheckpoints.js';
import { openOnlineInput, type RowsFrom } from './onlineInput.js';
import { buildLearners, parseLearnerSpec, type BuiltLearner, type LearnerRequest } from './onlineLearners.js';
import type { OnlineOptimizerName } from './onlineOptimizer.js';
import { openPredictionSink, type PredictionSink } from './onlinePredictions.js';
import { divergenceWatch, eventLine, labelsLine, legacyFields, reportLine, reportTable } from './onlineReport.js';
import { probeOutputDir, probeOutputFile } from './outputDir.js';
import { planStart, storedOptions } from './runOptions.js';
import { streamCsvInput } from './streamInput.js';
import { describeRowCounts, rowCountsOf, type RowCounts } from './summary.js';
import { denormalizeOutputs, targetUnitsMse } from './targets.js';
import { addDashboardOptions, type DashboardFlags } from '../dashboard/dashboardOptions.js';
import { startDashboard } from '../dashboard/startDashboard.js';

interface OnlineOptions extends DataOptions, BadRowOptions, DashboardFlags, CheckpointFlags {
  readonly model?: string;
  readonly data?: string;
  readonly source?: string;
  readonly group?: string;
  readonly consumer?: string;
  readonly claimIdle: number;
  readonly maxRows?: number;
  readonly columns?: string[];
  readonly predictions?: string;
  readonly follow: boolean;
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

/** With a Redis source and no --checkpoint-every: a checkpoint (and a commit) every this many rows. */
const REDIS_CHECKPOINT_EVERY = 1000;

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

/** The combinations of input options that cannot work, each a one-line error. */
function checkInputOptions(o: OnlineOptions, requests: readonly LearnerRequest[]): void {
  const isRedis = o.source !== undefined;
  if (isRedis === (o.data !== undefined)) throw new CliError('give the rows with --data FILE|- or --source redis://HOST:PORT/STREAM (one of them)');
  if (isRedis) {
    if (o.group === undefined || o.consumer === undefined) throw new CliError('--source redis://…: give the consumer group and this consumer\'s name (--group G --consumer C)');
    if (o.labels !== undefined) throw new CliError('--labels with --source: late labels are read from files; publish rows with their labels to the stream');
    if (o.follow) throw new CliError('--follow applies to a --data file (a Redis stream is followed as it is)');
    if (o.id !== undefined) throw new CliError('--id with --source: a Redis row\'s id is its entry id');
  } else {
    for (const [flag, v] of [['--group', o.group], ['--consumer', o.consumer], ['--max-rows', o.maxRows], ['--columns', o.columns]] as const) {
      if (v !== undefined) throw new CliError(`${flag} applies to --source redis://HOST:PORT/STREAM`);
    }
  }
  if (o.follow && o.data === '-') throw new CliError('--follow needs a --data file (stdin is followed as it is)');
  if (o.follow && o.labels !== undefined) throw new CliError('--follow with --labels: follow one file (the rows, with their labels)');
  const isPlain = o.batch > 1;
  if (isPlain && (requests.length > 1 || requests[0].detector !== undefined || o.delay !== undefined || o.labels !== undefined || o.normalize === 'online')) {
    throw new CliError(`--batch ${o.batch}: drift detection, late labels, online normalization and several learners learn one row at a time (--batch 1)`);
  }
  if (isPlain && (isRedis || o.follow || o.predictions !== undefined || o.checkpointEvery !== undefined || o.resume !== undefined || o.resumeOrStart)) {
    throw new CliError(`--batch ${o.batch}: live sources, --predictions and checkpoints learn one row at a time (--batch 1)`);
  }
  if (o.labels !== undefined && o.id === undefined) throw new CliError('--labels needs --id COLUMN: the column that joins a label to its row');
  if (o.labels !== undefined && o.delay !== undefined) throw new CliError('--delay and --labels: give one (--delay simulates late labels, --labels reads them)');
  if (o.labels === '-' && o.data === '-') throw new CliError('--labels - and --data -: only one of them can be stdin');
}

/** `--exclude` and the `--id` column: an id is never a feature. */
function idColumnExcluded(options: OnlineOptions): string[] | undefined {
  if (options.id === undefined) return options.exclude;
  return [...new Set([...(options.exclude ?? []), options.id])];
}

/** The rows' input for the data description: a CSV's header, or a Redis stream's columns. */
async function rowsInput(o: OnlineOptions): Promise<CsvInput> {
  return o.source === undefined ? openCsv(o.data ?? '-', '--data', o.maxRecordSize) : streamCsvInput(o.source, o.columns);
}

/** What must be equal for a resume to continue bit for bit. */
function onlineConfig(o: OnlineOptions, meta: DataMeta, learners: readonly BuiltLearner[], requests: readonly LearnerRequest[], metricKeys: readonly string[]): JsonValue {
  const redis = o.source === undefined ? null : streamTarget(o.source, undefined);
  return {
    command: 'online',
    data: metaToJson(meta),
    learners: learners.map((l, i) => ({
      name: l.name,
      model: { input: [...l.model.input], layers: l.model.layers.map((layer) => JSON.parse(JSON.stringify(layer.spec)) as JsonValue), seed: l.model.seed },
      optimizer: { ...l.optimizer },
      seed: l.seed,
      detector: requests[i].detector ?? null,
      reaction: requests[i].reaction ?? null,
    })),
    metrics: [...metricKeys],
    window: o.window,
    fading: o.fading,
    labels: o.labels !== undefined ? { byId: o.maxLabelWait, id: o.id ?? null } : o.delay !== undefined ? { delay: o.delay } : 'with-row',
    normalize: o.normalize,
    source: redis === null ? 'file' : { stream: redis.stream, group: o.group ?? null, maxRows: o.maxRows ?? null },
    onBadRow: o.onBadRow ?? 'error',
    maxBadRows: o.maxBadRows ?? null,
    maxBadFraction: o.maxBadFraction ?? null,
    maxRecordSize: o.maxRecordSize ?? null,
  };
}

/** A run folder that holds a completed run: release what a Redis source's final state covers (a kill may have come before), and say so. */
async function completeAlready(runDir: string, asked: OnlineOptions): Promise<void> {
  let released = 0;
  try {
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as { source?: { url?: unknown; position?: { stream?: unknown; group?: unknown } } };
    const s = summary.source;
    if (s !== undefined && typeof s.url === 'string' && s.position !== undefined) {
      released = await commitPosition(s.url, checkPosition(s.position, String(s.position.stream), String(s.position.group)));
    }
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
  }
  if (!asked.json) process.stderr.write(`deltaflow: the run in ${runDir} is complete (its summary.json says done); nothing to resume${released > 0 ? ` (acknowledged the ${released} entries its final state covers)` : ''}\n`);
}

async function runOnline(asked: OnlineOptions, command: Command): Promise<void> {
  // --resume RUN alone takes the options the run was started with (runOptions.ts).
  const begin = await planStart(asked, command);
  if (begin.kind === 'complete') return completeAlready(begin.runDir, asked);
  const options = begin.options;
  checkBadRowOptions(options);
  const requests = learnerRequests(options, command);
  checkInputOptions(options, requests);
  const isPlain = options.batch > 1;
  const isRedis = options.source !== undefined;
  // Outputs are checked before the stream is read, so an unwritable path does not lose the run at its end.
  if (options.save !== undefined) await probeOutputFile(options.save, '--save');
  const dirs = resolveCheckpointDirs(options, { out: options.out, isStdin: options.data === '-' || options.labels === '-', defaultRunDir: () => defaultRunDir() });
  if (options.force && !dirs.isResume) {
    for (const name of existsSync(dirs.runDir) ? readdirSync(dirs.runDir) : []) if (name === 'events.csv' || /^model-[\w.-]+\.json$/.test(name)) rmSync(join(dirs.runDir, name), { force: true });
  }
  await probeOutputDir(dirs.runDir);
  const policy = badRowCsvOptions(options);

  // The kernels before any model: its weights then live in the kernels' memory (resident), not copied in each step.
  await initKernels();
  // The data description: the options, completed by the first model file's meta.
  const firstFile = requests.find((r) => !isPresetName(r.model));
  const fileChoice = firstFile === undefined ? null : await loadModelFile(firstFile.model, firstFile.seed);
  const fromModel = fileChoice === null ? null : metaHints(fileChoice.meta, fileChoice.name);
  const hint = fileChoice === null ? null : missingMetaHint(fromModel, fileChoice.name, options.scale !== undefined);
  if (hint !== null) process.stderr.write(`deltaflow: ${hint}\n`);
  const isLenet = requests.some((r) => r.model === 'lenet');
  const shape = options.shape ?? (isLenet && fromModel === null ? defaultPresetInput('lenet') : undefined);
  // Late labels from another input: their column and classes are found there; the id is no feature.
  const labelsInput = options.labels === undefined ? undefined : await openCsv(options.labels, '--labels', options.maxRecordSize);
  const exclude = idColumnExcluded(options);
  const input = await rowsInput(options);
  // NOTE: online normalization is not a first pass over the file: setupData reads the data as it is.
  const setup = await setupData({ ...options, exclude, normalize: undefined, shape, data: options.data ?? input.name, input, isVerbose: !options.json, csv: policy, ...(labelsInput === undefined ? {} : { labelsFrom: labelsInput }) }, fromModel);
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
  const keys = isPlain ? ['accuracy', 'accuracy_window'] : evaluateKeys(metrics, isClassify, options.fading);

  // Checkpoints: a resume gets everything back; a Redis source commits once a checkpoint is durable.
  const warn = (line: string): void => void process.stderr.write(`deltaflow: ${line}\n`);
  const every = options.checkpointEvery ?? (isRedis ? REDIS_CHECKPOINT_EVERY : null);
  const redisUrl = options.source;
  const session = await openOnlineCheckpoints(dirs, {
    config: onlineConfig(options, meta, learners, requests, keys),
    data: options.source === undefined && options.data !== '-' ? (options.data ?? null) : null,
    labels: options.labels === undefined || options.labels === '-' ? null : options.labels,
    follow: options.follow,
    every,
    allowInputChange: options.allowInputChange,
    command: storedOptions(options),
    sourceName: setup.input.name,
    ...(redisUrl === undefined ? {} : { commit: (p) => commitPosition(redisUrl, p) }),
    warn,
    watchSignals: !isPlain,
  });
  const loaded = session.loaded;
  const normalizeState = new OnlineNormalizeState();
  if (loaded?.normalize != null) normalizeState.moments = { n: loaded.normalize.n, mean: loaded.normalize.mean.slice(), m2: loaded.normalize.m2.slice() };
  const rows: RowsFrom =
    redisUrl === undefined
      ? { kind: 'file', input: setup.input, follow: options.follow }
      : { kind: 'redis', url: redisUrl, group: options.group ?? '', consumer: options.consumer ?? '', claimIdleMs: options.claimIdle, ...(options.maxRows === undefined ? {} : { maxRows: options.maxRows }), ...(options.columns === undefined ? {} : { columns: options.columns }) };
  const source = openOnlineInput({
    rows,
    meta,
    name: setup.input.name,
    ...(labelsInput === undefined || options.id === undefined ? {} : { labels: { input: labelsInput, id: options.id } }),
    ...(options.id === undefined ? {} : { id: options.id }),
    policy,
    normalize: options.normalize === 'online' ? normalizeState : null,
    start: loaded === null ? null : { position: loaded.input, counts: loaded.counts },
    ...(session.isEnabled && every !== null ? { gate: session.gate } : {}),
  });
  const labelTiming = options.labels !== undefined ? { byId: { maxWait: options.maxLabelWait } } : options.delay !== undefined ? { delay: options.delay } : 'with-row';

  // The run folder: one report line per learner, one per event (cut back to the checkpoint on resume).
  const run = await openOnlineRunFolder(dirs.runDir, { keys, learners: learners.map((l) => l.name), isRegression: !isClassify }, loaded === null ? undefined : { metricsLines: loaded.lines.metrics, eventsLines: loaded.lines.events, warn });
  const title = `online ${learners.map((l) => l.name).join(', ')} on ${setup.input.name}: window ${options.window}${options.delay === undefined ? '' : `, labels ${options.delay} rows late`}${options.labels === undefined ? '' : `, labels from ${options.labels}`}`;
  const dash = options.dashboard
    ? await startDashboard({ flags: options, choice: learners[0].choice, name: run.dir, title, kind: 'online', statsPath: null, log: (l) => process.stderr.write(`deltaflow: ${l}\n`) })
    : null;
  if (!options.json) {
    const from = loaded === null ? '' : `; resumed at row ${loaded.state.row} from ${loaded.file}`;
    process.stdout.write(`online ${learners.map((l) => `${l.name} (${l.optimizer.kind} lr ${l.optimizer.lr}${l.detector === undefined ? '' : ', with a drift detector'})`).join(', ')} on ${setup.input.name}; run folder ${run.dir}${from}\n`);
  }
  const predictions: PredictionSink | null = options.predictions === undefined ? null : openPredictionSink(options.predictions, meta, learners.map((l) => l.name));

  const watches = learners.map((_, i) => divergenceWatch(meta, options.window, loaded?.watches[i]));
  const started = performance.now();
  let done: DoneEvent | null = null;
  let stoppedAt: { row: number; learners: readonly LearnerReport[]; labels: LabelCounts | null } | null = null;
  let lastRow = loaded?.state.row ?? 0;
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
    e.learners.forEach((l, i) => watches[i].check(l, e.row, learners[i].optimizer.lr));
    const first = e.learners[0];
    dash?.onWindow({ seen: e.row, cumulativeAccuracy: first.values.accuracy ?? null, windowAccuracy: first.values.accuracy_window ?? null, cumulativeLoss: first.loss ?? 0, windowLoss: first.lossWindow ?? 0, kappa: first.values.kappa_window ?? null });
  };
  const onEvent = (e: DetectionEvent | ReactionEvent): void => {
    run.addEvent(e);
    if (options.json) process.stdout.write(`${JSON.stringify(e)}\n`);
    else process.stdout.write(`${eventLine(e)}\n`);
    if (e.type === 'detection' && e.signal === 'drift') dash?.onDrift({ seen: e.row, detector: e.detector, message: `${e.learner}: error ${e.direction ?? 'up'}` });
  };
  type At = { readonly row: number; snapshot(): OnlineRunState };
  const checkpoint = (at: At): void => {
    const m = normalizeState.moments;
    session.save({
      state: at.snapshot(),
      input: source.position(),
      counts: source.counts(),
      lines: run.lines(),
      normalize: m === null ? null : { n: m.n, mean: m.mean, m2: m.m2 },
      watches: watches.map((w) => w.state()),
    });
  };
  // The latest state between two items: a signal (handled between tasks, so between items) checkpoints it.
  let lastAt: At | null = null;
  const stopper = new AbortController();
  session.whenStopped(() => {
    if (session.isEnabled && lastAt !== null) checkpoint(lastAt);
    stopper.abort();
  });
  const afterItem = (item: OnlineInput, at: At): void => {
    source.taken(item);
    lastAt = at;
    const isRow = !('kind' in item && item.kind === 'label');
    if (session.isEnabled && isRow && every !== null && at.row % every === 0) checkpoint(at);
  };

  let failure: unknown = null;
  try {
    if (isPlain) done = await runPlain(source.input, specs[0], options, onReport);
    else {
      const events: Observable<OnlineEvent> = source.input.pipe(
        evaluateOnline(specs, {
          reportEvery: options.window,
          window: options.window,
          fading: options.fading,
          labels: labelTiming,
          classificationMetrics: metrics.classification,
          regressionMetrics: metrics.regression,
          ...(loaded === null ? {} : { resume: loaded.state }),
          afterItem,
          stop: stopper.signal,
          ...(predictions === null ? {} : { onPrediction: (s: Sample, p) => predictions.write(s, p) }),
        }),
      );
      await new Promise<void>((resolve, reject) => {
        events.subscribe({
          next: (e) => {
            if (e.type === 'report') onReport(e, false);
            else if (e.type === 'done') {
              done = e;
              if (e.row > 0) onReport({ type: 'report', row: e.row, learners: e.learners }, true);
            } else if (e.type === 'stopped') stoppedAt = { row: e.row, learners: e.learners, labels: e.labels };
            else onEvent(e);
          },
          error: reject,
          complete: () => resolve(),
        });
      });
    }
    await predictions?.end();
    // Every checkpoint written (and, for Redis, committed) before the run's end is recorded.
    await session.flush();
  } catch (e) {
    failure = e;
    await session.flush().catch(() => undefined);
  }
  const seconds = (performance.now() - started) / 1000;
  const final = done as DoneEvent | null;
  const stopped = stoppedAt as { row: number; learners: readonly LearnerReport[]; labels: LabelCounts | null } | null;
  const signal = session.stoppedBy();
  session.dispose();
  dash?.finish({ status: failure !== null ? 'failed' : stopped !== null ? 'stopped' : 'done', steps: lastRow, seconds, trainLoss: final?.learners[0].loss ?? null, testLoss: null, testAccuracy: null, ...(failure === null ? {} : { error: failure instanceof Error ? failure.message : String(failure) }) });
  await dash?.close();
  const redisPosition = source.redis?.position ?? null;
  const sourceSummary = redisUrl === undefined || redisPosition === null ? undefined : { url: redisUrl, position: { ...redisPosition } };
  if (stopped !== null && failure === null) {
    // Stopped by a signal: the checkpoint holds the run; the summary says where it stands.
    const written = (await session.flush())?.file ?? loaded?.file ?? null;
    await run.close();
    await run.writePlot(title, options.driftAt ?? []);
    await run.writeSummary({
      status: 'stopped',
      ...(signal === null ? {} : { signal }),
      rows: stopped.row,
      seconds,
      learners: stopped.learners.map((l) => ({ name: l.name, scored: l.scored, loss: l.loss, lossWindow: l.lossWindow, values: { ...l.values } })),
      // As of the last row taken; with late labels only the labelled rows were learned from.
      ...rowCountsOf(source.counts(), stopped.labels?.labelled),
      ...(sourceSummary === undefined ? {} : { source: sourceSummary }),
      checkpoint: written,
    });
    const how = written === null ? `no checkpoint was written${session.isEnabled ? ' (no row was taken)' : ' (stdin cannot be resumed)'}` : `checkpoint ${written}\ndeltaflow: continue with: deltaflow online --resume ${dirs.runDir}`;
    process.stderr.write(`deltaflow: stopped by ${signal ?? 'a signal'} after row ${stopped.row}; ${how}\n`);
    process.exitCode = signalExitCode(signal ?? 'SIGINT');
    return;
  }
  // A failed run counts the rows taken up to the failure, reported or not.
  const rowsTaken = failure !== null && lastAt !== null ? Math.max(lastRow, (lastAt as At).row) : lastRow;
  await finishRun(run, { options, meta, learners, final, failure, counters: rowCountsOf(source.counters, final?.labels?.labelled ?? undefined), seconds, normalizeState, title, setupName: setup.input.name, rows: rowsTaken, source: sourceSummary });
  if (failure !== null) throw failure;
  if (final === null || final.row === 0) throw new CliError(`${setup.input.name}: no data rows`);
  // The final state is durable (models and summary written): release every entry it covers.
  if (redisUrl !== undefined && redisPosition !== null) await commitPosition(redisUrl, redisPosition);
  if (final.labels !== null && !options.json) process.stdout.write(`${labelsLine(final.labels)}\n`);
  if (options.onBadRow === 'skip' && !options.json) process.stdout.write(`rows: ${describeRowCounts(rowCountsOf(source.counters, final.labels?.labelled)).replace(' trained', ' learned from')}\n`);
  if (options.save !== undefined && !options.json) process.stdout.write(`wrote ${options.save}\n`);
}

/** The metric set's keys, in the order evaluateOnline reports them. */
function evaluateKeys(metrics: { classification: readonly { (): { name: string } }[]; regression: readonly { (): { name: string } }[] }, isClassify: boolean, fading: number | undefined): string[] {
  const names = (isClassify ? metrics.classification : metrics.regression).map((make) => make().name);
  return names.flatMap((n) => [n, `${n}_window`, ...(fading === undefined ? [] : [`${n}_fading`])]);
}

/** `--batch N` > 1: plain prequential, N rows per step, reported in the same shape. */
async function runPlain(input: Observable<OnlineInput>, spec: LearnerSpec, options: OnlineOptions, onReport: (e: ReportEvent, isFinal: boolean) => void): Promise<DoneEvent> {
  let last: PrequentialMetrics | null = null;
  let printedAt = 0;
  const toReport = (m: PrequentialMetrics): ReportEvent => ({
    type: 'report',
    row: m.seen,
    learners: [{ name: spec.name, scored: m.seen, values: { accuracy: m.cumulativeAccuracy, accuracy_window: m.windowAccuracy }, loss: m.cumulativeLoss, lossWindow: m.windowLoss }],
  });
  // Without --labels (refused with --batch) every item is a row.
  const rows = input.pipe(filter((item): item is Sample => !('kind' in item && item.kind === 'label')));
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

interface RunEnd {
  readonly options: OnlineOptions;
  readonly meta: DataMeta;
  readonly learners: readonly BuiltLearner[];
  readonly final: DoneEvent | null;
  readonly failure: unknown;
  readonly counters: RowCounts;
  readonly seconds: number;
  readonly normalizeState: OnlineNormalizeState;
  readonly title: string;
  readonly setupName: string;
  readonly rows: number;
  /** A Redis source: its URL and final position (the entries learned: count and ids hash). */
  readonly source?: { readonly url: string; readonly position: Readonly<Record<string, string | number>> };
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
    ...end.counters,
    ...(end.source === undefined ? {} : { source: { url: end.source.url, position: { ...end.source.position } } }),
    models: end.failure === null ? learners.map((l) => run.modelPath(l.name)) : [],
  });
}

export function onlineCommand(): Command {
  const command = new Command('online')
    .description('prequential (test-then-train) learning over a stream: every row is predicted, scored, then learned from; drift detection, late labels, several learners, live sources, checkpoints')
    .option('--model <mlp|lenet|file>', 'a preset, or a model file to continue from (or give --learner)')
    .option('--data <file|->', 'CSV with a header, or - for stdin (or give --source)')
    .option('--follow', 'with --data FILE: keep reading what is appended to the file, like tail -f; SIGINT/SIGTERM stop it with a checkpoint', false)
    .option('--source <url>', 'read the rows from a Redis stream, redis://HOST:PORT/STREAM, through a consumer group (--group, --consumer)')
    .option('--group <name>', 'with --source: the consumer group (created when missing)')
    .option('--consumer <name>', 'with --source: this consumer\'s name in the group (restart with the same name)')
    .option('--claim-idle <ms>', 'with --source: take over another consumer\'s pending entries once idle this long', parse.nonNegativeInt, 30_000)
    .option('--max-rows <n>', 'with --source: stop after n rows (else at the stream\'s end marker, or never)', parse.positiveInt)
    .option('--columns <names>', 'with --source: the column names of the stream\'s rows (default: its header entry)', parse.names)
    .option('--predictions <url>', 'write every prediction, with its row\'s id, to a Redis stream redis://HOST:PORT/STREAM')
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
    .option('--checkpoint-every <rows>', `save a checkpoint every this many rows (default: only when stopped by SIGINT/SIGTERM; with --source, every ${REDIS_CHECKPOINT_EVERY})`, parse.positiveInt)
    .option('--checkpoint-dir <dir>', 'where checkpoints go (default: the run folder\'s checkpoints/)')
    .option('--resume <run folder>', 'continue the run of this folder from its newest intact checkpoint, with the options it was started with')
    .option('--resume-or-start', 'with --out: resume the run in that folder when it has a checkpoint, else start it there', false)
    .option('--allow-input-change', 'with --resume: accept a --data or --labels file that changed since the checkpoint', false)
    .option('--force', 'start in a non-empty --out, replacing the run\'s files there', false)
    .option('--save <file>', 'also write the (first) learned model to this file')
    .option('--json', 'JSON lines on stdout instead of text', false);
  return addDashboardOptions(addBadRowOptions(addDataOptions(command), 'reported in the rows line at the end')).action(runOnline);
}
