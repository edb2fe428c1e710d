import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, truncate, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  canonicalJson,
  configHash,
  createCheckpoint,
  createCheckpointWriter,
  decodeCheckpoint,
  diffConfigs,
  encodeCheckpoint,
  inputFingerprint,
  prefixHash,
  readLatestCheckpoint,
  restoreParams,
  snapshotParams,
  writeCheckpoint,
  type Checkpoint,
  type JsonValue,
} from '../../../src/streams/checkpoint/checkpoint.js';
import type { Sample } from '../../../src/streams/types.js';

/** float32 values at the edges: ±0, smallest subnormal, largest subnormal, smallest normal, largest finite, 1 ± ulp. */
const EDGES = new Float32Array([
  0, -0, 1.401298464324817e-45, -1.401298464324817e-45, 1.1754942106924411e-38, 1.1754943508222875e-38, 3.4028234663852886e38,
  -3.4028234663852886e38, 1, 1.0000001192092896, 0.9999999403953552, -2.5, Math.fround(Math.PI),
]);

const CONFIG: JsonValue = {
  layers: [{ kind: 'dense', units: 64 }, { kind: 'relu' }, { kind: 'dense', units: 10 }],
  optimizer: { kind: 'adam', lr: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
  batch: 32,
  seed: 7,
  shuffleWindow: 4,
};

function sample(i: number, xSize = 5): Sample {
  const x = new Float32Array(xSize).map((_, k) => EDGES[(i + k) % EDGES.length]);
  const target = new Float32Array(3);
  target[i % 3] = 1;
  return { x, target, label: i % 3, origin: { source: 'data.csv', line: 2 + i, record: i, endOffset: 100 + 20 * i } };
}

function makeCheckpoint(overrides: Partial<Checkpoint> = {}, steps = 12): Checkpoint {
  const W = new Float32Array(4 * 3).map((_, i) => EDGES[i % EDGES.length]);
  const b = new Float32Array([-0, 0.5, -1e-40]);
  const base = createCheckpoint({
    weights: [
      { name: 'W', shape: [4, 3], data: W },
      { name: 'b', shape: [3], data: b },
    ],
    optimizer: { kind: 'adam', t: steps, slots: [[W.slice(), W.slice().reverse()], [b.slice(), b.slice()]], beta1Power: 0.9 ** steps, flag: true, note: null, zero: -0 },
    rng: { shuffle: [1, 2, 0xffffffff, 0], init: [5, 6, 7, 8] },
    window: [sample(0), sample(1), sample(2), sample(3)],
    position: { source: 'data.csv', offset: 180, nextRecord: 4, nextLine: 6 },
    counters: { steps, epoch: 0, samples: 4 * steps, rowsTrained: 4 * steps, rowsSkipped: 1, skippedByCode: { CSV_RECORD_INCONSISTENT_COLUMNS: 1 }, dataRows: 4 * steps + 1 },
    input: null,
    config: CONFIG,
  });
  return { ...base, ...overrides };
}

/** The raw bytes of a float array, for bitwise comparison (−0 vs 0 and subnormals included). */
const bits = (a: Float32Array | Float64Array): number[] => Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deltaflow-ckpt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const expected = { config: CONFIG };

describe('checkpoint encoding', () => {
  it('round-trips weights, optimizer moments, rng, window, position, counters and config bit for bit', () => {
    const ckpt = makeCheckpoint();
    const back = decodeCheckpoint(encodeCheckpoint(ckpt), 'mem');
    expect(back.weights.map((w) => [w.name, w.shape, bits(w.data)])).toEqual(ckpt.weights.map((w) => [w.name, w.shape, bits(w.data)]));
    const slots = (c: Checkpoint) => ((c.optimizer as { slots: Float32Array[][] }).slots.flat().map(bits));
    expect(slots(back)).toEqual(slots(ckpt));
    expect((back.optimizer as { t: number }).t).toBe(12);
    expect(Object.is((back.optimizer as { zero: number }).zero, -0)).toBe(true);
    expect((back.optimizer as { beta1Power: number }).beta1Power).toBe(0.9 ** 12);
    expect(back.window.map((s) => [bits(s.x), bits(s.target), s.label, s.origin])).toEqual(ckpt.window.map((s) => [bits(s.x), bits(s.target), s.label, s.origin]));
    expect(back.rng).toEqual(ckpt.rng);
    expect(back.position).toEqual(ckpt.position);
    expect(back.counters).toEqual(ckpt.counters);
    expect(back.config).toEqual(CONFIG);
    expect(back.configHash).toBe(configHash(CONFIG));
  });

  it('round-trips a full 8192-sample window of 784 floats and a 50k-parameter model exactly', () => {
    const n = 8192;
    const xSize = 784;
    const window: Sample[] = [];
    for (let i = 0; i < n; i++) {
      const x = new Float32Array(xSize);
      for (let k = 0; k < xSize; k++) x[k] = Math.fround(((i * 31 + k * 17) % 1000) / 997 - 0.3);
      window.push({ x, target: Float32Array.of(i % 2, 1 - (i % 2)), label: i % 2, origin: { source: 'mnist.csv', line: i + 2, record: i, endOffset: 5_000_000_000 + i } });
    }
    const W = new Float32Array(50_000).map((_, i) => Math.fround(Math.sin(i)));
    const ckpt = makeCheckpoint({ window, weights: [{ name: 'W', shape: [50, 1000], data: W }] });
    const bytes = encodeCheckpoint(ckpt);
    const back = decodeCheckpoint(bytes, 'big');
    expect(bytes.length).toBeLessThan(n * (xSize + 2) * 4 + 600_000);
    expect(back.window.length).toBe(n);
    const same = back.window.every((s, i) => s.x.every((v, k) => Object.is(v, window[i].x[k])) && s.origin.endOffset === window[i].origin.endOffset);
    expect(same).toBe(true);
    expect(bits(back.weights[0].data)).toEqual(bits(W));
  });

  it('accepts a position without nextLine (unknown: the reader counts lines) and refuses nextLine 0', () => {
    const position = { source: 'data.csv', offset: 180, nextRecord: 4 };
    expect(decodeCheckpoint(encodeCheckpoint(makeCheckpoint({ position })), 'mem').position).toEqual(position);
    expect(() => encodeCheckpoint(makeCheckpoint({ position: { ...position, nextLine: 0 } }))).toThrow('invalid checkpoint: position must be');
  });

  it('refuses to encode a NaN weight (NON_FINITE, naming the tensor and index)', () => {
    const W = new Float32Array([1, 2, NaN]);
    const ckpt = makeCheckpoint({ weights: [{ name: 'W', shape: [3], data: W }] });
    expect(() => encodeCheckpoint(ckpt)).toThrow('weights[0] (W)[2] is NaN: refusing to write a checkpoint holding non-finite numbers');
  });

  it('refuses to encode an infinite optimizer moment', () => {
    const ckpt = makeCheckpoint({ optimizer: { slots: [[Float32Array.of(0, Infinity)]] } });
    expect(() => encodeCheckpoint(ckpt)).toThrow('optimizer.slots[0][0][1] is Infinity');
  });

  it('refuses weights whose data does not fill their shape (INVALID)', () => {
    const ckpt = makeCheckpoint({ weights: [{ name: 'W', shape: [2, 3], data: new Float32Array(5) }] });
    expect(() => encodeCheckpoint(ckpt)).toThrow('invalid checkpoint: weights[0] (W) has 5 values, its shape [2, 3] needs 6');
  });

  it('refuses a shuffle window whose samples differ in size', () => {
    const ckpt = makeCheckpoint({ window: [sample(0, 5), sample(1, 4)] });
    expect(() => encodeCheckpoint(ckpt)).toThrow('window[1] (data.csv:3): x must be a Float32Array of 5 values like window[0], got 4');
  });
});

describe('config hash and differences', () => {
  it('canonicalJson sorts keys at every level, so key order does not change the hash', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: 'q' }], c: undefined } })).toBe('{"a":{"d":[1,{"y":"q","z":0}]},"b":1}');
    expect(configHash({ lr: 0.1, batch: 32 })).toBe(configHash({ batch: 32, lr: 0.1 }));
    expect(configHash({ lr: 0.1 })).not.toBe(configHash({ lr: 0.05 }));
  });

  it('diffConfigs lists changed, added and removed leaves with their paths', () => {
    const a = { lr: 0.05, layers: [{ kind: 'dense', units: 64 }], optimizer: 'sgd', clip: 1 };
    const b = { lr: 0.1, layers: [{ kind: 'dense', units: 128 }, { kind: 'relu' }], optimizer: 'adam' };
    expect(diffConfigs(a, b)).toEqual([
      { path: 'clip', checkpoint: '1', now: '(absent)' },
      { path: 'layers[0].units', checkpoint: '64', now: '128' },
      { path: 'layers[1]', checkpoint: '(absent)', now: '{"kind":"relu"}' },
      { path: 'lr', checkpoint: '0.05', now: '0.1' },
      { path: 'optimizer', checkpoint: '"sgd"', now: '"adam"' },
    ]);
  });
});

