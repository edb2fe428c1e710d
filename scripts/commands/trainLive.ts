/**
 * `deltaflow train` on live inputs: `--source redis://HOST:PORT/STREAM --group G --consumer C` trains
 * one pass over a bounded stream (until its end marker, or `--max-rows` rows), and `--follow` tails a
 * growing `--data` file until SIGINT/SIGTERM (which stop at once with a checkpoint, and write model.json
 * of the weights so far), in file order unless `--shuffle` is given. Both read once, so one epoch, and the step count is unknown (a constant rate;
 * no cosine or step schedule). A stream is not checkpointed: its entries are acknowledged once
 * model.json is written — a run that fails leaves them pending, and the same command trains on them
 * again from the start.
 */
import type { Command } from 'commander';
import { fromRedisStream, type RedisStreamSource } from '../../src/streams/sources/fromRedisStream.js';
import type { CsvSourceOptions } from '../../src/streams/sources/fromCsv.js';
import * as parse from './args.js';
import { CliError } from './args.js';

export interface LiveFlags {
  readonly data?: string;
  readonly source?: string;
  readonly group?: string;
  readonly consumer?: string;
  readonly maxRows?: number;
  readonly columns?: string[];
  readonly claimIdle: number;
  readonly follow: boolean;
  readonly epochs?: number;
  readonly checkpointEvery?: number;
  readonly resume?: string;
  readonly resumeOrStart: boolean;
  readonly lrSchedule?: string;
}

/** Whether the training data is read once and its size is unknown (a stream, or a followed file). */
export const isLive = (o: LiveFlags): boolean => o.source !== undefined || o.follow;

/** The combinations that cannot work, each one line. */
export function checkLiveFlags(o: LiveFlags): void {
  if (o.source !== undefined) {
    if (o.data !== undefined) throw new CliError('--data and --source: give one (the rows come from a file or from a Redis stream)');
    if (o.group === undefined || o.consumer === undefined) throw new CliError('--source redis://…: give the consumer group and this consumer\'s name (--group G --consumer C)');
    if (o.checkpointEvery !== undefined || o.resume !== undefined || o.resumeOrStart) {
      throw new CliError('--source with checkpoints: a stream trains in one pass, and its entries are acknowledged once model.json is written (after a failure, the same command trains on them again)');
    }
  } else {
    for (const [flag, v] of [['--group', o.group], ['--consumer', o.consumer], ['--max-rows', o.maxRows], ['--columns', o.columns]] as const) {
      if (v !== undefined) throw new CliError(`${flag} applies to --source redis://HOST:PORT/STREAM`);
    }
  }
  if (o.follow && (o.data === undefined || o.data === '-')) throw new CliError('--follow needs a --data file');
  if (isLive(o) && o.epochs !== undefined && o.epochs !== 1) throw new CliError(`--epochs ${o.epochs} with ${o.follow ? '--follow' : '--source'}: the rows are read once; use --epochs 1`);
  if (isLive(o) && o.lrSchedule !== undefined && o.lrSchedule !== 'constant') throw new CliError(`--lr-schedule ${o.lrSchedule} needs the number of steps, unknown for ${o.follow ? 'a followed file' : 'a stream'}; use --lr-schedule constant`);
}

/** The Redis source of `--source`, reading with the training pass's options. */
export function trainStream(o: LiveFlags, pass: CsvSourceOptions): RedisStreamSource {
  return fromRedisStream(o.source ?? '', {
    ...pass,
    group: o.group ?? '',
    consumer: o.consumer ?? '',
    claimIdleMs: o.claimIdle,
    ...(o.maxRows === undefined ? {} : { maxRows: o.maxRows }),
    ...(o.columns === undefined ? {} : { columns: o.columns }),
  });
}

/** `--source`, `--group`, `--consumer`, `--max-rows`, `--columns`, `--claim-idle`, `--follow`. */
export function addLiveOptions(command: Command): Command {
  return command
    .option('--follow', 'with --data FILE: keep reading what is appended to the file, like tail -f (one epoch); SIGINT/SIGTERM stop it with a checkpoint and model.json', false)
    .option('--source <url>', 'train on a Redis stream, redis://HOST:PORT/STREAM, through a consumer group (one pass, until its end marker or --max-rows)')
    .option('--group <name>', 'with --source: the consumer group (created when missing)')
    .option('--consumer <name>', 'with --source: this consumer\'s name in the group')
    .option('--max-rows <n>', 'with --source: stop after n rows', parse.positiveInt)
    .option('--columns <names>', 'with --source: the column names of the stream\'s rows (default: its header entry)', parse.names)
    .option('--claim-idle <ms>', 'with --source: take over another consumer\'s pending entries once idle this long', parse.nonNegativeInt, 30_000);
}
