/**
 * The kernels' own WAT assembler (src/ops/wasm/assembleWat.ts) against wabt, the reference assembler:
 * byte for byte the same module for every kernel deltaflow generates — the GEMM at several tiles,
 * the convolution at stride-1 and strided (phase) shapes, the ReLU / pooling and per-step modules,
 * each with and without FMA — and clear errors for what it does not take.
 */
import wabtInit from 'wabt';
import { beforeAll, describe, expect, it } from 'vitest';
import { convOutSize, type ConvShape } from '../../src/ops/conv.js';
import { createRng } from '../../src/ops/random.js';
import { assembleWat, WatError } from '../../src/ops/wasm/assembleWat.js';
import { convKernelShape } from '../../src/ops/wasm/convWasm.js';
import { convWat } from '../../src/ops/wasm/convWat.js';
import { elementwiseWat } from '../../src/ops/wasm/elementwiseWasm.js';
import { gemmWat } from '../../src/ops/wasm/gemm.wat.js';
import { layoutWat } from '../../src/ops/wasm/layoutWasm.js';
import { sliceSumWat } from '../../src/ops/wasm/sliceSumWasm.js';
import { stepWat } from '../../src/ops/wasm/step.wat.js';

// NOTE: lib ES2022 and @types/node 20 do not declare WebAssembly; the members used are declared here.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Wabt;

function wabtBytes(text: string): Uint8Array {
  const mod = wabt.parseWat('kernel.wat', text, { simd: true, threads: true, relaxed_simd: true, bulk_memory: true });
  try {
    // NOTE: validate() takes a feature set (index.d.ts omits the parameter)
    (mod as unknown as { validate(features: object): void }).validate({ simd: true, threads: true, relaxed_simd: true, bulk_memory: true });
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}

function expectSameBytes(text: string, label: string): void {
  const want = wabtBytes(text);
  const got = assembleWat(text);
  if (got.length === want.length && got.every((b, i) => b === want[i])) return;
  const at = got.findIndex((b, i) => b !== want[i]);
  expect(`${label}: ${got.length} bytes, first difference at byte ${at}`).toBe(`${label}: ${want.length} bytes, no difference`);
}

function shape(m: number, cIn: number, inH: number, inW: number, cOut: number, kH: number, kW: number, pad: number, stride: number): ConvShape {
  return { m, cIn, inH, inW, cOut, kH, kW, strideH: stride, strideW: stride, padH: pad, padW: pad, outH: convOutSize(inH, kH, stride, pad), outW: convOutSize(inW, kW, stride, pad) };
}

describe('assembleWat vs wabt', () => {
  beforeAll(async () => {
    wabt = await wabtInit();
  });

  for (const fma of [false, true]) {
    it(`GEMM modules at tiles 4×8, 6×8, 3×12, 1×4 (${fma ? 'FMA' : 'no FMA'}): the same bytes`, () => {
      for (const tile of [{ mr: 4, nr: 8 }, { mr: 6, nr: 8 }, { mr: 3, nr: 12 }, { mr: 1, nr: 4 }]) expectSameBytes(gemmWat(tile, { fma }), `gemm ${tile.mr}×${tile.nr}`);
    });

    it(`convolution modules of LeNet and 40 seeded random shapes, stride 1 to 3 (${fma ? 'FMA' : 'no FMA'}): the same bytes`, () => {
      const list = [shape(64, 1, 28, 28, 6, 5, 5, 0, 1), shape(64, 6, 12, 12, 16, 5, 5, 0, 1), shape(8, 3, 32, 32, 8, 3, 3, 1, 2)];
      const rng = createRng(fma ? 8 : 9);
      while (list.length < 43) {
        const k = 1 + rng.int(5);
        const s = shape(1 + rng.int(3), 1 + rng.int(4), k + rng.int(12), k + rng.int(15), 1 + rng.int(10), k, 1 + rng.int(5), rng.int(2), 1 + rng.int(3));
        if (s.outH >= 1 && s.outW >= 1) list.push(s);
      }
      for (const s of list) expectSameBytes(convWat(convKernelShape(s, fma)), `conv ${JSON.stringify(s)}`);
    });
  }

  it('the ReLU / pooling, layout, per-step and slice-sum modules: the same bytes', () => {
    expectSameBytes(elementwiseWat(), 'elementwise');
    expectSameBytes(layoutWat(), 'layout');
    expectSameBytes(stepWat(), 'step');
    expectSameBytes(sliceSumWat(), 'sliceSum');
  });

  it('plain (unfolded) instructions, comments, hex and special float constants, param lists: the same bytes', () => {
    const text = `(module ;; a comment
      (memory (export "mem") 2 10)
      (; a block
         comment ;)
      (func $f (param i32 f32) (result f32) (local $a f32) (local $b f32) (local $n i32)
        local.get 1
        f32.const -inf
        f32.max
        (local.set $a)
        (local.set $n (i32.const 0xffffffff))
        (block $out (loop $again (br_if $out (local.get $n)) (br $again)))
        (f32.add (local.get $a) (f32.const 1.5)))
      (func (export "g") (result f32) (call $f (i32.const -7) (f32.const nan))))`;
    expectSameBytes(text, 'hand-written');
    const { g } = new WebAssembly.Instance(new WebAssembly.Module(assembleWat(text)), {}).exports;
    expect(typeof g === 'function' ? g() : 'no export g').toBeNaN();
  });

  it('rejects what it does not take, naming the line and the token', () => {
    expect(() => assembleWat('(module\n  (func (i64.popcnt (i64.const 1))))')).toThrow(new WatError('unknown instruction i64.popcnt', 2));
    expect(() => assembleWat('(module (func (local.get $missing)))')).toThrow('assembleWat: line 1: unknown local $missing');
    expect(() => assembleWat('(module (func (br $nowhere)))')).toThrow('assembleWat: line 1: unknown label $nowhere');
    expect(() => assembleWat('(module (table 1 funcref))')).toThrow('assembleWat: line 1: unsupported module field (table');
    expect(() => assembleWat('(module (func)')).toThrow('assembleWat: line 1: unbalanced (');
  });
});
