/**
 * Checkpoints for `deltaflow online` (docs/checkpoints.md, "Online runs"): `--checkpoint-every ROWS`,
 * `--resume RUN`, `--resume-or-start`, and a stop on SIGINT/SIGTERM at the next row, with a checkpoint.
 *
 * One checkpoint file (the store and format of src/streams/checkpoint/) holds, under one checksum:
 *
 *   extra.online   the whole online run (evaluateOnline's snapshot: every learner's weights,
 *                  optimizer, reactions, background learner, running sums, metrics and detector; the
 *                  rows held by --delay or waiting in the label join, with their arrival predictions)
 *   extra.input    where reading resumes: the rows file's { offset, nextRecord }, the labels file's,
 *                  and which of the two the next item comes from; or the Redis stream position
 *   extra.counts   the rows file's CSV counters as of the last row taken
 *   extra.lines    the lines of metrics.csv and events.csv written so far
 *   extra.normalize, extra.cli   the online-normalization moments; the divergence warning's state
 *   extra.command  the options the run was started with (runOptions.ts), so `--resume RUN` alone works
 *
 * so the position is stored atomically with the state it produced. With a Redis source, the entries a
 * checkpoint covers are acknowledged (`commit`) only once it is durable. Writes run in the
 * background, one at a time; a checkpoint due while the previous one is still being written makes the
 * source wait (`gate`, before its next row) until both are written, so every due checkpoint lands.
 *
 * `--follow`: the rows file grows, so its fingerprint carries the SHA-256 of the prefix up to each
 * checkpoint's position (hashed as the position advances: each byte once), and a resume accepts a
 * file that only grew past it.
 *
 * Test-only fault injection (the Redis kill test's negative control): DELTAFLOW_CKPT_FAULT=ack-early
 * acknowledges a checkpoint's entries as soon as it is taken, before it is durable (the temp file is
 * opened once the acknowledgement is done).
 * DELTAFLOW_CKPT_PAUSE_MS sleeps between the fsynced temp file and its rename.
 */
import { open } from 'node:fs/promises';
import type { Moments } from '../../src/ops/welford.js';
import {
  CHECKPOINT_PAUSE_ENV,
  createCheckpoint,
  createCheckpointWriter,
  inputFingerprint,
  readLatestCheckpoint,
  type CheckpointWriter,
  type InputFingerprint,
  type JsonValue,
  type StateValue,
  type WrittenCheckpoint,
} from '../../src/streams/checkpoint/checkpoint.js';
import type { OnlineRunState } from '../../src/streams/online/evaluateOnline.js';
import { readOnlineRunState } from '../../src/streams/online/readOnlineRunState.js';
import { OnlineStateError, StateReader } from '../../src/streams/online/stateReader.js';
import { checkPosition, type RedisStreamPosition } from '../../src/streams/sources/redis/streamPosition.js';
import type { Gate } from '../../src/streams/sources/gate.js';
import { CliError } from './args.js';
import { CHECKPOINT_FAULT_ENV, removeStaleTemp, watchStopSignals, type CheckpointDirs } from './checkpointing.js';
import { prefixHasher } from './prefixHasher.js';
import { COMMAND_KEY } from './runOptions.js';

/** Where a file is read on from: just past the last record taken. */
export interface FilePosition {
  readonly offset: number;
  readonly nextRecord: number;
}

/** A rows file's counters as of the last row taken. */
export interface RowCountsAt {
  readonly dataRows: number;
  readonly rowsEmitted: number;
  readonly rowsSkipped: number;
  readonly skippedByCode: Readonly<Record<string, number>>;
}

/** Where the input stands: files (rows, and labels), or a Redis stream. */
export type InputPosition =
  | { readonly kind: 'file'; readonly rows: FilePosition; readonly labels: FilePosition | null; readonly next: 'rows' | 'labels' }
  | { readonly kind: 'redis'; readonly position: RedisStreamPosition };

/** The divergence warning of one learner: the best window loss so far (null: none yet) and whether it warned. */
export interface WatchState {
  readonly best: number | null;
  readonly isWarned: boolean;
}

