/**
 * The checkpoint store: atomic writes, and verified reads with fallback.
 *
 * A directory holds numbered files `ckpt-00000007.bin`. A write goes to `ckpt-<seq>.tmp`, is
 * fsynced, renamed to `ckpt-<seq>.bin`, and the directory is fsynced; only then are checkpoints
 * older than the newest `keep` (default 2) deleted. So a final name never holds a partial file, and
 * a kill at any moment leaves the newest complete checkpoint and the one before it (the pattern of
 * Kafka's and Flink's checkpoint stores; RELIABILITY.md §5 and cases #37–#42).
 *
 * A read removes stale `.tmp` files (an interrupted write), tries the newest `.bin`, and on a
 * damaged one (zero-length, truncated, checksum mismatch) warns, moves it aside as `.bin.corrupt`,
 * and falls back to the previous one. It never returns a checkpoint whose checksum failed, and it
 * refuses one written for another config, format version or input file.
 *
 * The format of one file is in checkpointFormat.ts and docs/checkpoints.md; the input fingerprints a
 * read compares are in inputFingerprint.ts. This module re-exports both, so it is the whole public
 * checkpoint API.
 */
import { mkdir, open, readdir, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Param } from '../../layers/layer.js';
import { errnoOf, ioError } from './checkpointError.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  CheckpointError,
  configHash,
  decodeCheckpoint,
  diffConfigs,
  encodeCheckpoint,
  formatDifferences,
  type Checkpoint,
  type CheckpointParam,
  type Difference,
  type JsonValue,
} from './checkpointFormat.js';
import { compareInput, type InputChangePolicy } from './inputFingerprint.js';

export * from './checkpointFormat.js';
export { compareInput, inputFingerprint, prefixHash, type InputChangePolicy } from './inputFingerprint.js';

/** The environment variable the CLI reads to pause between write and rename (the kill test's window). */
export const CHECKPOINT_PAUSE_ENV = 'DELTAFLOW_CKPT_PAUSE_MS';

const FILE_NAME = /^ckpt-(\d+)\.(bin|tmp|bin\.corrupt)$/;
const CHUNK_BYTES = 4 << 20;

function fileName(seq: number, ext: 'bin' | 'tmp'): string {
  return `ckpt-${String(seq).padStart(8, '0')}.${ext}`;
}

/** A checkpoint from its parts: adds the format, the version and the config hash. */
export function createCheckpoint(parts: Omit<Checkpoint, 'format' | 'version' | 'configHash' | 'extra'> & { extra?: Checkpoint['extra'] }): Checkpoint {
  return { ...parts, extra: parts.extra ?? {}, format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, configHash: configHash(parts.config) };
}

/** Copies of a model's parameters, for a checkpoint (training may go on while the file is written). */
export function snapshotParams(params: readonly Param[]): CheckpointParam[] {
  return params.map((p) => ({ name: p.name, shape: [...p.shape], data: p.value.slice() }));
}

/** Copy checkpointed weights into a model's parameters, after checking that names and shapes match one to one. */
export function restoreParams(params: readonly Param[], weights: readonly CheckpointParam[], file: string): void {
  const differences: Difference[] = [];
  if (params.length !== weights.length) differences.push({ path: 'weights.length', checkpoint: String(weights.length), now: String(params.length) });
  params.forEach((p, i) => {
    const w = weights[i];
    if (w === undefined) return;
    const a = `${w.name} [${w.shape.join(', ')}]`;
    const b = `${p.name} [${p.shape.join(', ')}]`;
    if (a !== b) differences.push({ path: `weights[${i}]`, checkpoint: a, now: b });
  });
  if (differences.length > 0) {
    throw new CheckpointError('CONFIG_MISMATCH', file, `checkpoint ${file} does not fit the model: ${formatDifferences(differences)}`, differences);
  }
  params.forEach((p, i) => p.value.set(weights[i].data));
}

// ---------------------------------------------------------------------------------------------
// Writing

