/**
 * Checkpoints for `deltaflow train`: `--checkpoint-every N`, `--checkpoint-dir DIR`, `--resume DIR`,
 * `--allow-input-change`, and a clean stop on SIGINT/SIGTERM (docs/checkpoints.md, "The CLI").
 *
 * At a step boundary (fit's `onBoundary`, right after an update) a checkpoint holds the weights, the
 * optimizer state, the shuffle window and generator, the position just past the last row read, the
 * epoch's running sums and the training pass's CSV counters — all in one file under one checksum, so
 * the position is stored atomically with the state it produced (RELIABILITY.md §5). At an epoch's
 * end it holds the next epoch, an empty window and offset 0.
 *
 * A resume reads the newest intact checkpoint (damaged ones are set aside with a warning), refuses
 * one written for another config or input file, restores everything, truncates metrics.csv back to
 * the checkpoint's step (a killed run may have logged steps after it), and continues; the run ends
 * with the same model.json, bit for bit, as a run never stopped.
 *
 * Test-only fault injection (the kill test's negative controls, RELIABILITY.md #44), from the
 * environment: DELTAFLOW_CKPT_FAULT=omit-rng (the shuffle generator is not saved; a resume reseeds
 * it) or =position-file (the position goes to a separate, non-atomic position.json, written before
 * the checkpoint lands, and a resume reads it from there); DELTAFLOW_CKPT_PAUSE_MS sleeps between
 * the fsynced temp file and its rename (a window to kill the process during a write).
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Model } from '../../src/layers/sequential.js';
import type { OptimizerConfig, OptimizerKind } from '../../src/ops/optimizers.js';
import { restoreOptimizerState } from '../../src/ops/optimizers.js';
import { createRng } from '../../src/ops/random.js';
import type { TrainingState } from '../../src/streams/training/applyOptimizer.js';
import {
  CHECKPOINT_PAUSE_ENV,
  CheckpointError,
  checkResumable,
  createCheckpoint,
  createCheckpointWriter,
  inputFingerprint,
  readLatestCheckpoint,
  restoreParams,
  snapshotParams,
  type Checkpoint,
  type CheckpointWriter,
  type InputFingerprint,
  type JsonValue,
  type LoadedCheckpoint,
  type SourcePosition,
  type StateValue,
  type WrittenCheckpoint,
} from '../../src/streams/checkpoint/checkpoint.js';
import type { CheckpointMirror } from '../../src/streams/distributed/distributedPool.js';
import type { EpochProgress, FitBoundary, FitResume } from '../../src/streams/training/fit.js';
import type { Gate } from '../../src/streams/sources/gate.js';
import { createCounters, type CsvCounters, type CsvSourceOptions } from '../../src/streams/sources/fromCsv.js';
import { METRICS_COLUMNS, parseMetricsCsv, type MetricsRow } from '../runFolder.js';
import type { Command } from 'commander';
import * as parse from './args.js';
import { CliError } from './args.js';
import { prefixHasher } from './prefixHasher.js';
import { COMMAND_KEY } from './runOptions.js';
import { writeFileAtomic } from './summary.js';

export const CHECKPOINT_FAULT_ENV = 'DELTAFLOW_CKPT_FAULT';
type Fault = 'omit-rng' | 'position-file' | null;
const POSITION_FILE = 'position.json';

/** The command-line options of this module. */
export interface CheckpointFlags {
  readonly checkpointEvery?: number;
  readonly checkpointDir?: string;
  readonly resume?: string;
  readonly allowInputChange: boolean;
  /** With --out: resume that run folder when it holds a checkpoint, else start there (runOptions.ts). */
  readonly resumeOrStart: boolean;
  /** Start in a non-empty --out, replacing the files of the run there. */
  readonly force: boolean;
}

/** The files a run writes in its folder (and its checkpoint directory's files): what --force replaces. */
const RUN_FILES = ['model.json', 'metrics.csv', 'plot.svg', 'summary.json', 'rejected.csv'];