/** Everything a checkpoint holds besides the online run. */
export interface OnlinePoint {
  readonly state: OnlineRunState;
  readonly input: InputPosition;
  readonly counts: RowCountsAt;
  readonly lines: { readonly metrics: number; readonly events: number };
  readonly normalize: Moments | null;
  readonly watches: readonly WatchState[];
}

/** A checkpoint read back for a resume. */
export interface LoadedPoint extends OnlinePoint {
  readonly file: string;
}

export interface OnlineCheckpoints {
  /** The checkpoint resumed from (null for a fresh run). */
  readonly loaded: LoadedPoint | null;
  /** Whether checkpoints are written at all (not for stdin). */
  readonly isEnabled: boolean;
  /** Call `listener` on the first SIGINT/SIGTERM (the run then checkpoints and stops between two items). */
  whenStopped(listener: () => void): void;
  /** Take a checkpoint now (encoded at once, written in the background; a Redis position committed once durable). */
  save(point: OnlinePoint): void;
  /** For the rows' source: waits (before the next row) while a checkpoint is due behind one being written. */
  readonly gate: Gate;
  /** A SIGINT or SIGTERM was received. */
  stop(): boolean;
  stoppedBy(): NodeJS.Signals | null;
  /** Wait until every checkpoint is written and committed: the last one (or null). Throws the first write failure. */
  flush(): Promise<WrittenCheckpoint | null>;
  dispose(): void;
}

export interface OnlineCheckpointParts {
  /** What must match on resume. */
  readonly config: JsonValue;
  /** The rows file (null: stdin or Redis). */
  readonly data: string | null;
  /** The labels file of --labels (null: none, or stdin). */
  readonly labels: string | null;
  readonly follow: boolean;
  readonly every: number | null;
  readonly allowInputChange: boolean;
  /** The run's options, stored for `--resume RUN` alone. */
  readonly command: JsonValue;
  /** The source name in the checkpoint's position. */
  readonly sourceName: string;
  /** With a Redis source: acknowledge the entries a durable checkpoint covers. */
  readonly commit?: (position: RedisStreamPosition) => Promise<unknown>;
  readonly warn: (line: string) => void;
  /** Watch SIGINT/SIGTERM (false: they end the process as usual). */
  readonly watchSignals: boolean;
}

type Fault = 'ack-early' | null;

function faultOf(): Fault {
  const v = process.env[CHECKPOINT_FAULT_ENV];
  if (v === undefined || v === '') return null;
  if (v === 'ack-early') return v;
  throw new CliError(`${CHECKPOINT_FAULT_ENV}=${v}: online runs take ack-early (test-only fault injection)`);
}

// ---------------------------------------------------------------------------------------------
// Reading a checkpoint's extra back

function filePosition(r: StateReader): FilePosition {
  return { offset: r.count('offset'), nextRecord: r.count('nextRecord') };
}

function readInput(r: StateReader, file: string): InputPosition {
  const kind = r.str('kind');
  if (kind === 'redis') {
    const p = r.obj('position');
    const header = p.has('header') ? p.str('header') : undefined;
    const position = { stream: p.str('stream'), group: p.str('group'), lastId: p.str('lastId'), count: p.count('count'), idsHash: p.str('idsHash'), ...(header === undefined ? {} : { header }) };
    return { kind, position: checkPosition(position, position.stream, position.group) };
  }
  if (kind !== 'file') throw new OnlineStateError('input.kind', `must be file or redis (checkpoint ${file})`);
  const next = r.str('next');
  return { kind, rows: filePosition(r.obj('rows')), labels: r.has('labels') ? filePosition(r.obj('labels')) : null, next: next === 'labels' ? 'labels' : 'rows' };
}

function readPoint(extra: { readonly [key: string]: StateValue | undefined }, file: string): OnlinePoint {
  const r = new StateReader('', extra);
  const counts = r.obj('counts');
  const codes = counts.obj('skippedByCode');
  const skippedByCode: Record<string, number> = {};
  for (const code of codes.keys()) skippedByCode[code] = codes.count(code);
  const norm = r.has('normalize') ? r.obj('normalize') : null;
  const lines = r.obj('lines');
  return {
    state: readOnlineRunState(extra.online),
    input: readInput(r.obj('input'), file),
    counts: { dataRows: counts.count('dataRows'), rowsEmitted: counts.count('rowsEmitted'), rowsSkipped: counts.count('rowsSkipped'), skippedByCode },
    lines: { metrics: lines.count('metrics'), events: lines.count('events') },
    normalize: norm === null ? null : { n: norm.count('n'), mean: norm.f64('mean'), m2: norm.f64('m2') },
    watches: r.objs('watches').map((w) => ({ best: w.has('best') ? w.num('best') : null, isWarned: w.bool('isWarned') })),
  };
}

