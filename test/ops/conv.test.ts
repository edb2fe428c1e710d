import { describe, expect, it } from 'vitest';
import {
  col2im,
  conv2dDeltaX,
  conv2dDeltaXNaive,
  conv2dForward,
  conv2dForwardNaive,
  conv2dGradB,
  conv2dGradBNaive,
  conv2dGradW,
  conv2dGradWNaive,
  convOutSize,
  dilate,
  fullConv,
  im2col,
  padPlane,
  planeAt,
  rot180,
  rot180Plane,
  validCorr,
  type ConvShape,
} from '../../src/ops/conv.js';
import { createRng, type Rng } from '../../src/ops/random.js';
import { Workspace } from '../../src/ops/tensor.js';

function convShape(
  m: number,
  cIn: number,
  inH: number,
  inW: number,
  cOut: number,
  kH: number,
  kW: number,
  strideH: number,
  strideW: number,
  padH: number,
  padW: number,
): ConvShape {
  return {
    m, cIn, inH, inW, cOut, kH, kW, strideH, strideW, padH, padW,
    outH: convOutSize(inH, kH, strideH, padH),
    outW: convOutSize(inW, kW, strideW, padW),
  };
}

const describeShape = (s: ConvShape): string =>
  `m=${s.m} c=${s.cIn}→${s.cOut} in=${s.inH}×${s.inW} k=${s.kH}×${s.kW} stride=${s.strideH}×${s.strideW} pad=${s.padH}×${s.padW}`;

const sizes = (s: ConvShape) => ({
  x: s.m * s.cIn * s.inH * s.inW,
  W: s.cOut * s.cIn * s.kH * s.kW,
  z: s.m * s.cOut * s.outH * s.outW,
});

function randomArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rng.next() - 1;
  return x;
}

/** Multiples of 1/4 in [−2, 2]: products and short sums of these are exact in float32. */
function dyadicArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (rng.int(17) - 8) / 4;
  return x;
}

function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `${name}: max |diff| at index ${at}: got ${got[at]}, want ${want[at]}`).toBeLessThanOrEqual(tol);
}

/** Seeded random shapes: m 1–3, channels 1–4, kernels 1×1–5×5 (non-square too), strides 1–3, paddings 0–2. */
function randomShapes(seed: number, count: number): ConvShape[] {
  const rng = createRng(seed);
  const shapes: ConvShape[] = [];
  while (shapes.length < count) {
    const kH = 1 + rng.int(5);
    const kW = 1 + rng.int(5);
    const padH = rng.int(3);
    const padW = rng.int(3);
    const inH = Math.max(1, kH - 2 * padH + rng.int(8));
    const inW = Math.max(1, kW - 2 * padW + rng.int(8));
    const s = convShape(1 + rng.int(3), 1 + rng.int(4), inH, inW, 1 + rng.int(4), kH, kW, 1 + rng.int(3), 1 + rng.int(3), padH, padW);
    if (s.outH >= 1 && s.outW >= 1) shapes.push(s);
  }
  // fixed corners: 1×1 stride 1 (the no-im2col path), LeNet-like 5×5, stride 2 + pad 1 with non-divisible sizes
  shapes.push(
    convShape(2, 3, 5, 4, 2, 1, 1, 1, 1, 0, 0),
    convShape(2, 1, 12, 12, 4, 5, 5, 1, 1, 0, 0),
    convShape(3, 2, 6, 7, 3, 3, 3, 2, 2, 1, 1),
    convShape(1, 2, 7, 5, 2, 2, 4, 3, 1, 0, 2),
  );
  return shapes;
}