/**
 * Remove an earlier run's files from `runDir` and its checkpoints from `dir`; nothing else in them is
 * touched. Temp files of interrupted checkpoint writes stay for the session, which removes them and
 * says so (removeStaleTemp).
 */
function clearRun(runDir: string, dir: string | null): void {
  for (const name of RUN_FILES) rmSync(join(runDir, name), { force: true });
  if (dir !== null && existsSync(dir)) {
    for (const name of readdirSync(dir)) if (/^ckpt-\d+\.bin(\.corrupt)?$/.test(name)) rmSync(join(dir, name), { force: true });
  }
}

const hasCheckpointFiles = (dir: string): boolean => existsSync(dir) && readdirSync(dir).some((n) => /^ckpt-\d+\.bin(\.corrupt)?$/.test(n));

function faultOf(): Fault {
  const v = process.env[CHECKPOINT_FAULT_ENV];
  if (v === undefined || v === '') return null;
  if (v === 'omit-rng' || v === 'position-file') return v;
  throw new CliError(`${CHECKPOINT_FAULT_ENV}=${v}: expected omit-rng or position-file (test-only fault injection)`);
}

// ---------------------------------------------------------------------------------------------
// Where: run folder and checkpoint directory

export interface CheckpointDirs {
  /** The run folder to write (for a resume, the run's own). */
  readonly runDir: string;
  /** The checkpoint directory; null when the input is stdin (it cannot be read again). */
  readonly dir: string | null;
  readonly isResume: boolean;
}

/**
 * The run folder and checkpoint directory of the flags, decided before anything is written. `--resume`
 * takes a run folder (its checkpoints are in `checkpoints/`, or in --checkpoint-dir) or a directory of
 * checkpoint files named `checkpoints` (its parent is the run folder).
 */
export function resolveCheckpointDirs(flags: CheckpointFlags, io: { readonly out: string | undefined; readonly isStdin: boolean; readonly defaultRunDir: () => string }): CheckpointDirs {
  if (io.isStdin && (flags.resume !== undefined || flags.checkpointEvery !== undefined || flags.checkpointDir !== undefined)) {
    throw new CliError('--checkpoint-every, --checkpoint-dir and --resume need a --data file: stdin cannot be read again from a checkpoint position');
  }
  if (flags.resume === undefined) {
    const runDir = io.out ?? io.defaultRunDir();
    const dir = io.isStdin ? null : (flags.checkpointDir ?? join(runDir, 'checkpoints'));
    if (flags.force) {
      clearRun(runDir, dir);
      return { runDir, dir, isResume: false };
    }
    if (dir !== null && hasCheckpointFiles(dir)) {
      throw new CliError(`${dir} already holds checkpoints of an earlier run: continue it with --resume ${runDir}, or choose another --out or --checkpoint-dir (--force replaces that run)`);
    }
    const held = existsSync(runDir) && statSync(runDir).isDirectory() ? readdirSync(runDir) : [];
    if (held.length > 0) {
      const shown = held.length > 4 ? `${held.slice(0, 4).join(', ')}, …` : held.join(', ');
      throw new CliError(`--out ${runDir} is not empty (it holds ${shown}): choose another folder, continue its run with --resume ${runDir}, or pass --force to replace that run's files`);
    }
    return { runDir, dir, isResume: false };
  }
  const given = flags.resume;
  if (!existsSync(given) || !statSync(given).isDirectory()) throw new CliError(`--resume ${given}: no such directory (give the run folder)`);
  const isCheckpointDir = flags.checkpointDir === undefined && hasCheckpointFiles(given);
  if (isCheckpointDir && basename(resolve(given)) !== 'checkpoints' && io.out === undefined) {
    throw new CliError(`--resume ${given}: this is a checkpoint directory; give the run folder instead (with --checkpoint-dir ${given})`);
  }
  const runDir = isCheckpointDir ? (io.out ?? dirname(resolve(given))) : given;
  if (io.out !== undefined && resolve(io.out) !== resolve(runDir)) {
    throw new CliError(`--out ${io.out}: a resumed run writes to its own run folder ${runDir}; omit --out`);
  }
  return { runDir, dir: isCheckpointDir ? given : (flags.checkpointDir ?? join(runDir, 'checkpoints')), isResume: true };
}

