/**
 * `deltaflow train`: stream a CSV through a model for some epochs and write a run folder
 * (model.json, metrics.csv, plot.svg).
 *
 * Without `--data` it trains the LeNet-5-style preset on the default MNIST digits (written to
 * data/mnist-*.csv on first use) with Adam and cosine decay, scale 1/255, and evaluates the 2,000
 * held-out digits after every epoch. With `--data` the defaults adapt to the file: an mlp sized from
 * its columns, scale 1, no normalization, classes from `--classes` or a reported first pass.
 *
 * `--model FILE --epochs 1 --shuffle 0 --optimizer sgd --lr η` is exactly one pass of mini-batch SGD
 * in file order: plain SGD has no momentum, a constant rate, no clipping and no weight decay, and no
 * transform is applied but `--scale`/`--normalize` (or the model file's own meta).
 *
 * Regression with `--normalize zscore|minmax` transforms the targets too (targets.ts): the losses
 * printed while training are then on normalized targets, and say so; `evaluate` and `predict` report
 * target units. Raw targets on a large scale get a hint on stderr.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { type Observable } from 'rxjs';
import type { JsonObject } from '../../src/layers/modelFile.js';
import { cloneModel, paramCount, type Model } from '../../src/layers/sequential.js';
import { initKernels } from '../../src/ops/kernels.js';
import { adam, momentum, sgd, type OptimizerConfig } from '../../src/ops/optimizers.js';
import { constantLr, cosineLr, stepLr, type LrSchedule } from '../../src/ops/schedules.js';
import { createTrainingState } from '../../src/streams/training/applyOptimizer.js';
import type { SourcePosition } from '../../src/streams/checkpoint/checkpoint.js';
import { fit, type EpochEvent, type FitEvent } from '../../src/streams/training/fit.js';
import { fromCsv } from '../../src/streams/sources/fromCsv.js';
import type { Sample } from '../../src/streams/types.js';
import { ensureMnistCsv, MNIST_CLASSES } from '../prepareData.js';
import { DEFAULT_HIDDEN, defaultPresetInput, isPresetName } from '../presets.js';
import { createProgress } from '../progress.js';
import { defaultRunDir, openRunFolder } from '../runFolder.js';
import { createPassCache } from './passCache.js';
import { addBadRowOptions, badRowCsvOptions, type BadRowOptions } from './badRows.js';
import { planStart, storedOptions } from './runOptions.js';
import { startTrainGuard, type RunEnd } from './trainGuard.js';
import { addCsvThreadOption, openCsvThread, type CsvThreadChoice } from './csvThreadOption.js';
import { defaultWorkers, parsingFor } from './workersDefault.js';
import { addCheckpointOptions, checkpointConfig, openCheckpointSession, resolveCheckpointDirs, stopMessage, type CheckpointFlags } from './checkpointing.js';
import { addScaleOutOptions, startScaleOut, type ScaleOutFlags } from './scaleOut.js';
import * as parse from './args.js';
import { CliError, type ClassesOption } from './args.js';
import { setupData, type NormalizeChoice } from './dataSetup.js';
import { csvOptions, losses, metaHints, metaToJson, outputCount, type DataMeta, type LossName, type MetaHints, type Task } from './meta.js';
import { buildPreset, checkModelFits, loadModelFile, type ModelChoice } from './models.js';
import { normalizeTargets, scaleHints } from './targets.js';
import { addDashboardOptions, type DashboardFlags } from '../dashboard/dashboardOptions.js';
import { commitPosition } from '../../src/streams/sources/redis/commitPosition.js';
import { addLiveOptions, checkLiveFlags, isLive, trainStream, type LiveFlags } from './trainLive.js';
import { streamCsvInput } from './streamInput.js';
import { startDashboard } from '../dashboard/startDashboard.js';

type OptimizerName = 'sgd' | 'momentum' | 'adam';
type ScheduleName = 'constant' | 'cosine' | 'step';

export interface TrainOptions extends BadRowOptions, CheckpointFlags, DashboardFlags, ScaleOutFlags, LiveFlags {
  /** With --json: one line per step too (what the kill test counts). */
  readonly jsonSteps: boolean;
  readonly clipNorm?: number;
  readonly checkNumerics?: boolean;
  readonly data?: string;
  readonly test?: string;
  readonly label?: string[];
  readonly exclude?: string[];
  readonly classes?: ClassesOption;
  readonly task?: Task;
  readonly shape?: number[];
  readonly scale?: number;
  readonly normalize?: NormalizeChoice;
  readonly model?: string;
  readonly hidden?: number[];
  readonly loss?: LossName;
  readonly epochs?: number;
  readonly batch: number;
  readonly lr?: number;
  readonly optimizer: OptimizerName;
  readonly momentum?: number;
  readonly lrSchedule?: ScheduleName;
  readonly seed: number;
  readonly shuffle: number;
  /** Threads computing each batch; default: from the model, the batch size and the cores (workersDefault.ts). */
  readonly workers?: number;
  readonly out?: string;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly csvThread?: CsvThreadChoice;
}