describe('conv fast kernels vs loop oracles', () => {
  const shapes = randomShapes(17, 60);

  it('conv2dForward matches conv2dForwardNaive (3.5) on 64 seeded shapes', () => {
    const rng = createRng(1);
    for (const s of shapes) {
      const n = sizes(s);
      const x = randomArray(rng, n.x);
      const W = randomArray(rng, n.W);
      const b = randomArray(rng, s.cOut);
      const scale = s.cIn * s.kH * s.kW + 1;
      expectClose(`z ${describeShape(s)}`, conv2dForward(x, W, b, s), conv2dForwardNaive(x, W, b, s), 1e-6 * scale);
    }
  });

  it('conv2dDeltaX matches conv2dDeltaXNaive (3.6) on 64 seeded shapes', () => {
    const rng = createRng(2);
    for (const s of shapes) {
      const n = sizes(s);
      const deltaZ = randomArray(rng, n.z);
      const W = randomArray(rng, n.W);
      const scale = s.cOut * s.kH * s.kW + 1;
      expectClose(`δx ${describeShape(s)}`, conv2dDeltaX(deltaZ, W, s), conv2dDeltaXNaive(deltaZ, W, s), 1e-6 * scale);
    }
  });

  it('conv2dGradW and conv2dGradB match their oracles (3.7) on 64 seeded shapes', () => {
    const rng = createRng(3);
    for (const s of shapes) {
      const n = sizes(s);
      const x = randomArray(rng, n.x);
      const deltaZ = randomArray(rng, n.z);
      const scale = s.m * s.outH * s.outW + 1;
      expectClose(`dW ${describeShape(s)}`, conv2dGradW(x, deltaZ, s), conv2dGradWNaive(x, deltaZ, s), 1e-6 * scale);
      expectClose(`db ${describeShape(s)}`, conv2dGradB(deltaZ, s), conv2dGradBNaive(deltaZ, s), 1e-6 * scale);
    }
  });

  it('with a Workspace and stale out buffers the fast kernels give the same numbers (they overwrite)', () => {
    const rng = createRng(4);
    const ws = new Workspace();
    for (const s of shapes.slice(0, 10)) {
      const n = sizes(s);
      const x = randomArray(rng, n.x);
      const W = randomArray(rng, n.W);
      const b = randomArray(rng, s.cOut);
      const deltaZ = randomArray(rng, n.z);
      const tag = describeShape(s);
      expectClose(`z ${tag}`, conv2dForward(x, W, b, s, new Float32Array(n.z).fill(7), ws), conv2dForward(x, W, b, s), 0);
      expectClose(`δx ${tag}`, conv2dDeltaX(deltaZ, W, s, new Float32Array(n.x).fill(7), ws), conv2dDeltaX(deltaZ, W, s), 0);
      expectClose(`dW ${tag}`, conv2dGradW(x, deltaZ, s, new Float32Array(n.W).fill(7), ws), conv2dGradW(x, deltaZ, s), 0);
      expectClose(`db ${tag}`, conv2dGradB(deltaZ, s, new Float32Array(s.cOut).fill(7)), conv2dGradB(deltaZ, s), 0);
    }
  });

  it('col2im is the transpose of im2col: ⟨im2col(x), C⟩ = ⟨x, col2im(C)⟩ with stride 2 and padding', () => {
    const rng = createRng(5);
    const s = convShape(2, 3, 7, 6, 1, 3, 2, 2, 3, 1, 2);
    const x = randomArray(rng, sizes(s).x);
    const rows = s.cIn * s.kH * s.kW;
    const cols = s.outH * s.outW;
    const C = randomArray(rng, rows * cols);
    for (let n = 0; n < s.m; n++) {
      const unfolded = im2col(x, s, n);
      let lhs = 0;
      for (let i = 0; i < C.length; i++) lhs += unfolded[i] * C[i];
      const folded = col2im(C, s, n, new Float32Array(sizes(s).x));
      let rhs = 0;
      for (let i = 0; i < x.length; i++) rhs += x[i] * folded[i];
      expect(Math.abs(lhs - rhs), `sample ${n}: ${lhs} vs ${rhs}`).toBeLessThan(1e-4);
    }
  });
});

