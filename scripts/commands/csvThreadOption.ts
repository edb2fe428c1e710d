/**
 * `--csv-thread auto|on|off` of `deltaflow train`: whether the CSV files are parsed on a thread of
 * their own (fromCsv's `thread`, src/streams/sources/csvThread.ts), off the training thread.
 *
 * auto (the default): on for `--data FILE` when the machine has two cores or more — then the
 * scanning and converting of the rows (as much time as training a small MLP, and a sixth of
 * LeNet's) runs beside training instead of between its steps; off for stdin (a stream is read
 * where it arrives) and on one core (the threads would only take turns), and off as well when the
 * rows are read while the steps run and the steps take every core — a worker count given that fills
 * them, or a net heavy enough per CSV field that every core computing and the rows parsed between the
 * steps is faster (workersDefault.ts, `parsingFor`; train closes the thread it warmed). One thread serves the
 * training file and the test file, pass after pass: it starts once, while the run is set up.
 * The rows, errors, counters and rejected.csv are the same either way.
 */
import { availableParallelism } from 'node:os';
import { type Command, Option } from 'commander';
import { createCsvThread, type CsvThread } from '../../src/streams/sources/csvThread.js';

export type CsvThreadChoice = 'auto' | 'on' | 'off';

export function addCsvThreadOption(command: Command): Command {
  return command.addOption(
    new Option('--csv-thread <when>', 'parse the CSV files on a thread of their own: auto (for a --data file with 2+ cores, unless the steps take every core), on, off').choices(['auto', 'on', 'off']).default('auto'),
  );
}

/** The parser thread of a run (started now, so its start-up overlaps the set-up), or null; the caller closes it. */
export function openCsvThread(choice: CsvThreadChoice | undefined, isStdin: boolean): CsvThread | null {
  if (isStdin || choice === 'off') return null;
  if ((choice ?? 'auto') === 'auto' && availableParallelism() < 2) return null;
  return createCsvThread().warm();
}