/** The default recipe for the MNIST digits (and the defaults of every run). */
export const DEFAULTS = {
  epochs: 10,
  batch: 32,
  optimizer: 'adam' as OptimizerName,
  lr: { sgd: 0.05, momentum: 0.01, adam: 2e-3 } as Record<OptimizerName, number>,
  momentum: 0.9,
  shuffle: 8192,
  seed: 1,
  mnistScale: 1 / 255,
};

function optimizerOf(options: TrainOptions): OptimizerConfig {
  const lr = options.lr ?? DEFAULTS.lr[options.optimizer];
  if (options.momentum !== undefined && options.optimizer !== 'momentum') {
    throw new CliError(`--momentum applies to --optimizer momentum, not ${options.optimizer}`);
  }
  const make: Record<OptimizerName, () => OptimizerConfig> = {
    sgd: () => sgd({ lr }),
    momentum: () => momentum({ lr, momentum: options.momentum ?? DEFAULTS.momentum }),
    adam: () => adam({ lr }),
  };
  return make[options.optimizer]();
}

/** cosine: 1 → 0 over the run; step: ×0.1 after each third of the run; constant: 1. */
function scheduleOf(name: ScheduleName, totalSteps: number | null): LrSchedule {
  if (name !== 'constant' && totalSteps === null) {
    throw new CliError(`--lr-schedule ${name} needs the number of steps, unknown when reading stdin; use --lr-schedule constant`);
  }
  const make: Record<ScheduleName, () => LrSchedule> = {
    constant: () => constantLr(),
    cosine: () => cosineLr(),
    step: () => stepLr({ every: Math.max(1, Math.ceil((totalSteps ?? 1) / 3)), gamma: 0.1 }),
  };
  return make[name]();
}

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);

function epochLine(e: EpochEvent, epochs: number, units: string): string {
  const train = `train loss${units} ${e.trainLoss.toFixed(4)}${e.trainAccuracy === null ? '' : ` acc ${pct(e.trainAccuracy)}`}`;
  const test = e.test === undefined ? '' : `  test loss${units} ${e.test.loss.toFixed(4)}${e.test.accuracy === null ? '' : ` acc ${pct(e.test.accuracy)}`}`;
  const rate = e.samples / Math.max(1e-9, e.seconds);
  return `epoch ${e.epoch}/${epochs}  ${train}${test}  (${e.seconds.toFixed(1)} s, ${rate.toFixed(0)} samples/s)`;
}

interface Plan {
  readonly data: string;
  readonly test: string | undefined;
  readonly isDefaultData: boolean;
  readonly request: Parameters<typeof setupData>[0];
}

/** Where the data comes from, and the data defaults: MNIST when --data is absent. */
async function planData(options: TrainOptions): Promise<Plan> {
  const isVerbose = !options.quiet;
  const common = { label: options.label, task: options.task, normalize: options.normalize, loss: options.loss, exclude: options.exclude, isVerbose, csv: badRowCsvOptions(options) };
  if (options.source !== undefined) {
    const input = await streamCsvInput(options.source, options.columns);
    return { data: input.name, test: options.test, isDefaultData: false, request: { ...common, data: input.name, input, classes: options.classes, shape: options.shape, scale: options.scale } };
  }
  if (options.data !== undefined) {
    return { data: options.data, test: options.test, isDefaultData: false, request: { ...common, data: options.data, classes: options.classes, shape: options.shape, scale: options.scale } };
  }
  const files = await ensureMnistCsv();
  if (files.isCreated && isVerbose) process.stderr.write(`deltaflow: wrote the default data ${files.train} (8000 digits) and ${files.test} (2000 digits)\n`);
  const classes: ClassesOption = options.classes ?? { count: MNIST_CLASSES };
  const isLenet = options.model === undefined || options.model === 'lenet';
  const shape = options.shape ?? (isLenet ? defaultPresetInput('lenet') : undefined);
  return {
    data: files.train,
    test: options.test ?? files.test,
    isDefaultData: true,
    request: { ...common, data: files.train, classes, shape, scale: options.scale ?? DEFAULTS.mnistScale },
  };
}

