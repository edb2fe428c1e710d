/**
 * sumTwoWasm (src/ops/wasm/sliceSumWasm.ts) against sumSlices, the gradient pool's float64
 * reduction: bitwise the same float32 for every pair, the tricky values included, resident or not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initKernels } from '../../src/ops/kernels.js';
import { createRng, type Rng } from '../../src/ops/random.js';
import { Workspace } from '../../src/ops/tensor.js';
import { residentAddress, residentF32 } from '../../src/ops/wasm/kernelMemory.js';
import { sumTwoWasm } from '../../src/ops/wasm/sliceSumWasm.js';
import { sumSlices } from '../../src/streams/parallel/sumSlices.js';

/** ±0, the smallest and largest subnormals, ±Infinity, ±max, and values whose sums round (ties included). */
const SPECIALS = [0, -0, 1.401298464324817e-45, -1.401298464324817e-45, 1.1754942106924411e-38, Infinity, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38, 1, -1, 1.0000001192092896, 5.960464477539063e-8, 16777216, 1];

function values(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.int(4);
    // specials, then numbers of one scale, then of very different scales (the sums that round)
    x[i] = r === 0 ? SPECIALS[rng.int(SPECIALS.length)] : r === 1 ? rng.normal() : rng.normal() * 2 ** (rng.int(80) - 40);
  }
  return x;
}

const bits = (x: Float32Array): number[] => Array.from(new Int32Array(x.buffer, x.byteOffset, x.length));

describe('sumTwoWasm', () => {
  let hasWasm = false;
  beforeAll(async () => {
    hasWasm = await initKernels();
  });

  it('is bitwise sumSlices with one worker: lengths 0 to 67, g0 resident or not, g1 at an offset in a block', () => {
    if (!hasWasm) return;
    const rng = createRng(3);
    const ws = new Workspace();
    for (let n = 0; n < 68; n++) {
      for (const isResident of [true, false]) {
        const g0Values = values(rng, n);
        const g0 = isResident ? residentF32(n) : new Float32Array(n);
        if (g0 === null) throw new Error('no kernel memory');
        g0.set(g0Values);
        const at = rng.int(9);
        // a worker's gradient area: this tensor at `at`, other gradients around it, 4 floats of padding
        const area = residentF32(at + n + 5 + 4);
        if (area === null) throw new Error('no kernel memory');
        area.set(values(rng, area.length));
        const out = ws.residentF32(`out ${n} ${isResident}`, n);
        const want = new Float32Array(n);
        sumSlices(want, g0, [area.subarray(0, at + n + 5)], at);
        expect(sumTwoWasm(out, g0, residentAddress(area) + 4 * at)).toBe(true);
        expect(bits(out)).toEqual(bits(want));
      }
    }
  });

  it('says false, writing nothing, when out is not resident', () => {
    if (!hasWasm) return;
    const out = new Float32Array([7, 7]);
    const g1 = residentF32(2 + 4);
    if (g1 === null) throw new Error('no kernel memory');
    expect(sumTwoWasm(out, new Float32Array([1, 2]), residentAddress(g1))).toBe(false);
    expect(Array.from(out)).toEqual([7, 7]);
  });

  it('refuses a g1 address outside the kernel memory and mismatched lengths', () => {
    if (!hasWasm) return;
    const out = new Workspace().residentF32('out', 4);
    expect(() => sumTwoWasm(out, new Float32Array(4), -16)).toThrow('sumTwoWasm: g1 at byte -16 (4 floats) is not inside the kernel memory');
    expect(() => sumTwoWasm(out, new Float32Array(3), 64)).toThrow('sumTwoWasm: out has 4 elements, g0 3');
  });
});