/** The file operations a write uses; tests replace one to inject ENOSPC or EACCES. */
export interface CheckpointIo {
  open(path: string, flags: 'wx'): Promise<FileHandle>;
  /** Write all of `bytes` at the current position. */
  write(file: FileHandle, bytes: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

const realIo: CheckpointIo = {
  open: (path, flags) => open(path, flags),
  async write(file, bytes) {
    let done = 0;
    while (done < bytes.length) done += (await file.write(bytes, done, bytes.length - done)).bytesWritten;
  },
  rename: (from, to) => rename(from, to),
};

export interface WriteCheckpointOptions {
  /** How many complete checkpoints to keep, newest first; default 2 (the newest and a fallback). */
  readonly keep?: number;
  /** Sleep this long between the fsynced temp file and the rename (the kill test's window; see CHECKPOINT_PAUSE_ENV). */
  readonly pauseBeforeRenameMs?: number;
  /** Called with the temp file's path just before the rename (a test hook). */
  readonly beforeRename?: (tmpPath: string) => void | Promise<void>;
  /** Replace file operations (tests). */
  readonly io?: Partial<CheckpointIo>;
}

export interface WrittenCheckpoint {
  /** Path of the new `ckpt-<seq>.bin`. */
  readonly file: string;
  readonly seq: number;
  readonly bytes: number;
  /** Older checkpoints deleted by the rotation. */
  readonly removed: readonly string[];
}

interface DirEntry {
  readonly name: string;
  readonly seq: number;
  readonly kind: 'bin' | 'tmp' | 'bin.corrupt';
}

async function listEntries(dir: string): Promise<DirEntry[]> {
  const names = await readdir(dir);
  const entries: DirEntry[] = [];
  for (const name of names) {
    const m = FILE_NAME.exec(name);
    if (m !== null) entries.push({ name, seq: Number(m[1]), kind: m[2] as DirEntry['kind'] });
  }
  return entries.sort((a, b) => b.seq - a.seq);
}

/** Make a rename durable: fsync the directory holding it. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // NOTE: Windows cannot fsync a directory; its renames are made durable by NTFS's journal.
    if (process.platform !== 'win32') throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Write `ckpt` to `dir` atomically as the next `ckpt-<seq>.bin`: temp file, fsync, rename, fsync of
 * the directory, then delete checkpoints beyond the newest `keep`. Nothing is written for an invalid
 * or non-finite checkpoint. On any failure (ENOSPC, EACCES, …) the temp file is removed, earlier
 * checkpoints are untouched, and a CheckpointError with the errno as `code` names the path.
 *
 * @example await writeCheckpoint('runs/ckpt', createCheckpoint({ weights: snapshotParams(model.params), … }));
 */
export async function writeCheckpoint(dir: string, ckpt: Checkpoint, options: WriteCheckpointOptions = {}): Promise<WrittenCheckpoint> {
  checkKeep(dir, options);
  return writeEncoded(dir, encodeCheckpoint(ckpt), options);
}

function checkKeep(dir: string, options: WriteCheckpointOptions): void {
  const keep = options.keep ?? 2;
  if (!Number.isSafeInteger(keep) || keep < 1) throw new CheckpointError('INVALID', dir, `writeCheckpoint: keep must be a positive integer, got ${keep}`);
}

/** The file part of writeCheckpoint, for bytes already encoded. */
async function writeEncoded(dir: string, bytes: Buffer, options: WriteCheckpointOptions): Promise<WrittenCheckpoint> {
  const keep = options.keep ?? 2;
  const io: CheckpointIo = { ...realIo, ...options.io };

  let entries: DirEntry[];
  try {
    await mkdir(dir, { recursive: true });
    entries = await listEntries(dir);
  } catch (err) {
    throw ioError(err, dir, 'use the checkpoint directory', 'no checkpoint was written');
  }
  const previous = entries.find((e) => e.kind === 'bin');
  const untouched = previous === undefined ? 'no checkpoint was written' : `the previous checkpoint ${join(dir, previous.name)} is untouched`;
  const seq = (entries[0]?.seq ?? 0) + 1;
  const tmp = join(dir, fileName(seq, 'tmp'));
  const file = join(dir, fileName(seq, 'bin'));

  let handle: FileHandle | undefined;
  try {
    handle = await io.open(tmp, 'wx');
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) await io.write(handle, bytes.subarray(at, at + CHUNK_BYTES));
    await handle.sync();
    await handle.close();
    handle = undefined;
    if ((options.pauseBeforeRenameMs ?? 0) > 0) await sleep(options.pauseBeforeRenameMs);
    await options.beforeRename?.(tmp);
    await io.rename(tmp, file);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw ioError(err, tmp, 'write checkpoint', untouched);
  }
  try {
    await syncDir(dir);
  } catch (err) {
    throw ioError(err, dir, 'fsync the checkpoint directory', `${file} is complete but may not survive a power loss`);
  }

  const removed: string[] = [];
  const complete = [seq, ...entries.filter((e) => e.kind === 'bin').map((e) => e.seq)];
  for (const old of complete.slice(keep)) {
    const path = join(dir, fileName(old, 'bin'));
    // A failed delete only leaves an extra old checkpoint; the next write tries again.
    if (await unlink(path).then(() => true, () => false)) removed.push(path);
  }
  return { file, seq, bytes: bytes.length, removed };
}

/** Checkpoints taken inside a synchronous training step and written in the background, one at a time. */
export interface CheckpointWriter {
  /**
   * Encode `ckpt` now — a consistent copy of the live weights, optimizer slots and window, so training
   * may continue at once — and write it after the write in flight. A snapshot still waiting when a
   * newer one arrives is dropped (the newer one supersedes it). Throws the error of an earlier failed
   * write, and INVALID / NON_FINITE for this checkpoint, synchronously.
   */
  save(ckpt: Checkpoint): void;
  /** Wait until every saved checkpoint is written: the last one written (null if none), or the first failure. */
  flush(): Promise<WrittenCheckpoint | null>;
}

/**
 * A CheckpointWriter for `dir`. Writes never overlap (each takes the next sequence number), and the
 * first failure (ENOSPC, EACCES, …) stops all later saves, so training stops with that error.
 *
 * @example
 * const writer = createCheckpointWriter('runs/ckpt');
 * steps$.pipe(tap((m) => m.step % 100 === 0 && writer.save(takeCheckpoint())), finalize(() => writer.flush()));
 */
export function createCheckpointWriter(dir: string, options: WriteCheckpointOptions = {}): CheckpointWriter {
  checkKeep(dir, options);
  let pending: Buffer | null = null;
  let running: Promise<void> | null = null;
  let failure: { error: unknown } | null = null;
  let last: WrittenCheckpoint | null = null;

  const pump = async (): Promise<void> => {
    while (pending !== null && failure === null) {
      const bytes = pending;
      pending = null;
      try {
        last = await writeEncoded(dir, bytes, options);
      } catch (error) {
        failure = { error };
      }
    }
    running = null;
  };

  return {
    save(ckpt) {
      if (failure !== null) throw failure.error;
      pending = encodeCheckpoint(ckpt);
      if (running === null) running = pump();
    },
    async flush() {
      while (running !== null) await running;
      if (failure !== null) throw failure.error;
      return last;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Reading

/** What a resume must match. */
export interface ResumeExpectation {
  /** The training config of the run that wants to resume; must equal the checkpoint's. */
  readonly config: JsonValue;
  /** The input file to compare with the checkpoint's fingerprint; omit for a stream. */
  readonly input?: { readonly path: string; readonly onChange?: InputChangePolicy };
}

export interface LoadedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The file it was read from. */
  readonly file: string;
  readonly seq: number;
  /** Newer checkpoints that were damaged and skipped, each naming its file. */
  readonly warnings: readonly string[];
  /** Stale temp files of interrupted writes, removed. */
  readonly removedTempFiles: readonly string[];
}

/**
 * Refuse a checkpoint (read from `file`, or any store named so) that does not fit this run: another
 * training config (listing the differences) or another input file — the checks readLatestCheckpoint makes.
 *
 * @example await checkResumable(ckpt, 'redis://127.0.0.1:6379 job a', { config, input: { path: 'data.csv' } });
 */
export async function checkResumable(ckpt: Checkpoint, file: string, expected: ResumeExpectation): Promise<void> {
  return checkCompatible(ckpt, file, expected);
}

async function checkCompatible(ckpt: Checkpoint, file: string, expected: ResumeExpectation): Promise<void> {
  if (ckpt.configHash !== configHash(expected.config)) {
    const differences = diffConfigs(ckpt.config, expected.config);
    const list = differences.length > 0 ? formatDifferences(differences) : 'the config hashes differ';
    throw new CheckpointError('CONFIG_MISMATCH', file, `checkpoint ${file} was written for a different training config: ${list}`, differences);
  }
  if (expected.input === undefined) return;
  const { path, onChange = 'refuse' } = expected.input;
  const differences = await compareInput(ckpt, path, onChange);
  if (differences.length > 0) {
    const hint = onChange === 'refuse' ? "; resume with onChange 'allow-append' (a file that only grew) or 'allow' to accept it" : '';
    throw new CheckpointError(
      'FINGERPRINT_MISMATCH',
      path,
      `input ${path} is not the input checkpoint ${file} was taken from: ${formatDifferences(differences)}${hint}`,
      differences,
    );
  }
}

/**
 * The newest checkpoint in `dir` that decodes, without checking it against a run and without touching
 * the directory (no temp file removed, nothing set aside); null when there is none. For reading what
 * a checkpoint recorded (its `extra`) before the run it belongs to is set up; resuming still goes
 * through readLatestCheckpoint.
 *
 * @example const newest = await peekLatestCheckpoint('runs/a/checkpoints'); console.log(newest?.checkpoint.extra);
 */
export async function peekLatestCheckpoint(dir: string): Promise<{ checkpoint: Checkpoint; file: string } | null> {
  let entries: DirEntry[];
  try {
    entries = await listEntries(dir);
  } catch {
    return null;
  }
  for (const e of entries.filter((x) => x.kind === 'bin')) {
    const file = join(dir, e.name);
    try {
      return { checkpoint: decodeCheckpoint(await readFile(file), file), file };
    } catch {
      continue;
    }
  }
  return null;
}

/**
 * The newest usable checkpoint in `dir`, or null when the directory holds none. Removes stale
 * temp files; skips (and moves aside as `.bin.corrupt`) damaged files with a warning; throws
 * NO_VALID_CHECKPOINT when every checkpoint is damaged, VERSION_MISMATCH, CONFIG_MISMATCH (listing
 * the differences) or FINGERPRINT_MISMATCH when the newest intact one does not fit this run.
 *
 * @example
 * const loaded = await readLatestCheckpoint('runs/ckpt', { config, input: { path: 'data.csv' } });
 * for (const w of loaded?.warnings ?? []) console.warn(w);
 */
export async function readLatestCheckpoint(dir: string, expected: ResumeExpectation): Promise<LoadedCheckpoint | null> {
  let entries: DirEntry[];
  try {
    entries = await listEntries(dir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    throw ioError(err, dir, 'list the checkpoint directory', 'nothing was resumed');
  }
  const removedTempFiles: string[] = [];
  for (const e of entries.filter((x) => x.kind === 'tmp')) {
    const path = join(dir, e.name);
    if (await unlink(path).then(() => true, () => false)) removedTempFiles.push(path);
  }
  const warnings: string[] = [];
  const failures: string[] = [];
  for (const e of entries.filter((x) => x.kind === 'bin')) {
    const file = join(dir, e.name);
    let ckpt: Checkpoint;
    try {
      ckpt = decodeCheckpoint(await readFile(file), file);
    } catch (err) {
      if (err instanceof CheckpointError && err.code === 'CORRUPT') {
        const aside = `${file}.corrupt`;
        const moved = await rename(file, aside).then(() => `moved aside to ${aside}`, () => 'left in place');
        warnings.push(`${err.message}; ${moved}; falling back to the previous checkpoint`);
        failures.push(err.message);
        continue;
      }
      const code = errnoOf(err);
      if (code === null || err instanceof CheckpointError) throw err;
      const message = `cannot read checkpoint ${file} (${code})`;
      warnings.push(`${message}; falling back to the previous checkpoint`);
      failures.push(message);
      continue;
    }
    await checkCompatible(ckpt, file, expected);
    return { checkpoint: ckpt, file, seq: e.seq, warnings, removedTempFiles };
  }
  const setAside = entries.filter((x) => x.kind === 'bin.corrupt').map((x) => join(dir, x.name));
  if (failures.length === 0 && setAside.length === 0) return null;
  const earlier = setAside.length > 0 ? `; damaged checkpoints set aside: ${setAside.join(', ')}` : '';
  throw new CheckpointError('NO_VALID_CHECKPOINT', dir, `no usable checkpoint in ${dir}: ${failures.join('; ') || 'none left'}${earlier}`);
}
