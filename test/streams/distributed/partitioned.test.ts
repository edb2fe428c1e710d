/**
 * Partitioned input (`publish --partitions N`): worker p reads partition p through its own seeded
 * shuffle window; the coordinator gets the rows merged round-robin — the published file's order — and
 * trains on them with N slices. Without shuffling that is the file run with `--workers N` bit for
 * bit; with shuffling, a run is bitwise repeatable. On a 3-master Redis Cluster the partitions sit on
 * three masters; a master killed and restarted (AOF) mid-run costs time, not bits, and a master that
 * stays down stops the run with one line naming it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relu } from '../../../src/layers/activation.js';
import { dense } from '../../../src/layers/dense.js';
import { sequential, type Model } from '../../../src/layers/sequential.js';
import { initKernels } from '../../../src/ops/kernels.js';
import { adam } from '../../../src/ops/optimizers.js';
import { openDistributedJob } from '../../../src/streams/distributed/distributedPool.js';
import { fromCsv } from '../../../src/streams/sources/fromCsv.js';
import { keySlot } from '../../../src/streams/sources/redis/partitions.js';
import { publishCsv } from '../../../src/streams/sources/redis/publishCsv.js';
import { fit } from '../../../src/streams/training/fit.js';
import { softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { CLI, tempDir } from '../../cli/cliHelpers.js';
import { barsCsv } from '../../cli/scaleOutHelpers.js';
import { startRedisCluster, type RedisCluster } from '../../helpers/redis.js';

const REDIS = process.env.DELTAFLOW_TEST_REDIS_URL ?? '';
const SCHEMA = { label: 'label', classes: 8, scale: 0.004 } as const;
const ROWS = 300;
let file = '';

const makeModel = (): Model => sequential({ input: [64], seed: 3 }, dense({ units: 16 }), relu(), dense({ units: 8 }));
const weightsOf = (m: Model): Buffer => Buffer.concat(m.params.map((p) => Buffer.from(p.value.buffer, p.value.byteOffset, p.value.byteLength)));
const training = { epochs: 2, loss: softmaxCrossEntropy(), optimizer: adam({ lr: 0.003 }) };

async function fileRun(workers: number, batchSize: number): Promise<Buffer> {
  const model = makeModel();
  await lastValueFrom(fit(model, { ...training, batchSize, workers, trainSource: () => fromCsv(file, SCHEMA) }));
  return weightsOf(model);
}

async function partitionedRun(url: string, job: string, n: number, batchSize: number, shuffle?: { window: number; seed: number }, workerTimeoutS = 20, log: string[] = [], waitS = 20): Promise<{ weights: Buffer; log: string[] }> {
  const model = makeModel();
  const d = await openDistributedJob(model, {
    url,
    job,
    slices: n,
    loss: training.loss,
    configHash: 'partitioned-test',
    isResume: false,
    replace: true,
    spawn: { command: process.execPath, args: [CLI, 'worker', '--redis', url, '--job', job, '--wait-timeout', String(workerTimeoutS), '--quiet'], count: n },
    heartbeatMs: 500,
    waitTimeoutMs: waitS * 1000,
    log: (line) => log.push(line),
  });
  let failure: unknown = null;
  try {
    await lastValueFrom(fit(model, { ...training, batchSize, pool: d.pool, trainSource: d.partitionedSource({ stream: 'bars', ...SCHEMA, ...(shuffle === undefined ? {} : { shuffle }) }) }));
  } catch (e) {
    failure = e;
  }
  await d.close(failure === null);
  if (failure !== null) throw failure;
  return { weights: weightsOf(model), log };
}

beforeAll(async () => {
  await initKernels();
  file = join(tempDir(), 'bars.csv');
  writeFileSync(file, barsCsv(ROWS, 17));
});

describe('partitioned input on one Redis', () => {
  beforeAll(async () => {
    await publishCsv(file, `${REDIS}/bars`, { partitions: 2 });
  });

  it('without shuffling equals the file run with workers: 2, bit for bit', async () => {
    const [a, b] = [await fileRun(2, 32), await partitionedRun(REDIS, 'part-2', 2, 32)];
    expect(b.weights.equals(a)).toBe(true);
  });

  it('with per-partition shuffling is bitwise repeatable (and differs from the unshuffled run)', async () => {
    const shuffle = { window: 50, seed: 9 };
    const first = await partitionedRun(REDIS, 'part-shuffled', 2, 32, shuffle);
    const second = await partitionedRun(REDIS, 'part-shuffled', 2, 32, shuffle);
    expect(second.weights.equals(first.weights)).toBe(true);
    expect(first.weights.equals(await fileRun(2, 32))).toBe(false);
  });
});

describe('partitioned input on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster;
  let addresses: readonly string[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster(3, { appendonly: true });
    addresses = (await publishCsv(file, `${cluster.url}/bars`, { partitions: 3 })).addresses;
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('spreads the partitions over the three masters and equals the file run with workers: 3', async () => {
    expect(new Set(addresses).size).toBe(3);
    const [a, b] = [await fileRun(3, 30), await partitionedRun(cluster.url, 'cluster-3', 3, 30)];
    expect(b.weights.equals(a)).toBe(true);
  });

  it('a master killed mid-run and restarted (AOF): the run goes on to the same bits', async () => {
    const reference = await fileRun(3, 30);
    // The master of partition 2 (not the one holding the job's own keys, which serves the first node's URL).
    const port = Number(addresses[2].split(':').at(-1));
    const node = cluster.nodes.find((s) => s.port === port);
    if (node === undefined) throw new Error(`no node at ${addresses[2]}`);
    const log: string[] = [];
    const run = partitionedRun(cluster.url, 'cluster-restart', 3, 30, undefined, 20, log);
    let isSettled = false;
    run.then(() => (isSettled = true), () => (isSettled = true));
    // Once the three workers have joined, training is under way.
    while (log.filter((l) => / joined job /.test(l)).length < 3 && !isSettled) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, Math.random() * 300));
    await node.kill();
    await new Promise((r) => setTimeout(r, 200));
    await node.restart();
    const b = await run;
    expect(b.weights.equals(reference)).toBe(true);
  }, 120_000);

  it('a master that stays down stops the run with one line naming it', async () => {
    const port = Number(addresses[1].split(':').at(-1));
    const node = cluster.nodes.find((s) => s.port === port);
    if (node === undefined) throw new Error(`no node at ${addresses[1]}`);
    await node.kill();
    // A job whose own keys are on another master (the first third of the slots): the run starts, and
    // the worker reading partition 1 finds its master down.
    let job = 'cluster-down';
    for (let i = 0; keySlot(`df:{${job}}:state`) >= 5461; i++) job = `cluster-down-${i}`;
    try {
      const failed = await partitionedRun(cluster.url, job, 3, 30, undefined, 2, [], 5).then(() => null, (e: unknown) => e);
      expect(failed).toBeInstanceOf(Error);
      const message = (failed as Error).message;
      expect(message.split('\n')).toHaveLength(1);
      // Named by the worker reading its partition, or by the coordinator once the Cluster says the node failed.
      expect(message).toMatch(new RegExp(`^Redis node 127\\.0\\.0\\.1:${port}( holding partition bars:\\{[0-9.]+\\})? is down: `));
    } finally {
      await node.restart();
    }
  }, 120_000);
});
