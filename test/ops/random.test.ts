import { describe, expect, it } from 'vitest';
import { heNormal, heUniform, glorotUniform } from '../../src/ops/init.js';
import { createRng, rngFromState, shuffleInPlace } from '../../src/ops/random.js';

describe('createRng', () => {
  it('the same seed gives the same sequence of next, normal and int', () => {
    const a = createRng(1234);
    const b = createRng(1234);
    for (let i = 0; i < 200; i++) {
      expect(a.next()).toBe(b.next());
      expect(a.normal()).toBe(b.normal());
      expect(a.int(17)).toBe(b.int(17));
    }
  });

  it('different seeds (including neighbours and large/negative seeds) give different sequences', () => {
    const seeds = [0, 1, 2, -1, 2 ** 40, 2 ** 40 + 1];
    const firsts = seeds.map((s) => {
      const r = createRng(s);
      return [r.next(), r.next(), r.next()].join(',');
    });
    expect(new Set(firsts).size).toBe(seeds.length);
  });

  it('next() stays in [0, 1) with a mean near 1/2', () => {
    const r = createRng(7);
    let sum = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
  });

  it('normal() has mean ≈ 0 and variance ≈ 1', () => {
    const r = createRng(8);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = r.normal();
      expect(Number.isFinite(v)).toBe(true);
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.05);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.05);
  });

  it('int(n) stays in 0..n−1, hits every value, and n = 1 always gives 0', () => {
    const r = createRng(9);
    for (const n of [1, 2, 3, 7, 10, 1000, 2 ** 31 + 1, 2 ** 32]) {
      for (let i = 0; i < 500; i++) {
        const v = r.int(n);
        expect(Number.isInteger(v) && v >= 0 && v < n, `int(${n}) gave ${v}`).toBe(true);
      }
    }
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(r.int(7));
    expect(seen.size).toBe(7);
  });

  it('int rejects n that is not an integer in 1..2^32', () => {
    const r = createRng(1);
    expect(() => r.int(0)).toThrow('Rng.int: n must be an integer in 1..2^32, got 0');
    expect(() => r.int(2.5)).toThrow('Rng.int: n must be an integer in 1..2^32, got 2.5');
  });

  it('rejects a seed that is not a safe integer', () => {
    expect(() => createRng(0.5)).toThrow('createRng: seed must be a safe integer, got 0.5');
  });
});

describe('rngFromState', () => {
  it('state() taken mid-stream, through JSON, continues the exact same sequence', () => {
    const r = createRng(99);
    for (let i = 0; i < 37; i++) r.normal();
    const saved = JSON.parse(JSON.stringify(r.state())) as number[];
    expect(saved).toHaveLength(4);
    const copy = rngFromState(saved);
    for (let i = 0; i < 100; i++) {
      expect(copy.next()).toBe(r.next());
      expect(copy.normal()).toBe(r.normal());
      expect(copy.int(1000)).toBe(r.int(1000));
    }
  });

  it('an odd number of normal() calls before saving does not desynchronise (no hidden pair cache)', () => {
    const r = createRng(5);
    r.normal();
    const copy = rngFromState(r.state());
    expect(copy.normal()).toBe(r.normal());
  });

  it('rejects a state that is not four uint32 integers', () => {
    expect(() => rngFromState([1, 2, 3])).toThrow('rngFromState: expected 4 uint32 integers, got [1, 2, 3]');
    expect(() => rngFromState([1, 2, 3, -1])).toThrow('rngFromState: expected 4 uint32 integers, got [1, 2, 3, -1]');
  });
});

describe('shuffleInPlace', () => {
  it('an Int32Array shuffle is a permutation, and deterministic for a seed', () => {
    const n = 1000;
    const a = Int32Array.from({ length: n }, (_, i) => i);
    const b = Int32Array.from({ length: n }, (_, i) => i);
    shuffleInPlace(a, createRng(3));
    shuffleInPlace(b, createRng(3));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(Array.from(a)).not.toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('shuffles a plain array of objects, and every ordering of 3 items appears', () => {
    const rng = createRng(4);
    const seen = new Set<string>();
    for (let t = 0; t < 300; t++) {
      const arr = ['a', 'b', 'c'];
      shuffleInPlace(arr, rng);
      expect([...arr].sort()).toEqual(['a', 'b', 'c']);
      seen.add(arr.join(''));
    }
    expect(seen.size).toBe(6);
  });

  it('leaves empty and one-element arrays unchanged', () => {
    const empty: number[] = [];
    shuffleInPlace(empty, createRng(1));
    expect(empty).toEqual([]);
    const one = [42];
    shuffleInPlace(one, createRng(1));
    expect(one).toEqual([42]);
  });
});

describe('initializers', () => {
  it('heUniform stays within ±√(6/fanIn) and is deterministic for a seed', () => {
    const w = heUniform(createRng(1), 24, new Float32Array(5000));
    const limit = Math.sqrt(6 / 24);
    for (const v of w) expect(Math.abs(v)).toBeLessThanOrEqual(limit);
    expect(Array.from(heUniform(createRng(1), 24, new Float32Array(5000)))).toEqual(Array.from(w));
  });

  it('heNormal has variance ≈ 2/fanIn', () => {
    const w = heNormal(createRng(2), 50, new Float32Array(20000));
    let s2 = 0;
    for (const v of w) s2 += v * v;
    expect(s2 / w.length / (2 / 50)).toBeCloseTo(1, 1);
  });

  it('glorotUniform stays within ±√(6/(fanIn+fanOut)) with variance ≈ 2/(fanIn+fanOut)', () => {
    const w = glorotUniform(createRng(3), 30, 10, new Float32Array(20000));
    const limit = Math.sqrt(6 / 40);
    let s2 = 0;
    for (const v of w) {
      expect(Math.abs(v)).toBeLessThanOrEqual(limit);
      s2 += v * v;
    }
    expect(s2 / w.length / (2 / 40)).toBeCloseTo(1, 1);
  });

  it('rejects a non-positive fanIn', () => {
    expect(() => heUniform(createRng(1), 0, new Float32Array(1))).toThrow('heUniform: fanIn must be a positive number, got 0');
  });
});