async function chooseTrainModel(options: TrainOptions, isDefaultData: boolean, fileMeta: { choice: ModelChoice; meta: MetaHints | null } | null, meta: DataMeta): Promise<ModelChoice> {
  if (fileMeta !== null) return fileMeta.choice;
  const name = options.model ?? (isDefaultData ? 'lenet' : 'mlp');
  if (!isPresetName(name)) throw new CliError(`--model ${name}: not a preset (mlp, lenet) or a model file`);
  const input = name === 'lenet' && meta.shape.length === 1 && meta.shape[0] === 784 ? [1, 28, 28] : [...meta.shape];
  if (name === 'lenet' && input.length !== 3) {
    throw new CliError(`--model lenet needs image input: pass --shape C,H,W (the data has ${meta.features.length} features)`);
  }
  return buildPreset(name, {
    input,
    outputs: outputCount(meta),
    hidden: options.hidden ?? DEFAULT_HIDDEN,
    hasSigmoidOutput: meta.task === 'classify' && meta.loss === 'mse',
    seed: options.seed,
  });
}

async function runTrain(asked: TrainOptions, command: Command): Promise<void> {
  // --resume RUN alone takes the options the run was started with (runOptions.ts).
  const begin = await planStart(asked, command);
  if (begin.kind === 'complete') {
    if (!asked.quiet) process.stderr.write(`deltaflow: the run in ${begin.runDir} is complete (its summary.json says done); nothing to resume\n`);
    return;
  }
  const given = begin.options;
  checkLiveFlags(given);
  // stdin, a stream and a followed file are read once, so their default is one epoch. A followed file
  // trains in file order by default: a shuffle window would hold its rows back until it filled.
  const shuffle = given.follow && command.getOptionValueSource('shuffle') === 'default' ? 0 : given.shuffle;
  const options = { ...given, shuffle, epochs: given.epochs ?? (given.data === '-' || isLive(given) ? 1 : DEFAULTS.epochs) };
  if (options.hidden !== undefined && options.model !== undefined && options.model !== 'mlp') {
    throw new CliError('--hidden applies to --model mlp');
  }
  // The run folder is created and probe-written before any work, so an unwritable --out fails at once.
  const dirs = resolveCheckpointDirs(options, { out: options.out, isStdin: options.data === '-' || options.source !== undefined, defaultRunDir: () => defaultRunDir() });
  const guard = await startTrainGuard(options, dirs.runDir, dirs.isResume);
  const plan = await planData(options);
  if (plan.data === '-' && options.epochs > 1) {
    throw new CliError(`--epochs ${options.epochs} with --data -: stdin can be read once; use --epochs 1 or save the data to a file`);
  }
  if (plan.test === '-') throw new CliError('--test -: the test data must be a file (it is read after every epoch)');
  // stdin, a followed file and a Redis stream are read where they arrive, on this thread.
  let csvThread = openCsvThread(options.csvThread, plan.data === '-' || options.follow === true || options.source !== undefined);

  // The kernels first: a model built after them keeps its weights in the kernels' memory (resident,
  // kernelMemory.ts), so no step copies them in and out.
  await initKernels();
  // A model file brings its architecture, weights and (when deltaflow wrote it) its data description.
  const fileModel = options.model !== undefined && !isPresetName(options.model) ? await loadModelFile(options.model, options.seed) : null;
  const fileMeta = fileModel === null ? null : { choice: fileModel, meta: metaHints(fileModel.meta, fileModel.name) };
  const setup = await setupData(plan.request, fileMeta?.meta ?? null);
  const { meta } = setup;
  const choice = await chooseTrainModel(options, plan.isDefaultData, fileMeta, meta);
  checkModelFits(choice, meta.features.length, outputCount(meta), setup.input.name);
  const model = choice.model;
  // The parser thread parses beside the steps unless a shuffle window holds the whole file (then the
  // file is read before each pass's first step).
  const isParsingBeside = csvThread !== null && (setup.rows === null || options.shuffle < setup.rows);
  const givenWorkers = options.workers === undefined ? undefined : { workers: options.workers, why: workersWhy(command.getOptionValueSource('workers')) };
  // --csv-thread auto: with every core computing, rows may be better parsed between the steps (workersDefault.ts).
  const parsing = isParsingBeside && (options.csvThread ?? 'auto') === 'auto' && options.procs === undefined
    ? parsingFor(model, options.batch, availableParallelism(), meta.features.length + 1, givenWorkers)
    : null;
  if (parsing?.isOnTrainingThread === true) {
    csvThread?.close();
    csvThread = null;
  }
  const workersChoice = parsing ?? givenWorkers ?? defaultWorkers(model, options.batch, availableParallelism(), isParsingBeside);
  const { workers } = workersChoice;
  const onThread = csvThread === null ? {} : { thread: csvThread };

  await initKernels();
  // Blocks of whole batches: read in file order, a batch is a view of its block, not a copy.
  const csv = { ...csvOptions(meta), maxRecordSize: options.maxRecordSize, alignRows: options.batch };
  // Raw data on a large scale gets a hint: targets whenever they are learned raw, features unless
  // --normalize was chosen (none included) or the model file brings its own.
  const hintTargets = meta.task === 'regress' && meta.targetNormalize === null ? meta.label : [];
  const hintFeatures = options.normalize === undefined && meta.normalize === null ? meta.features : null;
  if (setup.input.path !== null && !options.quiet && (hintTargets.length > 0 || hintFeatures !== null)) {
    const hints = await scaleHints(setup.input.path, { ...csv, name: setup.input.name }, { targets: hintTargets, features: hintFeatures });
    for (const hint of [hints.features, hints.targets]) if (hint !== null) process.stderr.write(`deltaflow: ${hint}\n`);
  }
  // --normalize on regression: the model learns normalized targets (identity otherwise).
  const targets = normalizeTargets(meta.targetNormalize);
  const lossUnits = meta.targetNormalize === null ? '' : ' (normalized targets)';
  // A shuffle window that holds the whole file: the first pass's rows are kept for the later ones (passCache.ts).
  const passCache = setup.rows !== null && options.shuffle > 1 && options.shuffle >= setup.rows && !options.follow && options.epochs > 1 ? createPassCache(options.shuffle) : null;
  let isStdinUsed = false;
  let stream: ReturnType<typeof trainStream> | null = null;
  const trainSource = (_epoch: number, start?: SourcePosition): Observable<Sample> => {
    if (options.source !== undefined) {
      if (stream !== null) throw new CliError('a stream can be read once');
      stream = trainStream(options, guard.trainPass({ ...csv, name: setup.input.name }));
      return stream.pipe(targets);
    }
    if (options.follow) return fromCsv(plan.data, session.pass(guard.trainPass({ ...csv, follow: true }), start)).pipe(targets);
    if (setup.input.stream !== null) {
      if (isStdinUsed) throw new CliError('stdin can be read once');
      isStdinUsed = true;
      return fromCsv(setup.input.stream, guard.trainPass({ ...csv, name: 'stdin' })).pipe(targets);
    }
    const pass = { ...session.pass(guard.trainPass(csv), start), ...onThread };
    if (passCache !== null && start === undefined) return passCache.pass(() => fromCsv(plan.data, pass).pipe(targets), pass.counters);
    return fromCsv(plan.data, pass).pipe(targets);
  };
  const testPath = plan.test;
  // The test file, read after every epoch, is kept the same way when it too fits in the window.
  const testCache = passCache === null ? null : createPassCache(options.shuffle);
  const testSource = testPath === undefined ? undefined : (): Observable<Sample> => {
    const pass = { ...guard.testPass(csv), ...onThread };
    return testCache === null ? fromCsv(testPath, pass).pipe(targets) : testCache.pass(() => fromCsv(testPath, pass).pipe(targets), pass.counters);
  };

  const stepsPerEpoch = setup.rows === null || isLive(options) ? null : Math.max(1, Math.ceil(setup.rows / options.batch));
  const totalSteps = stepsPerEpoch === null ? null : stepsPerEpoch * options.epochs;
  const scheduleName: ScheduleName = options.lrSchedule ?? (options.optimizer === 'adam' && totalSteps !== null ? 'cosine' : 'constant');
  const optimizer = optimizerOf(options);
  const lrSchedule = scheduleOf(scheduleName, totalSteps);
  const loss = losses[meta.loss]();

  const state = createTrainingState(model, optimizer);
  const config = checkpointConfig({
    model, data: metaToJson(meta), optimizer, lrSchedule: scheduleName, totalSteps, batch: options.batch, epochs: options.epochs,
    shuffle: options.shuffle, seed: options.seed, workers,
    more: { clipNorm: options.clipNorm, onBadRow: options.onBadRow, maxBadRows: options.maxBadRows, maxBadFraction: options.maxBadFraction, maxRecordSize: options.maxRecordSize },
  });
  // --redis: the gradients come from worker processes, and every version is committed in Redis (scaleOut.ts).
  const scaleOut = await startScaleOut({ ...options, workers }, { model, loss, config, runDir: dirs.runDir, isResume: dirs.isResume });
  // A checkpoint was taken at the step whose metrics row comes next: that row and those before go to the file at once.
  let isCheckpointStep = false;
  const session = await openCheckpointSession(dirs, options, {
    model,
    state,
    config,
    mirror: scaleOut.mirror,
    data: setup.input.stream === null && options.source === undefined ? plan.data : null,
    seed: options.seed,
    follow: options.follow,
    metricsPath: join(dirs.runDir, 'metrics.csv'),
    onSave: () => (isCheckpointStep = true),
    warn: (line) => process.stderr.write(`deltaflow: ${line}\n`),
    command: storedOptions({ ...options, workers }),
  });
  // rejected.csv keeps the rows the checkpoint covers (a killed run may have written more), like metrics.csv.
  if (session.rejectsKeep !== null) {
    const warning = await guard.resumeRejects(session.rejectsKeep);
    if (warning !== null) process.stderr.write(`deltaflow: ${warning}\n`);
  }
  // A resume inside an epoch whose source had ended reads nothing; its pass still needs its counters.
  if (session.resume?.within?.position === null) session.pass(guard.trainPass(csv));
  const run = await openRunFolder(guard.runDir, { keepRows: session.keepRows });
  const training: JsonObject = {
    data: plan.data,
    test: plan.test ?? null,
    model: options.model ?? choice.name,
    epochs: options.epochs,
    batch: options.batch,
    optimizer: optimizer.kind,
    lr: optimizer.lr,
    ...(optimizer.kind === 'momentum' ? { momentum: optimizer.momentum } : {}),
    lrSchedule: scheduleName,
    shuffle: options.shuffle,
    seed: options.seed,
    workers,
  };
  const title = `${choice.name} on ${setup.input.name}: ${optimizer.kind} lr ${optimizer.lr} (${scheduleName}), batch ${options.batch}, ${options.epochs} epoch(s)`;
  if (!options.quiet && !options.json) {
    process.stdout.write(`training ${choice.name} (${paramCount(model).toLocaleString('en-US')} parameters) on ${setup.input.name}${setup.rows === null ? '' : ` (${setup.isRowsEstimate ? 'about ' : ''}${setup.rows} rows)`}` +
      `${testPath === undefined ? '' : `, testing on ${testPath}`}; ${workers} worker${workers === 1 ? '' : 's'} (${workersChoice.why})${csvThread === null ? '' : ', CSV parsing on its own thread'}; run folder ${run.dir}\n`);
  }

  // --dashboard: a live page of the run; its events are kept in the run folder's stats.jsonl for replays.
  const dash = options.dashboard
    ? await startDashboard({ flags: options, choice, name: run.dir, title, kind: 'train', statsPath: join(run.dir, 'stats.jsonl'), startStep: state.optimizer.t, log: (l) => process.stderr.write(`deltaflow: ${l}\n`) })
    : null;
  const progress = createProgress(!options.quiet && !options.json);
  const start = performance.now();
  // The pass under way: its epoch, and the samples trained when it began (a resumed epoch began before
  // this process did), so a run that ends inside it counts only the rows it trained.
  let passEpoch = session.resume?.epoch ?? 1;
  let passStartSamples = session.resume?.within?.progress.startSamples ?? state.samples;
  let epochStartSamples = passStartSamples;
  let epochLossSum = 0;
  let epochCorrect = 0;
  let lastSamples = state.samples;
  let currentEpoch = 0;
  let lastEpoch: EpochEvent | null = null;
  let lastLr: number | null = session.lastLr;
  let lastStep = state.optimizer.t;
  const epochRows = (epoch: number): number | null => (epoch === 1 ? setup.rows : (lastEpoch?.samples ?? setup.rows));

  const onStep = (e: Extract<FitEvent, { type: 'step' }>): void => {
    const epoch = e.epoch ?? currentEpoch;
    if (epoch !== currentEpoch) {
      currentEpoch = epoch;
      epochStartSamples = epoch === passEpoch ? passStartSamples : lastSamples;
      epochLossSum = 0;
      epochCorrect = 0;
      progress.startEpoch(epoch, options.epochs, epochRows(epoch));
    }
    const n = e.samples - lastSamples;
    lastSamples = e.samples;
    lastLr = e.lr;
    lastStep = e.step;
    epochLossSum += e.loss * n;
    if (e.accuracy !== null) epochCorrect += e.accuracy * n;
    const done = e.samples - epochStartSamples;
    progress.update({ samples: done, loss: epochLossSum / done, accuracy: e.accuracy === null ? null : epochCorrect / done, samplesPerSecond: e.samplesPerSecond });
    run.addMetrics({ kind: 'step', epoch, step: e.step, samples: e.samples, loss: e.loss, accuracy: e.accuracy, testLoss: null, testAccuracy: null, lr: e.lr, seconds: (performance.now() - start) / 1000, gradNorm: e.gradNorm });
    if (isCheckpointStep) {
      isCheckpointStep = false;
      run.flushMetrics();
    }
    dash?.onStep(e);
    if (options.json && options.jsonSteps) process.stdout.write(`${JSON.stringify({ type: 'step', epoch, step: e.step, samples: e.samples, loss: e.loss })}\n`);
  };

  /**
   * At the epoch event: its row, counters and weights are taken NOW (the next epoch starts training
   * right after, while the files are still being written); returns the writing of its files.
   */
  const onEpoch = (e: EpochEvent): (() => Promise<void>) => {
    progress.endEpoch();
    lastEpoch = e;
    passEpoch = e.epoch + 1;
    passStartSamples = lastSamples;
    guard.epochDone();
    run.addMetrics({
      kind: 'epoch', epoch: e.epoch, step: lastStep, samples: lastSamples, loss: e.trainLoss, accuracy: e.trainAccuracy,
      testLoss: e.test?.loss ?? null, testAccuracy: e.test?.accuracy ?? null, lr: lastLr, seconds: (performance.now() - start) / 1000,
    });
    dash?.onEpoch(e, lastStep);
    const weights = cloneModel(model);
    return () => writeEpochFiles(e, weights);
  };

  /** Where the run stands, for summary.json: the last completed epoch's figures and the pass under way. */
  const runEnd = (): RunEnd => {
    const end = lastEpoch as EpochEvent | null;
    return {
      steps: lastStep,
      passTrained: lastSamples - passStartSamples,
      epochsDone: end?.epoch ?? 0,
      modelPath: run.modelPath,
      trainLoss: end?.trainLoss ?? null,
      testLoss: end?.test?.loss ?? null,
      testAccuracy: end?.test?.accuracy ?? null,
    };
  };

  const writeEpochFiles = async (e: EpochEvent, weights: Model): Promise<void> => {
    // The model file is rewritten after every epoch, so a run that fails later keeps the last good weights.
    await run.saveModel(weights, metaToJson(meta, { training: { ...training, epochsDone: e.epoch } }));
    await run.writePlot(title);
    if (options.json) {
      const line = {
        type: 'epoch', epoch: e.epoch, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy, testLoss: e.test?.loss ?? null, testAccuracy: e.test?.accuracy ?? null, samples: e.samples, seconds: e.seconds,
        ...(meta.targetNormalize === null ? {} : { lossUnits: 'normalized targets' }),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    } else if (!options.quiet) {
      process.stdout.write(`${epochLine(e, options.epochs, lossUnits)}\n`);
    }
  };

  try {
    const events = scaleOut.fit(model, {
      trainSource,
      testSource,
      epochs: options.epochs,
      batchSize: options.batch,
      ...(options.shuffle > 1 ? { shuffle: { window: options.shuffle, seed: options.seed } } : {}),
      loss,
      optimizer,
      lrSchedule,
      ...(totalSteps === null ? {} : { totalSteps }),
      workers,
      ...guard.fitOptions,
      ...(dash === null ? {} : { internals: dash.internals }),
      state,
      resume: session.resume,
      onBoundary: session.onBoundary,
      stop: session.stop,
    });
    // Epoch ends write files: process events in order, awaiting those writes before the next event.
    let pending: Promise<void> = Promise.resolve();
    await new Promise<void>((resolve, reject) => {
      const subscription = events.subscribe({
        next: (e) => {
          if (e.type === 'step') onStep(e);
          else {
            // Saved now, before the next epoch changes the weights (the files are written in the background).
            if (e.epoch < options.epochs) session.onEpochEnd(e.epoch, state.optimizer.t);
            pending = pending.then(onEpoch(e));
          }
        },
        error: reject,
        complete: () => resolve(),
      });
      // A followed file may stay idle, so no step may come: a stop signal saves the last step's state and ends now.
      if (options.follow) {
        session.whenStopped(() => {
          session.saveLastBoundary();
          subscription.unsubscribe();
          resolve();
        });
      }
    });
    await pending;
    await session.flush();
    const end = lastEpoch as EpochEvent | null;
    dash?.finish({ status: session.stoppedBy() === null ? 'done' : 'stopped', steps: lastStep, seconds: (performance.now() - start) / 1000, trainLoss: end?.trainLoss ?? null, testLoss: end?.test?.loss ?? null, testAccuracy: end?.test?.accuracy ?? null });
  } catch (e) {
    dash?.finish({ status: 'failed', steps: lastStep, seconds: (performance.now() - start) / 1000, trainLoss: null, testLoss: null, testAccuracy: null, error: e instanceof Error ? e.message : String(e) });
    // The checkpoints saved before the failure are written first: a resume starts from the last good one.
    await session.flush().catch(() => undefined);
    await guard.fail(e, runEnd());
    throw e;
  } finally {
    await dash?.close();
    csvThread?.close();
    session.dispose();
    progress.endEpoch();
    await run.close();
    // A failed run still gets the plot of what it measured (its model.json is the last completed epoch's).
    await run.writePlot(title).catch(() => undefined);
  }
  const stoppedBy = session.stoppedBy();
  if (stoppedBy !== null && (lastEpoch as EpochEvent | null)?.epoch !== options.epochs) {
    const written = await session.flush();
    // A followed file has no epoch end: its model.json is the weights at the stop.
    if (options.follow) await run.saveModel(model, metaToJson(meta, { training: { ...training, rows: lastSamples } }));
    await guard.stopped(stoppedBy, runEnd());
    process.stderr.write(`${stopMessage(stoppedBy, lastStep, written, dirs.runDir, session.loadedFrom)}\n`);
    process.exitCode = stoppedBy === 'SIGINT' ? 130 : 143;
    return;
  }
  const seconds = (performance.now() - start) / 1000;
  const final = lastEpoch as EpochEvent | null;
  const summary = {
    type: 'done',
    model: run.modelPath,
    metrics: run.metricsPath,
    plot: run.plotPath,
    epochs: options.epochs,
    steps: lastStep,
    samples: lastSamples,
    seconds,
    samplesPerSecond: lastSamples / Math.max(1e-9, seconds),
    trainLoss: final?.trainLoss ?? null,
    trainAccuracy: final?.trainAccuracy ?? null,
    testLoss: final?.test?.loss ?? null,
    testAccuracy: final?.test?.accuracy ?? null,
    testCount: final?.test?.count ?? null,
  };
  const done = await guard.finish(runEnd());
  // model.json is written: release the stream's entries it learned from.
  const read = stream as ReturnType<typeof trainStream> | null;
  if (read !== null && options.source !== undefined) await commitPosition(options.source, read.position);
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ...summary, ...done.json, type: 'done', model: run.modelPath, epochs: options.epochs })}\n`);
  } else if (!options.quiet) {
    const acc = summary.testAccuracy === null ? '' : `test accuracy ${pct(summary.testAccuracy)} on ${summary.testCount} rows, `;
    process.stdout.write(`done: ${acc}${done.text}; ${seconds.toFixed(1)} s; wrote ${run.modelPath}, ${run.metricsPath}, ${run.plotPath}\n`);
  }
}

export function trainCommand(): Command {
  const command = new Command('train')
    .description('train a model on a CSV stream (default: LeNet-5 on the MNIST digits of the mnist package) and write a run folder')
    .option('--data <file|->', 'training CSV with a header, or - for stdin (default: data/mnist-train.csv, created if missing)')
    .option('--test <file>', 'held-out CSV evaluated after every epoch (default with the MNIST data: data/mnist-test.csv)')
    .option('--label <name|index>', 'label column (regression: target column(s), comma-separated); default: the column named "label"', parse.names)
    .option('--exclude <columns>', 'columns to leave out of the features (ids, timestamps), comma-separated; the file is not changed', parse.names)
    .option('--classes <n|a,b,c>', 'classes: a count (labels 0..n-1) or the class names; default: found by a first pass over --data, and reported', parse.classes)
    .addOption(new Option('--task <task>', 'classify or regress').choices(['classify', 'regress']))
    .option('--shape <C,H,W>', 'per-row input shape, C,H,W or N (default: the feature count; 1,28,28 for the MNIST data)', parse.shape)
    .option('--scale <x>', 'multiply every feature by x, e.g. 1/255 (default: 1, or 1/255 for the MNIST data)', parse.scale)
    .addOption(new Option('--normalize <kind>', 'per-feature normalization from a first pass over --data, stored in the model file').choices(['none', 'zscore', 'minmax']))
    .option('--model <mlp|lenet|file>', 'a preset, or a model file to continue from (its architecture and weights); default: lenet for MNIST, mlp with --data')
    .option('--hidden <widths>', `hidden layer widths of the mlp preset (default: ${DEFAULT_HIDDEN.join(',')})`, parse.widths)
    .addOption(new Option('--loss <loss>', 'ce (softmax cross-entropy) or mse (on classes: one-hot targets, sigmoid outputs); default: ce, mse for regression').choices(['ce', 'mse']))
    .option('--epochs <n>', `passes over the data (default: ${DEFAULTS.epochs}, 1 for stdin)`, parse.positiveInt)
    .option('--batch <n>', 'mini-batch size', parse.positiveInt, DEFAULTS.batch)
    .option('--lr <x>', `learning rate (default: adam ${DEFAULTS.lr.adam}, sgd ${DEFAULTS.lr.sgd}, momentum ${DEFAULTS.lr.momentum})`, parse.positiveNumber)
    .addOption(new Option('--optimizer <name>', 'update rule').choices(['sgd', 'momentum', 'adam']).default(DEFAULTS.optimizer))
    .option('--momentum <mu>', `momentum coefficient of --optimizer momentum (default ${DEFAULTS.momentum})`, parse.unitInterval)
    .addOption(new Option('--lr-schedule <name>', 'constant, cosine (decay to 0 over the run) or step (x0.1 after each third); default: cosine for adam, constant for sgd and momentum').choices(['constant', 'cosine', 'step']))
    .option('--seed <n>', 'seed of initialization and shuffling', parse.integer, DEFAULTS.seed)
    .addOption(new Option('--shuffle <n>', 'shuffle window in rows; 0 keeps the file order').argParser(parse.nonNegativeInt).default(DEFAULTS.shuffle, `${DEFAULTS.shuffle}; 0 with --follow`))
    .option('--workers <n>', 'threads computing each batch (data-parallel; the same count gives the same weights, another count differs by float32 rounding); default: as many as pay off for the model and batch size, up to the cores (said in the start line)', parse.positiveInt)
    .option('--out <dir>', 'run folder for model.json, metrics.csv and plot.svg (default: runs/<timestamp>)')
    .option('--clip-norm <x>', 'clip each step\'s gradients to this global L2 norm (metrics.csv keeps the norm before clipping)', parse.positiveNumber)
    .option('--check-numerics', 'debug: scan every layer\'s output and delta at every step, so a non-finite value names the layer it appeared in', false)
    .option('--json', 'JSON lines on stdout (one per epoch, then a summary) instead of the progress display', false)
    .option('--json-steps', 'with --json: a line per step too ({"type":"step","epoch","step","samples","loss"})', false)
    .option('--quiet', 'print nothing but errors', false)
    .action(runTrain);
  return addLiveOptions(addScaleOutOptions(addDashboardOptions(addCsvThreadOption(addCheckpointOptions(addBadRowOptions(command))))));
}

/** Why a --workers count not chosen by the default was taken: given, implied by --procs, or stored in the resumed run. */
function workersWhy(source: string | undefined): string {
  if (source === 'cli') return 'given';
  if (source === 'implied') return 'one slice per --procs';
  return 'as the run was started';
}
