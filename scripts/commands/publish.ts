/**
 * `deltaflow publish --redis URL --stream S --data FILE|- [--partitions N] [--maxlen N] [--batch N] [--no-end]`:
 * writes a CSV file's rows to a Redis stream (or N partition streams) for `online --source`,
 * `train --source`, scale-out workers, tests and demos. The entry layout, the checks and the
 * partition keys are publishCsv's (src/streams/sources/redis/publishCsv.ts); this file parses the
 * options and prints one summary line.
 */
import { Command } from 'commander';
import { publishCsv } from '../../src/streams/sources/redis/publishCsv.js';
import { parseRedisUrl } from '../../src/streams/sources/redis/redisUrl.js';
import { CliError, positiveInt } from './args.js';

interface PublishCliOptions {
  readonly redis: string;
  readonly stream?: string;
  readonly data: string;
  readonly partitions: number;
  readonly maxlen?: number;
  readonly batch: number;
  readonly end: boolean;
  readonly timeout: number;
}

async function runPublish(o: PublishCliOptions): Promise<void> {
  const target = parseRedisUrl(o.redis);
  const stream = o.stream ?? target.stream ?? undefined;
  if (stream === undefined) throw new CliError('publish: give the stream with --stream S (or in the URL, redis://HOST:PORT/S)');
  if (o.stream !== undefined && target.stream !== null && target.stream !== o.stream) {
    throw new CliError(`publish: --redis names stream "${target.stream}" but --stream is "${o.stream}"`);
  }
  if (o.maxlen !== undefined && o.partitions > 1 && o.maxlen < 2) throw new CliError('publish: --maxlen must leave room for the header and end entries');
  const input = o.data === '-' ? process.stdin : o.data;
  const started = process.hrtime.bigint();
  const result = await publishCsv(input, o.redis, {
    stream,
    partitions: o.partitions,
    maxLen: o.maxlen,
    batch: o.batch,
    end: o.end,
    name: o.data === '-' ? 'stdin' : o.data,
    timeoutMs: o.timeout,
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rate = Math.round(result.rows / Math.max(seconds, 1e-9)).toLocaleString('en-US');
  const where = result.keys.map((k, i) => `${k}@${result.addresses[i]}`).join(', ');
  process.stdout.write(`published ${result.rows} rows to ${where} in ${seconds.toFixed(2)} s (${rate} rows/s)${o.end ? ', end marker written' : ''}\n`);
}

export function publishCommand(): Command {
  return new Command('publish')
    .description('write the rows of a CSV file to a Redis stream (header entry, one entry per row, end marker), optionally over N partition streams')
    .requiredOption('--redis <url>', 'Redis server, redis://HOST:PORT (or redis://HOST:PORT/STREAM)')
    .option('--stream <name>', 'stream key (with --partitions N: the keys STREAM:{TAG}, one per partition)')
    .requiredOption('--data <file>', "CSV file with a header line, or '-' for stdin")
    .option('--partitions <n>', 'spread rows over N streams: row i to partition i mod N (hash-tagged keys, one per cluster shard)', positiveInt, 1)
    .option('--maxlen <n>', 'trim each stream to about N entries (XADD MAXLEN ~ N)', positiveInt)
    .option('--batch <n>', 'entries in flight per partition (pipelining depth)', positiveInt, 1000)
    .option('--no-end', 'do not write the end marker (end=1) after the last row')
    .option('--timeout <ms>', 'connect and command timeout in ms', positiveInt, 5000)
    .action(async (o: PublishCliOptions) => runPublish(o));
}
