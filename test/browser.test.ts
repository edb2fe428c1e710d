/**
 * The browser entry (src/browser.ts, bundled as dist/browser/deltaflow.js): the public API less what
 * needs Node, and a fromCsv that takes a File, Blob or web stream and refuses a path with a hint.
 * Checked here in Node (which has Blob and web streams); test/examples/browserDemo.test.ts runs the bundle in Chromium.
 */
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import * as browser from '../src/browser.js';
import * as node from '../src/index.js';

/** What the browser entry leaves out: files, checkpoints, worker threads and Redis. */
const NODE_ONLY = [
  'saveModel', 'loadModel', 'createGradientPool', 'saveOnnx', 'loadOnnx', 'saveTfjs', 'peekLatestCheckpoint',
  'fromRedisStream', 'toRedisStream', 'publishCsv', 'partitionKey', 'keySlot', 'initialPosition', 'foldIdsHash', 'compareIds',
  'RedisStreamError', 'RedisEntryError', 'createCsvThread', 'CsvThread',
  'openDistributedJob', 'runWorker', 'DistributedError', 'WorkerRefusedError', 'partitionSeed', 'checkResumable',
  'CHECKPOINT_FORMAT', 'CHECKPOINT_PAUSE_ENV', 'CHECKPOINT_VERSION', 'CheckpointError', 'canonicalJson', 'compareInput',
  'configHash', 'createCheckpoint', 'createCheckpointWriter', 'decodeCheckpoint', 'diffConfigs', 'encodeCheckpoint',
  'formatDifferences', 'inputFingerprint', 'prefixHash', 'readLatestCheckpoint', 'restoreParams', 'sha256Hex',
  'snapshotParams', 'writeCheckpoint',
];

describe('the browser entry (src/browser.ts)', () => {
  it('exports the Node API less the Node-only names, and nothing else', () => {
    const expected = Object.keys(node).filter((k) => !NODE_ONLY.includes(k)).sort();
    expect(Object.keys(browser).sort()).toEqual(expected);
  });

  it('exports the same functions as the Node entry, except its own fromCsv and featureStats', () => {
    const own = ['fromCsv', 'featureStats'];
    for (const [name, value] of Object.entries(browser)) {
      if (own.includes(name)) expect(value).not.toBe(node[name as keyof typeof node]);
      else expect(value, name).toBe(node[name as keyof typeof node]);
    }
  });

  it('fromCsv refuses a file path, saying what to pass instead', () => {
    // As JavaScript callers would pass it (TypeScript refuses a string already).
    expect(() => Reflect.apply(browser.fromCsv, undefined, ['data/mnist-train.csv', { classes: 10 }])).toThrow(
      'fromCsv: "data/mnist-train.csv" is a file path, which cannot be read in the browser; pass a File or Blob, or a ReadableStream<Uint8Array> (file.stream(), (await fetch(url)).body)',
    );
    expect(() => browser.fromCsv(null, { classes: 10 })).toThrow('fromCsv: input must be a File, a Blob or a ReadableStream<Uint8Array>, got null');
    expect(() => Reflect.apply(browser.featureStats, undefined, ['a.csv', { classes: 10 }])).toThrow('featureStats: "a.csv" is a file path');
  });

  it('fromCsv reads a File, naming its rows by the file name', async () => {
    const file = new File(['x,label\n1,a\n2,b\n'], 'upload.csv');
    const rows = await lastValueFrom(browser.fromCsv(file, { classes: ['a', 'b'] }).pipe(toArray()));
    expect(rows.map((s) => [s.x[0], s.label, s.origin.source])).toEqual([[1, 0, 'upload.csv'], [2, 1, 'upload.csv']]);
    await expect(lastValueFrom(browser.fromCsv(new File(['x,label\n1,c\n'], 'bad.csv'), { classes: ['a', 'b'] }))).rejects.toThrow(/^bad\.csv:2/);
  });

  it('featureStats reads a Blob', async () => {
    const stats = await browser.featureStats(new Blob(['x,label\n1,a\n3,a\n']), { classes: ['a'] });
    expect(stats).toMatchObject({ mean: [2], min: [1], max: [3], rows: 2 });
  });
});