// ---------------------------------------------------------------------------------------------
// The config a checkpoint must match

/** What must be equal for a resume to continue bit for bit (no paths, no checkpoint flags). */
export function checkpointConfig(parts: {
  readonly model: Model;
  readonly data: JsonValue;
  readonly optimizer: OptimizerConfig;
  readonly lrSchedule: string;
  readonly totalSteps: number | null;
  readonly batch: number;
  readonly epochs: number;
  readonly shuffle: number;
  readonly seed: number;
  readonly workers: number;
  /** Further options that change what is trained (clip norm, bad-row policy, …); undefined ones are left out. */
  readonly more?: Readonly<Record<string, JsonValue | undefined>>;
}): JsonValue {
  const { model } = parts;
  return {
    model: { input: [...model.input], layers: model.layers.map((l) => JSON.parse(JSON.stringify(l.spec)) as JsonValue), seed: model.seed },
    data: parts.data,
    optimizer: { ...parts.optimizer },
    lrSchedule: parts.lrSchedule,
    totalSteps: parts.totalSteps,
    batch: parts.batch,
    epochs: parts.epochs,
    shuffle: parts.shuffle,
    seed: parts.seed,
    workers: parts.workers,
    ...(parts.more ?? {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Restore

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
const num = (v: unknown, what: string, file: string): number => {
  if (typeof v !== 'number') throw new CheckpointError('INVALID', file, `checkpoint ${file}: ${what} is missing`);
  return v;
};

/** The CSV counters of the epoch's pass, as saved. */
type PassCounts = Pick<CsvCounters, 'dataRows' | 'rowsEmitted' | 'rowsSkipped' | 'skippedByCode'>;

interface Restored {
  readonly resume: FitResume;
  /** The saved pass counters; null for a checkpoint at an epoch's start (the pass starts from zero). */
  readonly pass: PassCounts | null;
}

/** Load a checkpoint into the model and training state; returns fit's `resume` and the pass counters. */
function restoreCheckpoint(loaded: LoadedCheckpoint, model: Model, state: TrainingState, shuffleSeed: number, fault: Fault): Restored {
  const { checkpoint: ckpt, file } = loaded;
  restoreParams(model.params, ckpt.weights, file);
  const opt = ckpt.optimizer;
  if (!isRecord(opt) || !Array.isArray(opt.slots)) throw new CheckpointError('INVALID', file, `checkpoint ${file}: the optimizer state is missing`);
  restoreOptimizerState(state.optimizer, { kind: opt.kind as OptimizerKind, t: num(opt.t, 'optimizer.t', file), slots: opt.slots as Float32Array[][] });
  state.samples = ckpt.counters.samples;

  const epoch = ckpt.counters.epoch;
  const { extra } = ckpt;
  if (extra.isEpochStart === true) return { resume: { epoch }, pass: null };
  const progress = extra.epochProgress;
  if (!isRecord(progress)) throw new CheckpointError('INVALID', file, `checkpoint ${file}: the epoch progress is missing`);
  const p: EpochProgress = {
    lossSum: num(progress.lossSum, 'epochProgress.lossSum', file),
    correct: progress.correct === null ? null : num(progress.correct, 'epochProgress.correct', file),
    steps: num(progress.steps, 'epochProgress.steps', file),
    startSamples: num(progress.startSamples, 'epochProgress.startSamples', file),
  };
  const hasShuffle = extra.hasShuffle === true;
  let rng = ckpt.rng.shuffle;
  if (hasShuffle && rng === undefined) {
    // NOTE: only the omit-rng fault gets here; a real checkpoint always holds the generator.
    if (fault !== 'omit-rng') throw new CheckpointError('INVALID', file, `checkpoint ${file}: the shuffle generator's state is missing`);
    rng = createRng(shuffleSeed + epoch - 1).state();
  }
  let position: SourcePosition | null = extra.isSourceDone === true ? null : ckpt.position;
  if (fault === 'position-file' && position !== null) position = readPositionFile(dirname(file)) ?? position;
  const c = ckpt.counters;
  const n = (k: string): number => (typeof c[k] === 'number' ? (c[k] as number) : 0);
  return {
    resume: {
      epoch,
      within: { shuffle: hasShuffle && rng !== undefined ? { window: ckpt.window, rng, isFlushing: extra.isFlushing === true } : null, position, progress: p },
    },
    pass: { dataRows: n('dataRows'), rowsEmitted: n('rowsEmitted'), rowsSkipped: c.rowsSkipped, skippedByCode: { ...c.skippedByCode } },
  };
}

function readPositionFile(dir: string): SourcePosition | null {
  try {
    return JSON.parse(readFileSync(join(dir, POSITION_FILE), 'utf8')) as SourcePosition;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// metrics.csv on resume

/**
 * Truncate `metricsPath` to the rows a checkpoint covers — step rows up to its step, epoch rows of
 * the epochs before the one it resumes in — so the resumed run's appended rows give the file an
 * uninterrupted run writes (timing columns aside). Returns the kept rows, and a warning when rows
 * the checkpoint covers are missing (lost with the kill before they reached the file).
 */
export async function truncateMetrics(metricsPath: string, step: number, epoch: number): Promise<{ rows: MetricsRow[]; warning: string | null }> {
  let text: string;
  try {
    text = await readFile(metricsPath, 'utf8');
  } catch {
    text = '';
  }
  const parsed = text === '' ? [] : parseMetricsCsv(text);
  if (parsed === null) throw new CliError(`${metricsPath}: not a deltaflow metrics file (unexpected header); cannot resume into this run folder`);
  const kept = parsed.filter(({ row }) => (row.kind === 'step' ? row.step <= step : row.epoch < epoch));
  const steps = kept.filter(({ row }) => row.kind === 'step').length;
  const epochs = kept.filter(({ row }) => row.kind === 'epoch').length;
  await writeFileAtomic(metricsPath, `${[METRICS_COLUMNS.join(','), ...kept.map((k) => k.line)].join('\n')}\n`);
  const warning =
    steps === step && epochs === epoch - 1
      ? null
      : `${metricsPath} holds ${steps} of the ${step} step rows and ${epochs} of the ${epoch - 1} epoch rows the checkpoint covers (the others were lost with the interrupted run)`;
  return { rows: kept.map((k) => k.row), warning };
}

// ---------------------------------------------------------------------------------------------
// The session: resume, then save during training

export interface CheckpointSession {
  /** fit's `resume` (undefined for a fresh run). */
  readonly resume: FitResume | undefined;
  /** The checkpoint resumed from (null for a fresh run). */
  readonly loadedFrom: string | null;
  /** For openRunFolder: the metrics rows the checkpoint covers (undefined for a fresh run). */
  readonly keepRows: readonly MetricsRow[] | undefined;
  /** The learning rate of the checkpoint's last step (an epoch row repeats it), from those rows; null for a fresh run. */
  readonly lastLr: number | null;
  /**
   * For rejected.csv (resumeRejects): how many of its rows the checkpoint covers — the skips of the
   * first epoch's pass up to the checkpoint's position, or 'all' from the second epoch on (the first
   * pass wrote every rejected row); null for a fresh run.
   */
  readonly rejectsKeep: number | 'all' | null;
  /**
   * The fromCsv options of one pass over the training data. Call it for every pass: the counters of
   * the latest one go into the checkpoints. The first pass of a run resumed inside an epoch continues
   * the saved counters and reads on from `start` (fit's start position). When that epoch's source had
   * already ended (`resume.within.position` null) fit reads nothing: call it once anyway, without
   * `start`, so the pass's counters exist.
   */
  pass(options: CsvSourceOptions, start?: SourcePosition): CsvSourceOptions;
  /** fit's onBoundary: saves every `every` steps, and at the boundary a stop was requested at. */
  onBoundary(b: FitBoundary): void;
  /** At an epoch's end (its steps done, the next epoch not started): saves the next epoch's start. */
  onEpochEnd(epoch: number, step: number): void;
  /** fit's stop: a SIGINT or SIGTERM was received. */
  stop(): boolean;
  /** Call `listener` on the first SIGINT/SIGTERM. */
  whenStopped(listener: () => void): void;
  /**
   * `--follow`: save the last boundary now, unless it was saved (a followed file may stay idle, so no
   * boundary may come after a stop signal). Call it between two steps: the weights are then those of
   * the last boundary, and the rows read since are read again on resume.
   */
  saveLastBoundary(): void;
  /** Wait until every saved checkpoint is written: the last one (or null). Throws the first write failure. */
  flush(): Promise<WrittenCheckpoint | null>;
  /** The signal that stopped the run, or null. */
  stoppedBy(): NodeJS.Signals | null;
  dispose(): void;
}

export interface SessionParts {
  readonly model: Model;
  readonly state: TrainingState;
  /** checkpointConfig(…) of this run. */
  readonly config: JsonValue;
  /** The training data file (null for stdin). */
  readonly data: string | null;
  readonly seed: number;
  readonly metricsPath: string;
  /**
   * Called when a checkpoint of a step is taken (before that step's metrics row is added): the rows
   * it covers, that one included, must reach metrics.csv at once (a resume keeps exactly those).
   */
  readonly onSave?: () => void;
  readonly warn: (line: string) => void;
  /** The run's options, stored in every checkpoint (runOptions.ts), so `--resume RUN` alone can continue it. */
  readonly command?: JsonValue;
  /**
   * Distributed training (`--redis`): checkpoints are also committed there — every file checkpoint,
   * each epoch's start, and the boundaries the mirror asks for (`isDue`) — and a resume continues from
   * its newest one when it is at least as new as the files'.
   */
  readonly mirror?: CheckpointMirror;
  /** `--follow`: the data file grows; checkpoints carry its prefix hash, and a resume accepts a file that only grew. */
  readonly follow?: boolean;
}

/** Whether checkpoint a was taken at or after b (a step, then an epoch's start after its last step). */
const isAtOrAfter = (a: Checkpoint, b: Checkpoint): boolean => a.counters.steps > b.counters.steps || (a.counters.steps === b.counters.steps && a.counters.epoch >= b.counters.epoch);

/**
 * Start checkpointing a run: for a resume, read the newest intact checkpoint (warning about damaged
 * ones), refuse one of another config or input, restore the model and state, and truncate
 * metrics.csv to it; then watch SIGINT/SIGTERM and save at boundaries.
 */
export async function openCheckpointSession(dirs: CheckpointDirs, flags: CheckpointFlags, parts: SessionParts): Promise<CheckpointSession> {
  const fault = faultOf();
  const { model, state } = parts;
  const { dir } = dirs;
  let loaded: LoadedCheckpoint | null = null;
  let restored: Restored | null = null;
  let keepRows: MetricsRow[] | undefined;
  if (dirs.isResume && dir !== null && parts.data !== null) {
    const expected = {
      config: parts.config,
      input: { path: parts.data, onChange: flags.allowInputChange ? ('allow' as const) : parts.follow === true ? ('allow-append' as const) : ('refuse' as const) },
    };
    loaded = await readLatestCheckpoint(dir, expected);
    const committed = parts.mirror === undefined ? null : await parts.mirror.latest();
    if (parts.mirror !== undefined && committed !== null && (loaded === null || isAtOrAfter(committed, loaded.checkpoint))) {
      await checkResumable(committed, parts.mirror.name, expected);
      loaded = { checkpoint: committed, file: parts.mirror.name, seq: 0, warnings: loaded?.warnings ?? [], removedTempFiles: loaded?.removedTempFiles ?? [] };
    }
    if (loaded === null) throw new CliError(`--resume ${flags.resume}: no checkpoint in ${dir}${parts.mirror === undefined ? '' : ` nor in ${parts.mirror.name}`}`);
    for (const w of loaded.warnings) parts.warn(w);
    for (const t of loaded.removedTempFiles) parts.warn(`removed ${t}, left by an interrupted checkpoint write`);
    restored = restoreCheckpoint(loaded, model, state, parts.seed, fault);
    const metrics = await truncateMetrics(parts.metricsPath, loaded.checkpoint.counters.steps, loaded.checkpoint.counters.epoch);
    if (metrics.warning !== null) parts.warn(metrics.warning);
    keepRows = metrics.rows;
  } else if (dir !== null) {
    await removeStaleTemp(dir, parts.warn);
  }
  // The fingerprint stays the one of the run's start: the input must not change over the whole run.
  const fingerprint: InputFingerprint | null = loaded !== null ? loaded.checkpoint.input : parts.data === null ? null : await inputFingerprint(parts.data);
  const prefixOf = parts.follow === true && parts.data !== null ? prefixHasher(parts.data) : null;

  const every = flags.checkpointEvery ?? null;
  const pause = Number(process.env[CHECKPOINT_PAUSE_ENV] ?? 0);
  let writer: CheckpointWriter | null = null;
  const writerOf = (d: string): CheckpointWriter => (writer ??= createCheckpointWriter(d, { pauseBeforeRenameMs: Number.isFinite(pause) ? pause : 0 }));
  let current: CsvCounters | null = null;
  let isPassRestored = false;
  // At most one checkpoint in flight: a save while the previous write is still running makes the
  // source wait (before its next row) until both are written. NOTE: training runs synchronously
  // between reads, so without this a write advances only at read turns and may lag many steps.
  let isWriting = false;
  let mustWait = false;
  const gate: Gate = {
    acquire: () => {
      if (!mustWait || writer === null) return undefined;
      mustWait = false;
      return writer.flush().then(() => undefined);
    },
    release: () => undefined,
    inFlight: 0,
  };
  const listeners: (() => void)[] = [];
  const signals = watchStopSignals((signal) => {
    parts.warn(`${signal} received: stopping ${parts.follow === true ? 'now' : 'at the next step'} with a checkpoint (send it again to exit at once)`);
    for (const l of listeners) l();
  });
  const isStopRequested = (): boolean => signals.received() !== null;

  // --follow: the last boundary, with the pass counters as of it (rows read after it are read again on resume).
  let last: { readonly b: FitBoundary; readonly pass: CsvCounters | null } | null = null;
  let savedStep = -1;
  const saveBoundary = (b: FitBoundary, pass: CsvCounters | null, toFile: boolean, toMirror: boolean): void => {
    if (b.position === null) return;
    save({
      epoch: b.epoch,
      step: b.step,
      position: b.position,
      window: b.shuffle?.window ?? [],
      rng: b.shuffle === null ? {} : { shuffle: [...b.shuffle.rng] },
      extra: {
        epochProgress: { lossSum: b.progress.lossSum, correct: b.progress.correct, steps: b.progress.steps, startSamples: b.progress.startSamples },
        hasShuffle: b.shuffle !== null,
        isFlushing: b.shuffle?.isFlushing ?? false,
        isSourceDone: b.isSourceDone,
      },
      pass,
      toFile,
      toMirror,
    });
  };

  /** A checkpoint of the boundary: to the mirror (when there is one), and to a file when `toFile`. */
  function save(b: { epoch: number; step: number; position: SourcePosition; window: Checkpoint['window']; rng: Checkpoint['rng']; extra: Checkpoint['extra']; pass: CsvCounters | null; toFile: boolean; toMirror: boolean }): void {
    if (dir === null) return;
    parts.onSave?.();
    savedStep = b.step;
    const { pass } = b;
    const optimizer: StateValue = { kind: state.optimizer.kind, t: state.optimizer.t, slots: state.optimizer.slots.map((slots) => slots.map((s) => s.slice())) };
    const ckpt = createCheckpoint({
        weights: snapshotParams(model.params),
        optimizer,
        rng: fault === 'omit-rng' ? {} : b.rng,
        window: b.window,
        position: b.position,
        counters: {
          steps: b.step,
          epoch: b.epoch,
          samples: state.samples,
          rowsTrained: pass?.rowsEmitted ?? 0,
          rowsSkipped: pass?.rowsSkipped ?? 0,
          skippedByCode: { ...(pass?.skippedByCode ?? {}) },
          dataRows: pass?.dataRows ?? 0,
          rowsEmitted: pass?.rowsEmitted ?? 0,
        },
        input: fingerprint === null || prefixOf === null ? fingerprint : { ...fingerprint, prefix: { offset: b.position.offset, sha256: prefixOf(b.position.offset) } },
        config: parts.config,
        extra: { ...b.extra, runDir: dirs.runDir, ...(parts.command === undefined ? {} : { [COMMAND_KEY]: parts.command }) },
      });
    if (b.toMirror) parts.mirror?.commit(ckpt);
    if (!b.toFile) return;
    const w = writerOf(dir);
    if (isWriting) mustWait = true;
    isWriting = true;
    w.save(ckpt);
    void w.flush().then(
      () => (isWriting = false),
      () => (isWriting = false),
    );
    // The negative control of RELIABILITY.md #44: the position outside the checkpoint, written at once.
    if (fault === 'position-file') writeFileSync(join(dir, POSITION_FILE), JSON.stringify(b.position));
  }

  return {
    resume: restored?.resume,
    loadedFrom: loaded?.file ?? null,
    keepRows,
    lastLr: keepRows?.filter((r) => r.kind === 'step').at(-1)?.lr ?? null,
    rejectsKeep: restored === null ? null : restored.resume.epoch === 1 && restored.pass !== null ? restored.pass.rowsSkipped : 'all',
    pass(options, start) {
      const counters = options.counters ?? createCounters();
      current = counters;
      const saved = restored?.pass ?? null;
      if (dir !== null && every !== null) options = { ...options, gate };
      if (isPassRestored || saved === null) return { ...options, counters };
      // The first pass of a run resumed inside an epoch continues the saved counters (and reads on from `start`).
      isPassRestored = true;
      Object.assign(counters, { dataRows: saved.dataRows, rowsEmitted: saved.rowsEmitted, rowsSkipped: saved.rowsSkipped, skippedByCode: { ...saved.skippedByCode } });
      if (start === undefined) return { ...options, counters };
      return { ...options, counters, startOffset: start.offset, startRecord: start.nextRecord, ...(start.nextLine === undefined ? {} : { startLine: start.nextLine }) };
    },
    onBoundary(b) {
      if (parts.follow === true) last = { b, pass: current === null ? null : { ...current, skippedByCode: { ...current.skippedByCode } } };
      const toFile = (every !== null && b.step % every === 0) || isStopRequested();
      // The mirror takes every file checkpoint, and the boundaries it asks for in between.
      const toMirror = parts.mirror !== undefined && (toFile || parts.mirror.isDue());
      // NOTE: a boundary always has a position (a step needs a sample read); a flush's is past the last row.
      if ((!toFile && !toMirror) || b.position === null) return;
      saveBoundary(b, current, toFile, toMirror);
    },
    saveLastBoundary() {
      if (last !== null && last.b.step !== savedStep) saveBoundary(last.b, last.pass, true, parts.mirror !== undefined);
    },
    whenStopped: (listener) => void listeners.push(listener),
    onEpochEnd(epoch, step) {
      const toFile = every !== null || isStopRequested();
      if (!toFile && parts.mirror === undefined) return;
      current = null;
      save({ epoch: epoch + 1, step, position: { source: parts.data ?? '', offset: 0, nextRecord: 0 }, window: [], rng: {}, extra: { isEpochStart: true }, pass: null, toFile, toMirror: parts.mirror !== undefined });
    },
    stop: isStopRequested,
    async flush() {
      return writer === null ? null : (writer as CheckpointWriter).flush();
    },
    stoppedBy: () => signals.received(),
    dispose: () => signals.dispose(),
  };
}

/** Remove `ckpt-*.tmp` files left by a write that was killed (a fresh run into an existing directory). */
export async function removeStaleTemp(dir: string, warn: (line: string) => void): Promise<void> {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (/^ckpt-\d+\.tmp$/.test(name) && (await unlink(path).then(() => true, () => false))) warn(`removed ${path}, left by an interrupted checkpoint write`);
  }
}

/**
 * The lines a run stopped by a signal prints: where its checkpoint is and how to continue. A resumed
 * run stopped before its first step still has the checkpoint it was resumed from (`loadedFrom`).
 */
export function stopMessage(signal: NodeJS.Signals, step: number, written: WrittenCheckpoint | null, runDir: string, loadedFrom: string | null = null): string {
  const file = written?.file ?? loadedFrom;
  if (file === null) return `deltaflow: stopped by ${signal} after step ${step}; no checkpoint was written`;
  return `deltaflow: stopped by ${signal} after step ${step}; checkpoint ${file}${written === null ? ' (no step since it)' : ''}\ndeltaflow: continue with: deltaflow train --resume ${runDir}`;
}

/** `--checkpoint-every`, `--checkpoint-dir`, `--resume`, `--allow-input-change`. */
export function addCheckpointOptions(command: Command): Command {
  return command
    .option('--checkpoint-every <steps>', 'save a checkpoint every this many steps and at each epoch\'s end (without it: only when stopped by SIGINT/SIGTERM)', parse.positiveInt)
    .option('--checkpoint-dir <dir>', 'where checkpoints go (default: the run folder\'s checkpoints/)')
    .option('--resume <run folder>', 'continue the run of this folder from its newest intact checkpoint, with the options it was started with (options given must agree with them); writes to the same run folder')
    .option('--resume-or-start', 'with --out: resume the run in that folder when it has a checkpoint, else start it there (one command for a supervisor to repeat)', false)
    .option('--force', 'start in a non-empty --out, replacing the files of the run there', false)
    .option('--allow-input-change', 'with --resume: accept a --data file that changed since the checkpoint (the result is no longer that of an uninterrupted run)', false);
}

// ---------------------------------------------------------------------------------------------
// Signals

export interface StopSignals {
  /** The first SIGINT or SIGTERM received, or null. */
  readonly received: () => NodeJS.Signals | null;
  /** Remove the handlers. */
  dispose(): void;
}

/** 128 + the signal number: the exit code a shell reports for it. */
export const signalExitCode = (signal: NodeJS.Signals): number => (signal === 'SIGINT' ? 130 : 143);

/**
 * First SIGINT/SIGTERM: remember it (training stops at the next step boundary with a checkpoint).
 * A second one exits at once with 130/143.
 */
export function watchStopSignals(onFirst: (signal: NodeJS.Signals) => void): StopSignals {
  let received: NodeJS.Signals | null = null;
  const handler = (signal: NodeJS.Signals): void => {
    if (received !== null) {
      process.stderr.write(`deltaflow: second ${signal}: exiting now, without a checkpoint\n`);
      process.exit(signalExitCode(signal));
    }
    received = signal;
    onFirst(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    received: () => received,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