describe('writeCheckpoint', () => {
  it('writes ckpt-<seq>.bin files with increasing numbers and keeps the newest two', async () => {
    const first = await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const second = await writeCheckpoint(dir, makeCheckpoint({}, 2));
    const third = await writeCheckpoint(dir, makeCheckpoint({}, 3));
    expect([first.seq, second.seq, third.seq]).toEqual([1, 2, 3]);
    expect(third.removed).toEqual([first.file]);
    expect((await readdir(dir)).sort()).toEqual(['ckpt-00000002.bin', 'ckpt-00000003.bin']);
    const loaded = await readLatestCheckpoint(dir, expected);
    expect(loaded?.file).toBe(third.file);
    expect(loaded?.checkpoint.counters.steps).toBe(3);
    expect(loaded?.warnings).toEqual([]);
  });

  it('keeps the final name absent until the fsynced temp file is renamed', async () => {
    let seen: string[] = [];
    let tmpDecodes = false;
    await writeCheckpoint(dir, makeCheckpoint(), {
      beforeRename: async (tmp) => {
        seen = (await readdir(dir)).sort();
        tmpDecodes = decodeCheckpoint(await readFile(tmp), tmp).counters.steps === 12;
      },
    });
    expect(seen).toEqual(['ckpt-00000001.tmp']);
    expect(tmpDecodes).toBe(true);
    expect(await readdir(dir)).toEqual(['ckpt-00000001.bin']);
  });

  it('on ENOSPC mid-write: throws CheckpointError ENOSPC naming the temp file, removes it, keeps the previous checkpoint', async () => {
    const good = await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const before = await readFile(good.file);
    let calls = 0;
    const write = async (file: import('node:fs/promises').FileHandle, bytes: Uint8Array): Promise<void> => {
      calls += 1;
      await file.write(bytes.subarray(0, 10));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    const failing = writeCheckpoint(dir, makeCheckpoint({}, 2), { io: { write } });
    await expect(failing).rejects.toThrow(
      `cannot write checkpoint ${join(dir, 'ckpt-00000002.tmp')}: no space left on device (ENOSPC); the previous checkpoint ${good.file} is untouched`,
    );
    await expect(failing).rejects.toMatchObject({ name: 'CheckpointError', code: 'ENOSPC', path: join(dir, 'ckpt-00000002.tmp') });
    expect(calls).toBe(1);
    expect(await readdir(dir)).toEqual(['ckpt-00000001.bin']);
    expect((await readFile(good.file)).equals(before)).toBe(true);
    expect((await readLatestCheckpoint(dir, expected))?.checkpoint.counters.steps).toBe(1);
  });

  it('on EACCES when creating the temp file: throws CheckpointError EACCES and leaves the directory as it was', async () => {
    const good = await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const denied = async (): Promise<never> => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    };
    const failing = writeCheckpoint(dir, makeCheckpoint({}, 2), { io: { open: denied } });
    await expect(failing).rejects.toMatchObject({ code: 'EACCES', path: join(dir, 'ckpt-00000002.tmp') });
    await expect(failing).rejects.toThrow('permission denied (EACCES); the previous checkpoint');
    expect(await readdir(dir)).toEqual([good.file.slice(dir.length + 1)]);
  });

  it('on a failed rename: removes the temp file and keeps the previous checkpoint', async () => {
    await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const rename = async (): Promise<never> => {
      throw Object.assign(new Error('EIO'), { code: 'EIO' });
    };
    await expect(writeCheckpoint(dir, makeCheckpoint({}, 2), { io: { rename } })).rejects.toMatchObject({ code: 'EIO' });
    expect(await readdir(dir)).toEqual(['ckpt-00000001.bin']);
  });

  it('a directory path under a regular file gives a CheckpointError with the errno, writing nothing', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    const failing = writeCheckpoint(join(file, 'ckpt'), makeCheckpoint());
    await expect(failing).rejects.toBeInstanceOf(CheckpointError);
    await expect(failing).rejects.toMatchObject({ code: expect.stringMatching(/^E(NOTDIR|EXIST)$/), path: join(file, 'ckpt') });
  });

  it('writes nothing for a non-finite checkpoint', async () => {
    const ckpt = makeCheckpoint({ weights: [{ name: 'W', shape: [1], data: Float32Array.of(NaN) }] });
    await expect(writeCheckpoint(dir, ckpt)).rejects.toMatchObject({ code: 'NON_FINITE' });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('createCheckpointWriter', () => {
  it('snapshots at save() time, writes one at a time, and lets a newer save supersede a waiting one', async () => {
    const writer = createCheckpointWriter(dir);
    const live = Float32Array.of(1, 2, 3);
    const take = (steps: number): Checkpoint => makeCheckpoint({ weights: [{ name: 'W', shape: [3], data: live }] }, steps);
    writer.save(take(1));
    live[0] = 10;
    writer.save(take(2));
    live[0] = 20;
    writer.save(take(3));
    live[0] = 30;
    const last = await writer.flush();
    expect(last?.file).toBe(join(dir, 'ckpt-00000002.bin'));
    const loaded = await readLatestCheckpoint(dir, expected);
    expect(loaded?.checkpoint.counters.steps).toBe(3);
    expect(Array.from(loaded?.checkpoint.weights[0].data ?? [])).toEqual([20, 2, 3]);
    expect((await readdir(dir)).sort()).toEqual(['ckpt-00000001.bin', 'ckpt-00000002.bin']);
  });

  it('after a failed write, the next save and flush throw that error', async () => {
    const enospc = async (): Promise<never> => {
      throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
    };
    const writer = createCheckpointWriter(dir, { io: { write: enospc } });
    writer.save(makeCheckpoint({}, 1));
    await expect(writer.flush()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(() => writer.save(makeCheckpoint({}, 2))).toThrow('no space left on device (ENOSPC); no checkpoint was written');
    expect(await readdir(dir)).toEqual([]);
  });

  it('save() throws NON_FINITE synchronously, before anything is queued', async () => {
    const writer = createCheckpointWriter(dir);
    expect(() => writer.save(makeCheckpoint({ weights: [{ name: 'b', shape: [1], data: Float32Array.of(-Infinity) }] }))).toThrow('weights[0] (b)[0] is -Infinity');
    expect(await writer.flush()).toBeNull();
  });
});

describe('readLatestCheckpoint', () => {
  it('returns null for a missing or empty directory', async () => {
    expect(await readLatestCheckpoint(join(dir, 'none'), expected)).toBeNull();
    expect(await readLatestCheckpoint(dir, expected)).toBeNull();
  });

  it('ignores and removes a stale temp file left by a write killed before its rename', async () => {
    const good = await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const partial = encodeCheckpoint(makeCheckpoint({}, 2)).subarray(0, 100);
    await writeFile(join(dir, 'ckpt-00000002.tmp'), partial);
    const loaded = await readLatestCheckpoint(dir, expected);
    expect(loaded?.file).toBe(good.file);
    expect(loaded?.removedTempFiles).toEqual([join(dir, 'ckpt-00000002.tmp')]);
    expect(loaded?.warnings).toEqual([]);
    expect(await readdir(dir)).toEqual(['ckpt-00000001.bin']);
  });

  it('falls back to the previous checkpoint when the newest is truncated, warning with its name', async () => {
    const prev = await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const newest = await writeCheckpoint(dir, makeCheckpoint({}, 2));
    await truncate(newest.file, newest.bytes - 100);
    const loaded = await readLatestCheckpoint(dir, expected);
    expect(loaded?.file).toBe(prev.file);
    expect(loaded?.checkpoint.counters.steps).toBe(1);
    expect(loaded?.warnings).toHaveLength(1);
    expect(loaded?.warnings[0]).toContain(`checkpoint ${newest.file} is corrupt: checksum mismatch`);
    expect(loaded?.warnings[0]).toContain(`the file has ${newest.bytes - 100} bytes, its header promises ${newest.bytes} (truncated?); moved aside to ${newest.file}.corrupt; falling back to the previous checkpoint`);
    expect((await readdir(dir)).sort()).toEqual(['ckpt-00000001.bin', 'ckpt-00000002.bin.corrupt']);
  });

  it('falls back when the newest is zero-length', async () => {
    const prev = await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const newest = await writeCheckpoint(dir, makeCheckpoint({}, 2));
    await truncate(newest.file, 0);
    const loaded = await readLatestCheckpoint(dir, expected);
    expect(loaded?.file).toBe(prev.file);
    expect(loaded?.warnings[0]).toMatch(/^checkpoint .*ckpt-00000002\.bin is corrupt: zero-length file; moved aside/);
  });

  it.each([
    ['the magic bytes', 0],
    ['the header', 40],
    ['a weight in the body', -200],
    ['the stored checksum', -1],
  ])('falls back when one bit of %s is flipped', async (_where, at) => {
    const prev = await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const newest = await writeCheckpoint(dir, makeCheckpoint({}, 2));
    const bytes = await readFile(newest.file);
    const i = at >= 0 ? at : bytes.length + at;
    bytes[i] ^= 0x04;
    await writeFile(newest.file, bytes);
    const loaded = await readLatestCheckpoint(dir, expected);
    expect(loaded?.file).toBe(prev.file);
    expect(loaded?.checkpoint.counters.steps).toBe(1);
    expect(loaded?.warnings[0]).toContain(`checkpoint ${newest.file} is corrupt`);
  });

  it('throws NO_VALID_CHECKPOINT naming every damaged file when none is usable, and keeps refusing later', async () => {
    const a = await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const b = await writeCheckpoint(dir, makeCheckpoint({}, 2));
    await truncate(a.file, 0);
    await truncate(b.file, 50);
    const read = readLatestCheckpoint(dir, expected);
    await expect(read).rejects.toMatchObject({ code: 'NO_VALID_CHECKPOINT', path: dir });
    await expect(readLatestCheckpoint(dir, expected)).rejects.toThrow(`damaged checkpoints set aside: ${b.file}.corrupt, ${a.file}.corrupt`);
  });

  it('the message for two damaged files names both', async () => {
    const a = await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const b = await writeCheckpoint(dir, makeCheckpoint({}, 2));
    await truncate(a.file, 0);
    await truncate(b.file, 0);
    await expect(readLatestCheckpoint(dir, expected)).rejects.toThrow(
      `no usable checkpoint in ${dir}: checkpoint ${b.file} is corrupt: zero-length file; checkpoint ${a.file} is corrupt: zero-length file`,
    );
  });

  it('refuses a checkpoint written for a different config, listing the differences', async () => {
    const written = await writeCheckpoint(dir, makeCheckpoint());
    const now = {
      ...(CONFIG as Record<string, JsonValue>),
      optimizer: { kind: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
      layers: [{ kind: 'dense', units: 128 }, { kind: 'relu' }, { kind: 'dense', units: 10 }],
    };
    const read = readLatestCheckpoint(dir, { config: now });
    await expect(read).rejects.toThrow(
      `checkpoint ${written.file} was written for a different training config: layers[0].units: 64 (checkpoint) vs 128 (now); optimizer.lr: 0.05 (checkpoint) vs 0.1 (now)`,
    );
    await expect(read).rejects.toMatchObject({ code: 'CONFIG_MISMATCH', differences: [{ path: 'layers[0].units' }, { path: 'optimizer.lr' }] });
  });

  it('refuses a checkpoint of another format version (not treated as damage: no fallback)', async () => {
    await writeCheckpoint(dir, makeCheckpoint({}, 1));
    const newest = await writeCheckpoint(dir, makeCheckpoint({}, 2));
    const bytes = await readFile(newest.file);
    bytes.writeUInt32LE(2, 8);
    createHash('sha256').update(bytes.subarray(0, bytes.length - 32)).digest().copy(bytes, bytes.length - 32);
    await writeFile(newest.file, bytes);
    const read = readLatestCheckpoint(dir, expected);
    await expect(read).rejects.toThrow(`checkpoint ${newest.file} has an unsupported format: version: 2 (checkpoint) vs 1 (now)`);
    await expect(read).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
  });

  it('refuses when the input file changed since the checkpoint, unless allowed', async () => {
    const csv = join(dir, 'data.csv');
    await writeFile(csv, 'a,b,y\n1,2,0\n3,4,1\n');
    const fp = await inputFingerprint(csv);
    const ckptDir = join(dir, 'ckpt');
    await writeCheckpoint(ckptDir, makeCheckpoint({ input: fp }));
    expect((await readLatestCheckpoint(ckptDir, { config: CONFIG, input: { path: csv } }))?.checkpoint.input).toEqual(fp);
    await appendFile(csv, '5,6,0\n');
    const read = readLatestCheckpoint(ckptDir, { config: CONFIG, input: { path: csv } });
    await expect(read).rejects.toMatchObject({ code: 'FINGERPRINT_MISMATCH', path: csv });
    await expect(read).rejects.toThrow(`input ${csv} is not the input checkpoint`);
    await expect(read).rejects.toThrow('input.size: 18 (checkpoint) vs 24 (now)');
    const allowed = await readLatestCheckpoint(ckptDir, { config: CONFIG, input: { path: csv, onChange: 'allow' } });
    expect(allowed?.checkpoint.counters.steps).toBe(12);
  });

  it('allow-append resumes a file that only grew past the checkpointed prefix, and refuses one whose prefix changed', async () => {
    const csv = join(dir, 'stream.csv');
    await writeFile(csv, 'a,b,y\n1,2,0\n3,4,1\n');
    const offset = 12;
    const ckptDir = join(dir, 'ckpt');
    const position = { source: csv, offset, nextRecord: 1, nextLine: 3 };
    await writeCheckpoint(ckptDir, makeCheckpoint({ input: await inputFingerprint(csv, { prefixOffset: 18 }), position }));
    await appendFile(csv, '5,6,0\n');
    const append = { config: CONFIG, input: { path: csv, onChange: 'allow-append' as const } };
    expect((await readLatestCheckpoint(ckptDir, append))?.checkpoint.position.offset).toBe(offset);
    const fh = await open(csv, 'r+');
    await fh.write('9', 6);
    await fh.close();
    await expect(readLatestCheckpoint(ckptDir, append)).rejects.toThrow(/input\.prefix \(bytes 0\.\.18\): [0-9a-f]{12}… \(checkpoint\) vs [0-9a-f]{12}… \(now\)/);
  });

  it('allow-append refuses a checkpoint written without a prefix hash', async () => {
    const csv = join(dir, 'stream.csv');
    await writeFile(csv, 'a,y\n1,0\n');
    const ckptDir = join(dir, 'ckpt');
    await writeCheckpoint(ckptDir, makeCheckpoint({ input: await inputFingerprint(csv) }));
    await expect(readLatestCheckpoint(ckptDir, { config: CONFIG, input: { path: csv, onChange: 'allow-append' } })).rejects.toThrow(
      'input.prefix: (none: written without a prefix hash) (checkpoint) vs needed by allow-append (now)',
    );
  });
});

describe('inputFingerprint and prefixHash', () => {
  it('hashes the first and last 64 KiB and the requested prefix', async () => {
    const csv = join(dir, 'big.csv');
    const bytes = Buffer.alloc(200_000).map((_, i) => 48 + (i % 10));
    await writeFile(csv, bytes);
    const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    const fp = await inputFingerprint(csv, { prefixOffset: 150_001 });
    expect(fp.size).toBe(200_000);
    expect(fp.head).toBe(sha(bytes.subarray(0, 65536)));
    expect(fp.tail).toBe(sha(bytes.subarray(200_000 - 65536)));
    expect(fp.prefix).toEqual({ offset: 150_001, sha256: sha(bytes.subarray(0, 150_001)) });
    expect(await prefixHash(csv, 0)).toBe(sha(new Uint8Array(0)));
  });

  it('prefixHash past the end of the file throws INPUT_TOO_SHORT', async () => {
    const csv = join(dir, 'short.csv');
    await writeFile(csv, 'a,b\n');
    await expect(prefixHash(csv, 10)).rejects.toThrow(`${csv} has 4 bytes, fewer than the 10 the prefix hash covers`);
  });

  it('a missing input gives a CheckpointError ENOENT naming it', async () => {
    await expect(inputFingerprint(join(dir, 'gone.csv'))).rejects.toMatchObject({ code: 'ENOENT', path: join(dir, 'gone.csv') });
  });
});

describe('snapshotParams and restoreParams', () => {
  it('snapshot copies values; restore writes them back into the same-shaped params', () => {
    const params = [
      { name: 'W', shape: [2, 2], value: Float32Array.of(1, 2, 3, 4) },
      { name: 'b', shape: [2], value: Float32Array.of(-0, 5) },
    ];
    const snap = snapshotParams(params);
    params[0].value.fill(9);
    params[1].value.fill(9);
    restoreParams(params, snap, 'mem');
    expect(bits(params[0].value)).toEqual(bits(Float32Array.of(1, 2, 3, 4)));
    expect(Object.is(params[1].value[0], -0)).toBe(true);
  });

  it('restore refuses weights of another shape, listing them', () => {
    const params = [{ name: 'W', shape: [2, 3], value: new Float32Array(6) }];
    const weights = [{ name: 'W', shape: [3, 2], data: new Float32Array(6) }];
    expect(() => restoreParams(params, weights, 'ck.bin')).toThrow('checkpoint ck.bin does not fit the model: weights[0]: W [3, 2] (checkpoint) vs W [2, 3] (now)');
  });
});
