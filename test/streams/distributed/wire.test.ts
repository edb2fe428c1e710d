/**
 * The pieces of the distributed protocol that need no Redis: samples and float arrays cross as their
 * exact bits, a fingerprint difference names its field, job names are checked, keys share the job's
 * hash tag, and every partition gets its own shuffle seed (partition 0 the single process's).
 */
import { describe, expect, it } from 'vitest';
import { fingerprintDifference } from '../../../src/streams/distributed/fingerprint.js';
import { checkJobName, jobKeys } from '../../../src/streams/distributed/jobKeys.js';
import { partitionSeed } from '../../../src/streams/distributed/partitionReader.js';
import { bytesOf, decodeSample, decodeSamples, encodeSample, encodeSamples, entryOf, f32Of, headerOf } from '../../../src/streams/distributed/wire.js';
import { keySlot } from '../../../src/streams/sources/redis/partitions.js';
import type { Sample } from '../../../src/streams/types.js';

const sample = (k: number): Sample => ({
  x: new Float32Array([k + 0.1, -0, Number.MIN_VALUE, 3.4028234663852886e38, 1 / 3]),
  target: new Float32Array([0, 1, 0]),
  label: k % 3,
  origin: { source: 'redis://h:1/rows:{0}', line: k + 2, record: k, endOffset: k + 1, id: `17-${k}` },
});

describe('wire', () => {
  it('a sample round-trips bit for bit, -0 and subnormals included', () => {
    const s = sample(4);
    const back = decodeSample(encodeSample(s), 'test');
    expect(Buffer.from(bytesOf(back.x)).equals(Buffer.from(bytesOf(s.x)))).toBe(true);
    expect(Object.is(back.x[1], -0)).toBe(true);
    expect(back.target).toEqual(s.target);
    expect(back.label).toBe(1);
    expect(back.origin).toEqual(s.origin);
  });

  it('a list of samples round-trips in order, the empty list too', () => {
    const list = [sample(0), sample(1), sample(2)];
    const back = decodeSamples(encodeSamples(list), 'test');
    expect(back.map((s) => s.origin.record)).toEqual([0, 1, 2]);
    expect(decodeSamples(encodeSamples([]), 'test')).toEqual([]);
  });

  it('float arrays are read back from unaligned bytes, and a wrong length is an error naming what', () => {
    const bytes = Buffer.concat([Buffer.from([9]), bytesOf(new Float32Array([1.5, -2]))]).subarray(1);
    expect(Array.from(f32Of(bytes, 2, 'g'))).toEqual([1.5, -2]);
    expect(() => f32Of(bytes, 3, 'result 1-1 gradients')).toThrow('result 1-1 gradients: expected 12 bytes (3 floats), got 8');
  });

  it('a stream entry reply gives its fields and its JSON header; a header that does not parse is null', () => {
    const e = entryOf(['1-2', [Buffer.from('h'), Buffer.from('{"kind":"task","step":3}'), Buffer.from('x'), Buffer.from([1, 2])]]);
    expect(e.id).toBe('1-2');
    expect(headerOf(e)).toEqual({ kind: 'task', step: 3 });
    expect(e.fields.get('x')).toEqual(Buffer.from([1, 2]));
    expect(headerOf(entryOf(['1-3', ['h', '{not json']]))).toBeNull();
  });
});

describe('fingerprints, names and seeds', () => {
  it('names the first field that differs, with both values', () => {
    const job = { protocol: '1', 'kernels.conv': 'wasm', model: 'ab' };
    expect(fingerprintDifference(job, { ...job })).toBeNull();
    expect(fingerprintDifference(job, { ...job, model: 'cd' })).toBe('model differs (the job has ab, the worker cd)');
    expect(fingerprintDifference(job, { protocol: '1', model: 'ab' })).toBe('kernels.conv differs (the job has wasm, the worker nothing)');
  });

  it('job names are letters, digits, _ . -; every key of a job is in one Cluster slot', () => {
    expect(() => checkJobName('runs/a')).toThrow('job name "runs/a": expected 1-100 letters, digits, "_", "." or "-"');
    expect(() => checkJobName('a{b}')).toThrow(RangeError);
    const k = jobKeys('mnist-1');
    const slots = new Set([k.config, k.lease, k.epoch, k.state, k.weights, k.window, k.ctl, k.out, k.inbox('w1'), k.heartbeat('w1')].map(keySlot));
    expect(slots.size).toBe(1);
  });

  it('partition 0 shuffles with the single-process seed of the epoch; the others with their own', () => {
    expect(partitionSeed(7, 1, 0)).toBe(7);
    expect(partitionSeed(7, 3, 0)).toBe(9);
    const seeds = new Set([0, 1, 2, 3].map((p) => partitionSeed(7, 2, p)));
    expect(seeds.size).toBe(4);
  });
});
