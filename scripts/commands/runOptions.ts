/**
 * A run's command-line options, kept with its checkpoints, so that `deltaflow train --resume RUN`
 * alone continues the run as it was started, and `--resume-or-start` lets a supervisor (systemd,
 * Kubernetes, a shell loop) give one command that starts a run when there is nothing to resume and
 * resumes it otherwise (as Keras's BackupAndRestore does).
 *
 * Every checkpoint's `extra.command` holds the options the run was started with (resolved values,
 * JSON). On `--resume RUN`, each option given on the command line wins; every other option takes the
 * stored value. What results must still match the checkpoint's training config and input, else the
 * resume is refused listing the differences (checkpointing.ts), as when every option is given.
 * Paths (`--data`, `--test`) are stored as given, so they are read relative to where the run started.
 * A custom `--checkpoint-dir` must be given again (it is where the stored options are found).
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { peekLatestCheckpoint } from '../../src/streams/checkpoint/checkpoint.js';
import type { JsonValue } from '../../src/streams/checkpoint/checkpointConfig.js';
import { CliError } from './args.js';

/** The key of `extra` under which checkpoints store the run's options. */
export const COMMAND_KEY = 'command';

/** Options that say how to start or resume, not what the run is: never stored, never restored. */
const NOT_STORED = new Set(['resume', 'resumeOrStart', 'force', 'out', 'allowInputChange']);

/** What a run needs to know about how it was asked to start. */
export interface StartFlags {
  readonly resume?: string;
  readonly resumeOrStart: boolean;
  readonly force: boolean;
  readonly out?: string;
  readonly checkpointDir?: string;
}

/** The options a checkpoint stores: every option value but how to start. */
export function storedOptions(options: object): { readonly [key: string]: JsonValue } {
  const stored: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(options)) {
    if (NOT_STORED.has(key) || value === undefined) continue;
    stored[key] = JSON.parse(JSON.stringify(value)) as JsonValue;
  }
  return stored;
}

/** The checkpoint directory of a run folder as the resume will look for it (see resolveCheckpointDirs). */
function checkpointDirOf(runDir: string, flags: StartFlags): string {
  if (flags.checkpointDir !== undefined) return flags.checkpointDir;
  if (basename(resolve(runDir)) === 'checkpoints') return runDir;
  return join(runDir, 'checkpoints');
}

/** Whether the run folder's summary.json says the run completed. */
function isComplete(runDir: string): boolean {
  const path = join(runDir, 'summary.json');
  if (!existsSync(path)) return false;
  try {
    const summary: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof summary === 'object' && summary !== null && 'status' in summary && summary.status === 'done';
  } catch {
    return false;
  }
}

export type StartPlan<T> =
  /** Run with these options (a fresh start, or a resume with `resume` set). */
  | { readonly kind: 'run'; readonly options: T }
  /** The run folder holds a completed run: nothing to do. */
  | { readonly kind: 'complete'; readonly runDir: string };

/**
 * The options to run with: for `--resume RUN`, the stored options completed by those given; for
 * `--resume-or-start --out DIR`, a resume of DIR when it holds a checkpoint, else a fresh start in it
 * (its files of an earlier attempt replaced). A completed run is left alone.
 */
export async function planStart<T extends StartFlags>(given: T, command: Command): Promise<StartPlan<T>> {
  if (given.resume !== undefined && given.resumeOrStart) throw new CliError('--resume and --resume-or-start: give one (--resume-or-start takes the run folder from --out)');
  if (given.resumeOrStart && given.out === undefined) throw new CliError('--resume-or-start needs --out DIR: the run folder to resume, or to start in');
  const runDir = given.resume ?? (given.resumeOrStart ? given.out : undefined);
  if (runDir === undefined) return { kind: 'run', options: given };
  if (isComplete(runDir)) return { kind: 'complete', runDir };
  const newest = existsSync(runDir) ? await peekLatestCheckpoint(checkpointDirOf(runDir, given)) : null;
  if (newest === null) {
    // --resume without a checkpoint is refused later, naming the folder; --resume-or-start starts.
    return { kind: 'run', options: given.resumeOrStart ? { ...given, resume: undefined, force: true } : given };
  }
  const asResume: T = given.resumeOrStart ? { ...given, resume: runDir, out: undefined } : given;
  const stored = newest.checkpoint.extra[COMMAND_KEY];
  if (stored === undefined || stored === null || typeof stored !== 'object' || Array.isArray(stored)) return { kind: 'run', options: asResume };
  const restored: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stored)) {
    if (value !== undefined && command.getOptionValueSource(key) !== 'cli' && !NOT_STORED.has(key)) restored[key] = value;
  }
  return { kind: 'run', options: Object.assign({ ...asResume }, restored) };
}
