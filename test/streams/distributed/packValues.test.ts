/**
 * The compact form of task rows against the obvious oracle: unpacking gives back every value's exact
 * 32-bit pattern (-0, subnormals and NaN payloads included), the size is 4 + 4k + n, more than 256
 * distinct values have no packed form, and damaged bytes are an error naming what.
 */
import { describe, expect, it } from 'vitest';
import { packValues, unpackValues } from '../../../src/streams/distributed/packValues.js';

const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('packValues', () => {
  it('round-trips image rows scaled from bytes, bit for bit, in 4 + 4k + n bytes', () => {
    const n = 3 * 784;
    const x = new Float32Array(n);
    let seed = 7;
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      x[i] = (seed >>> 24) * (1 / 255);
    }
    const distinct = new Set(bitsOf(x)).size;
    const packed = packValues(x);
    expect(packed).not.toBeNull();
    expect(packed?.length).toBe(4 + 4 * distinct + n);
    const back = unpackValues(packed ?? Buffer.alloc(0), n, 'test');
    expect(bitsOf(back)).toEqual(bitsOf(x));
  });

  it('runs of one value (an image background), 0 next to -0, and a leading run of 0 come back bit for bit', () => {
    const runs: [number, number][] = [[0, 40], [0x80000000, 3], [0, 5], [0x3f800000, 7], [0x7fc00001, 4], [0x7fc00002, 4], [0, 100], [0x3b808081, 1], [0x3b808081, 9]];
    const bits = Uint32Array.from(runs.flatMap(([v, n]) => new Array<number>(n).fill(v)));
    const x = new Float32Array(bits.buffer);
    const packed = packValues(x);
    expect(packed?.length).toBe(4 + 4 * 6 + bits.length);
    expect(bitsOf(unpackValues(packed ?? Buffer.alloc(0), x.length, 'test'))).toEqual(Array.from(bits));
  });

  it('keeps -0, subnormals, infinities and NaN payloads as their bits', () => {
    const bits = new Uint32Array([0x80000000, 0, 1, 0x7f800000, 0xff800000, 0x7fc00001, 0xffc12345, 0x3f800000, 0x80000000, 0x7fc00001]);
    const x = new Float32Array(bits.buffer);
    const back = unpackValues(packValues(x) ?? Buffer.alloc(0), x.length, 'test');
    expect(bitsOf(back)).toEqual(Array.from(bits));
  });

  it('reads from an unaligned view, and packs a view into a larger array', () => {
    const big = new Float32Array([9, 1, 2, 1, 2, 9]);
    const view = big.subarray(1, 5);
    const packed = packValues(view);
    const shifted = Buffer.concat([Buffer.from([0]), packed ?? Buffer.alloc(0)]).subarray(1);
    expect(Array.from(unpackValues(shifted, 4, 'test'))).toEqual([1, 2, 1, 2]);
  });

  it('has no packed form past 256 distinct values (exactly 256 still packs)', () => {
    expect(packValues(Float32Array.from({ length: 256 }, (_, i) => i))).not.toBeNull();
    expect(packValues(Float32Array.from({ length: 257 }, (_, i) => i))).toBeNull();
  });

  it('damaged bytes are an error naming what, never wrong values', () => {
    const packed = packValues(new Float32Array([0.5, 0.25, 0.5])) ?? Buffer.alloc(0);
    expect(() => unpackValues(packed, 4, 'task 17-0 x')).toThrow('task 17-0 x: 15 bytes are not 4 packed float32 values (table of 2)');
    const bad = Buffer.from(packed);
    bad[bad.length - 1] = 5;
    expect(() => unpackValues(bad, 3, 'task 17-0 x')).toThrow('task 17-0 x: value 2 names table entry 5 of 2');
    expect(() => unpackValues(Buffer.alloc(2), 0, 'x')).toThrow('x: 2 bytes are not 0 packed float32 values (table of ?)');
  });
});