describe('conv worked examples (MATH.md §3, §5)', () => {
  // 3×3 input, 2×2 kernel, stride 1, no padding
  const s = convShape(1, 1, 3, 3, 1, 2, 2, 1, 1, 0, 0);
  const w = Float32Array.from([1, 2, 3, 4]); // w[0,0]=1 w[0,1]=2 w[1,0]=3 w[1,1]=4
  const deltaZ = Float32Array.from([5, 6, 7, 8]); // δz[0,0]=5 δz[0,1]=6 δz[1,0]=7 δz[1,1]=8

  it('rot180 of a 2×3 kernel [[1,2,3],[4,5,6]] is [[6,5,4],[3,2,1]]', () => {
    const s23 = convShape(1, 1, 3, 3, 1, 2, 3, 1, 1, 0, 0);
    expect(Array.from(rot180(Float32Array.from([1, 2, 3, 4, 5, 6]), s23))).toEqual([6, 5, 4, 3, 2, 1]);
    expect(Array.from(rot180Plane(planeAt([1, 2, 3, 4, 5, 6], 0, 2, 3)).data)).toEqual([6, 5, 4, 3, 2, 1]);
  });

  it('forward 3×3 input, 2×2 kernel, stride 1, no padding: z[0,0] = 1·1 + 2·2 + 4·3 + 5·4 = 37', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const b = Float32Array.from([0.5]);
    expect(Array.from(conv2dForwardNaive(x, w, b, s))).toEqual([37.5, 47.5, 67.5, 77.5]);
    expect(Array.from(conv2dForward(x, w, b, s))).toEqual([37.5, 47.5, 67.5, 77.5]);
    expect(Array.from(validCorr(planeAt(x, 0, 3, 3), planeAt(w, 0, 2, 2)).data)).toEqual([37, 47, 67, 77]);
  });

  it('delta 3×3 input, 2×2 kernel: a corner is one product δz[0,0]·w[0,0], an edge input the sum of two', () => {
    for (const deltaX of [conv2dDeltaXNaive(deltaZ, w, s), conv2dDeltaX(deltaZ, w, s)]) {
      expect(deltaX[0]).toBe(5 * 1); // δa[0,0] = δz[0,0]·w[0,0]
      expect(deltaX[1]).toBe(5 * 2 + 6 * 1); // δa[0,1] = δz[0,0]·w[0,1] + δz[0,1]·w[0,0]
      expect(deltaX[8]).toBe(8 * 4); // δa[2,2] = δz[1,1]·w[1,1]
      expect(deltaX[4]).toBe(5 * 4 + 6 * 3 + 7 * 2 + 8 * 1); // the centre is fed by all four outputs
      expect(Array.from(deltaX)).toEqual([5, 16, 12, 22, 60, 40, 21, 52, 32]);
    }
  });

  it('(3.2) fullConv(δz, rot180(w)) on the 2×2 delta gives the same 3×3 input delta', () => {
    const full = fullConv(planeAt(deltaZ, 0, 2, 2), rot180Plane(planeAt(w, 0, 2, 2)));
    expect([full.h, full.w]).toEqual([3, 3]);
    expect(Array.from(full.data)).toEqual([5, 16, 12, 22, 60, 40, 21, 52, 32]);
  });

  it('(3.3) kernel gradient 3×3 input, 2×2 kernel: dW[u,v] = Σ δz[i,j]·a[i+u,j+v]', () => {
    const x = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // dW[0,0] = 5·1 + 6·2 + 7·4 + 8·5 = 85, dW[0,1] = 5·2+6·3+7·5+8·6 = 111, dW[1,0] = 163, dW[1,1] = 189
    expect(Array.from(conv2dGradWNaive(x, deltaZ, s))).toEqual([85, 111, 163, 189]);
    expect(Array.from(conv2dGradW(x, deltaZ, s))).toEqual([85, 111, 163, 189]);
    expect(Array.from(conv2dGradB(deltaZ, s))).toEqual([26]);
  });

  it('dilate by 2×3 inserts one zero row and two zero columns between entries', () => {
    const d = dilate(planeAt([1, 2, 3, 4], 0, 2, 2), 2, 3);
    expect([d.h, d.w]).toEqual([3, 4]);
    expect(Array.from(d.data)).toEqual([1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 4]);
    const p = padPlane(planeAt([1], 0, 1, 1), 1, 2);
    expect([p.h, p.w]).toEqual([3, 5]);
    expect(Array.from(p.data)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('stride 2 on a 4-wide row with a 1-wide kernel never reads the last column, so its δx is 0', () => {
    const s2 = convShape(1, 1, 1, 4, 1, 1, 1, 1, 2, 0, 0); // outputs read columns 0 and 2
    const deltaX = conv2dDeltaXNaive(Float32Array.from([1, 1]), Float32Array.from([3]), s2);
    expect(Array.from(deltaX)).toEqual([3, 0, 3, 0]);
    expect(Array.from(conv2dDeltaX(Float32Array.from([1, 1]), Float32Array.from([3]), s2))).toEqual([3, 0, 3, 0]);
  });
});

describe('conv oracles vs central finite differences (float64 loss Σ r·z)', () => {
  // With inputs in multiples of 1/4 every z is exact in float32, and z is linear in x and W,
  // so a central difference with h = 1 is the exact derivative.
  const configs = [
    convShape(2, 2, 6, 5, 3, 3, 2, 2, 2, 1, 1), // stride 2 + padding 1, (6+2−3)%2 ≠ 0 and (5+2−2)%2 ≠ 0
    convShape(1, 3, 7, 4, 2, 2, 3, 3, 1, 0, 2), // non-square stride 3×1, padding 0×2, 7 rows never fully covered
    convShape(2, 1, 4, 4, 2, 3, 3, 1, 1, 2, 2), // padding 2 with a 3×3 kernel: windows of mostly zeros
  ];

  function loss(x: Float32Array, W: Float32Array, b: Float32Array, r: Float32Array, s: ConvShape): number {
    const z = conv2dForwardNaive(x, W, b, s);
    let sum = 0;
    for (let i = 0; i < z.length; i++) sum += r[i] * z[i];
    return sum;
  }

  function relErr(a: number, n: number): number {
    return Math.abs(a - n) / Math.max(1, Math.abs(a) + Math.abs(n));
  }

  for (const s of configs) {
    it(`δx, dW and db agree with numeric derivatives for ${describeShape(s)}`, () => {
      const rng = createRng(31);
      const n = sizes(s);
      const x = dyadicArray(rng, n.x);
      const W = dyadicArray(rng, n.W);
      const b = dyadicArray(rng, s.cOut);
      const r = dyadicArray(rng, n.z); // r = δz = ∂(Σ r·z)/∂z
      const h = 1;
      const checks: [string, Float32Array, Float32Array][] = [
        ['δx', x, conv2dDeltaXNaive(r, W, s)],
        ['dW', W, conv2dGradWNaive(x, r, s)],
        ['db', b, conv2dGradBNaive(r, s)],
      ];
      for (const [name, param, analytic] of checks) {
        for (let i = 0; i < param.length; i++) {
          const keep = param[i];
          param[i] = keep + h;
          const up = loss(x, W, b, r, s);
          param[i] = keep - h;
          const down = loss(x, W, b, r, s);
          param[i] = keep;
          const numeric = (up - down) / (2 * h);
          expect(relErr(analytic[i], numeric), `${name}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`).toBeLessThan(1e-6);
        }
      }
    });
  }
});

describe('conv shape checks', () => {
  it('convOutSize is floor((in + 2·pad − k)/stride) + 1', () => {
    expect(convOutSize(28, 5, 1, 0)).toBe(24);
    expect(convOutSize(6, 3, 2, 1)).toBe(3);
    expect(convOutSize(5, 3, 2, 1)).toBe(3);
    expect(convOutSize(7, 2, 3, 0)).toBe(2);
  });

  it('throws a ShapeError when outH/outW disagree with the window arithmetic', () => {
    const s = { ...convShape(1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0), outW: 4 };
    expect(() => conv2dForward(new Float32Array(25), new Float32Array(9), new Float32Array(1), s)).toThrow(
      'conv2dForward: expected shape [3, 3], got [3, 4] (outH/outW must be floor((in + 2·pad − k)/stride) + 1)',
    );
  });

  it('throws a ShapeError naming W when the kernel has the wrong length', () => {
    const s = convShape(1, 2, 5, 5, 3, 3, 3, 1, 1, 0, 0);
    expect(() => conv2dForward(new Float32Array(50), new Float32Array(53), new Float32Array(3), s)).toThrow(
      'conv2dForward: expected shape [3, 2, 3, 3], got [53] (W)',
    );
  });

  it('throws a ShapeError when the kernel is larger than the padded input', () => {
    const s: ConvShape = { ...convShape(1, 1, 2, 2, 1, 1, 1, 1, 1, 0, 0), kH: 3, outH: 0 };
    expect(() => conv2dGradB(new Float32Array(0), s)).toThrow('conv2dGradB: expected shape kernel ≤ padded input, got kernel 3×1 on padded input 2×2');
  });
});