function extraOf(point: OnlinePoint): { readonly [key: string]: StateValue } {
  const { input, counts } = point;
  return {
    online: point.state,
    input: input.kind === 'redis' ? { kind: 'redis', position: { ...input.position } } : { kind: 'file', rows: { ...input.rows }, labels: input.labels === null ? null : { ...input.labels }, next: input.next },
    counts: { dataRows: counts.dataRows, rowsEmitted: counts.rowsEmitted, rowsSkipped: counts.rowsSkipped, skippedByCode: { ...counts.skippedByCode } },
    lines: { ...point.lines },
    normalize: point.normalize === null ? null : { n: point.normalize.n, mean: point.normalize.mean.slice(), m2: point.normalize.m2.slice() },
    watches: point.watches.map((w) => ({ best: w.best, isWarned: w.isWarned })),
  };
}

// ---------------------------------------------------------------------------------------------
// The session

/**
 * Start checkpointing an online run: for a resume, read the newest intact checkpoint (warning about
 * damaged ones), refuse one of another config or input, and give its contents back; then watch
 * SIGINT/SIGTERM and save when due.
 */
export async function openOnlineCheckpoints(dirs: CheckpointDirs, parts: OnlineCheckpointParts): Promise<OnlineCheckpoints> {
  const fault = faultOf();
  const { dir } = dirs;
  let loaded: LoadedPoint | null = null;
  let labelsPrint: InputFingerprint | null = null;
  let basePrint: InputFingerprint | null = null;
  if (dirs.isResume && dir !== null) {
    const onChange = parts.allowInputChange ? 'allow' : parts.follow ? 'allow-append' : 'refuse';
    const ckpt = await readLatestCheckpoint(dir, { config: parts.config, ...(parts.data === null ? {} : { input: { path: parts.data, onChange } }) });
    if (ckpt === null) throw new CliError(`--resume ${dirs.runDir}: no checkpoint in ${dir}`);
    for (const w of ckpt.warnings) parts.warn(w);
    for (const t of ckpt.removedTempFiles) parts.warn(`removed ${t}, left by an interrupted checkpoint write`);
    if (ckpt.checkpoint.extra.online === undefined) throw new CliError(`checkpoint ${ckpt.file} is not an online run's (it holds no online state): resume it with the command that wrote it`);
    loaded = { ...readPoint(ckpt.checkpoint.extra, ckpt.file), file: ckpt.file };
    labelsPrint = await checkLabelsInput(ckpt.checkpoint.extra.labelsInput, parts, ckpt.file);
    const saved = ckpt.checkpoint.input;
    if (saved !== null) basePrint = { path: saved.path, size: saved.size, mtimeMs: saved.mtimeMs, head: saved.head, tail: saved.tail };
  } else if (dir !== null) {
    await removeStaleTemp(dir, parts.warn);
  }
  if (labelsPrint === null && parts.labels !== null && dir !== null) labelsPrint = await inputFingerprint(parts.labels);
  // The rows file's fingerprint stays the one of the run's start; a followed file adds its prefix hash.
  if (basePrint === null && parts.data !== null && dir !== null) basePrint = await inputFingerprint(parts.data);
  const prefixOf = parts.follow && parts.data !== null ? prefixHasher(parts.data) : null;

  const pause = Number(process.env[CHECKPOINT_PAUSE_ENV] ?? 0);
  let writer: CheckpointWriter | null = null;
  let commits: Promise<unknown> = Promise.resolve();
  // The negative control acknowledges first and only then opens the temp file, so a kill while the
  // temp file exists always comes after the acknowledgement and before the checkpoint is durable.
  const earlyIo = fault === 'ack-early' ? {
    io: {
      open: async (path: string, flags: 'wx') => {
        await commits;
        return open(path, flags);
      },
    },
  } : {};
  const writerOf = (d: string): CheckpointWriter => (writer ??= createCheckpointWriter(d, { pauseBeforeRenameMs: Number.isFinite(pause) ? pause : 0, ...earlyIo }));
  let commitFailure: { error: unknown } | null = null;
  const commit = (position: RedisStreamPosition): void => {
    const c = parts.commit;
    if (c === undefined) return;
    commits = commits.then(() => c(position)).catch((error: unknown) => {
      commitFailure ??= { error };
    });
  };
  let isWriting = false;
  let mustWait = false;
  const gate: Gate = {
    acquire: () => {
      if (!mustWait || writer === null) return undefined;
      mustWait = false;
      return (writer as CheckpointWriter).flush().then(() => undefined);
    },
    release: () => undefined,
    inFlight: 0,
  };
  const listeners: (() => void)[] = [];
  const signals = parts.watchSignals
    ? watchStopSignals((signal) => {
        parts.warn(`${signal} received: stopping with a checkpoint once the row in hand is learned (at once while waiting for rows; send it again to exit at once)`);
        for (const l of listeners) l();
      })
    : { received: (): NodeJS.Signals | null => null, dispose: () => undefined };

  return {
    loaded,
    gate,
    isEnabled: dir !== null,
    whenStopped: (listener) => void listeners.push(listener),
    save(point) {
      if (dir === null) return;
      const { input } = point;
      const position =
        input.kind === 'redis'
          ? { source: parts.sourceName, offset: 0, nextRecord: input.position.count }
          : { source: parts.sourceName, offset: input.rows.offset, nextRecord: input.rows.nextRecord };
      const fingerprint = basePrint === null ? null : prefixOf === null ? basePrint : { ...basePrint, prefix: { offset: position.offset, sha256: prefixOf(position.offset) } };
      const w = writerOf(dir);
      if (isWriting) mustWait = true;
      isWriting = true;
      w.save(
        createCheckpoint({
          weights: [],
          optimizer: null,
          rng: {},
          window: [],
          position,
          counters: {
            steps: point.state.row,
            epoch: 1,
            samples: point.state.row,
            rowsTrained: point.counts.rowsEmitted,
            rowsSkipped: point.counts.rowsSkipped,
            skippedByCode: { ...point.counts.skippedByCode },
            dataRows: point.counts.dataRows,
          },
          input: fingerprint,
          config: parts.config,
          extra: { ...extraOf(point), labelsInput: labelsPrint === null ? null : { ...labelsPrint, prefix: undefined }, runDir: dirs.runDir, [COMMAND_KEY]: parts.command },
        }),
      );
      void w.flush().then(
        () => (isWriting = false),
        () => (isWriting = false),
      );
      if (input.kind !== 'redis') return;
      // The negative control: released before the checkpoint is durable (a kill then loses rows).
      if (fault === 'ack-early') commit(input.position);
      else
        void w.flush().then(
          () => commit(input.position),
          () => undefined,
        );
    },
    stop: () => signals.received() !== null,
    stoppedBy: () => signals.received(),
    async flush() {
      const last = writer === null ? null : await (writer as CheckpointWriter).flush();
      await commits;
      if (commitFailure !== null) throw commitFailure.error;
      return last;
    },
    dispose: () => signals.dispose(),
  };
}

/** On resume: the labels file must be the one the run started with (unless --allow-input-change); returns its fingerprint. */
async function checkLabelsInput(saved: StateValue | undefined, parts: OnlineCheckpointParts, file: string): Promise<InputFingerprint | null> {
  if (parts.labels === null) return null;
  const now = await inputFingerprint(parts.labels);
  if (parts.allowInputChange || saved === undefined || saved === null) return now;
  const r = new StateReader('labelsInput', saved);
  const was = { size: r.num('size'), mtimeMs: r.num('mtimeMs'), head: r.str('head'), tail: r.str('tail') };
  const changed = (['size', 'mtimeMs', 'head', 'tail'] as const).filter((k) => was[k] !== now[k]);
  if (changed.length > 0) {
    throw new CliError(`input ${parts.labels} is not the labels file checkpoint ${file} was taken from (${changed.join(', ')} differ); resume with --allow-input-change to accept it`);
  }
  return { path: r.str('path'), ...was };
}
