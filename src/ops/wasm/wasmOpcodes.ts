/**
 * The WebAssembly opcodes deltaflow's kernels use — the core spec and the SIMD and relaxed-SIMD
 * proposals — with how each one's immediates are written, for the assembler (assembleWat.ts).
 * Numbers from the binary-format tables of the specifications (WebAssembly/spec: binary/instructions,
 * WebAssembly/simd: BinarySIMD.md, WebAssembly/relaxed-simd: Overview.md); test/ops/assembleWat.test.ts
 * checks every one in use against wabt.
 */

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
export const VALTYPES: Readonly<Record<ValType, number>> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

/** How an instruction's immediates are written. */
export type Imm = 'none' | 'local' | 'i32' | 'f32' | 'f64' | 'mem' | 'lane' | 'shuffle' | 'v128' | 'func' | 'label';

export interface Op {
  readonly code: readonly number[];
  readonly imm: Imm;
  /** log2 of the natural alignment, for memory instructions. */
  readonly align?: number;
}

/** An unsigned LEB128 integer (SIMD opcodes past 0x7f take two bytes). */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

const simd = (code: number, imm: Imm = 'none', align?: number): Op => ({ code: [0xfd, ...uleb(code)], imm, align });
const plain = (code: number, imm: Imm = 'none', align?: number): Op => ({ code: [code], imm, align });

/** The opcodes the generated kernels use (core spec and the SIMD / relaxed-SIMD proposals). */
export const OPS: Readonly<Record<string, Op>> = {
  br: plain(0x0c, 'label'),
  br_if: plain(0x0d, 'label'),
  call: plain(0x10, 'func'),
  drop: plain(0x1a),
  select: plain(0x1b),
  'local.get': plain(0x20, 'local'),
  'local.set': plain(0x21, 'local'),
  'local.tee': plain(0x22, 'local'),
  'i32.load': plain(0x28, 'mem', 2),
  'f32.load': plain(0x2a, 'mem', 2),
  'f64.load': plain(0x2b, 'mem', 3),
  'i32.store': plain(0x36, 'mem', 2),
  'f32.store': plain(0x38, 'mem', 2),
  'f64.store': plain(0x39, 'mem', 3),
  'i32.const': plain(0x41, 'i32'),
  'f32.const': plain(0x43, 'f32'),
  'f64.const': plain(0x44, 'f64'),
  'i32.eqz': plain(0x45),
  'i32.eq': plain(0x46),
  'i32.ne': plain(0x47),
  'i32.lt_s': plain(0x48),
  'i32.lt_u': plain(0x49),
  'i32.gt_s': plain(0x4a),
  'i32.gt_u': plain(0x4b),
  'i32.le_s': plain(0x4c),
  'i32.le_u': plain(0x4d),
  'i32.ge_s': plain(0x4e),
  'i32.ge_u': plain(0x4f),
  'f32.ne': plain(0x5c),
  'i32.add': plain(0x6a),
  'i32.sub': plain(0x6b),
  'i32.mul': plain(0x6c),
  'i32.and': plain(0x71),
  'i32.or': plain(0x72),
  'i32.shl': plain(0x74),
  'i32.shr_s': plain(0x75),
  'i32.shr_u': plain(0x76),
  'f32.abs': plain(0x8b),
  'f32.add': plain(0x92),
  'f32.sub': plain(0x93),
  'f32.mul': plain(0x94),
  'f32.div': plain(0x95),
  'f32.min': plain(0x96),
  'f32.max': plain(0x97),
  'f64.sqrt': plain(0x9f),
  'f64.add': plain(0xa0),
  'f64.sub': plain(0xa1),
  'f64.mul': plain(0xa2),
  'f64.div': plain(0xa3),
  'f32.demote_f64': plain(0xb6),
  'f64.promote_f32': plain(0xbb),
  'f32.reinterpret_i32': plain(0xbe),
  // bulk memory: 0xfc 11, then the memory index 0
  'memory.fill': { code: [0xfc, 0x0b, 0x00], imm: 'none' },
  'v128.load': simd(0x00, 'mem', 4),
  'v128.load32_splat': simd(0x09, 'mem', 2),
  'v128.store': simd(0x0b, 'mem', 4),
  'v128.const': simd(0x0c, 'v128'),
  'i8x16.shuffle': simd(0x0d, 'shuffle'),
  'i32x4.splat': simd(0x11),
  'f32x4.splat': simd(0x13),
  'f64x2.splat': simd(0x14),
  'i32x4.extract_lane': simd(0x1b, 'lane'),
  'f32x4.extract_lane': simd(0x1f, 'lane'),
  'f64x2.extract_lane': simd(0x21, 'lane'),
  'i32x4.eq': simd(0x37),
  'f32x4.eq': simd(0x41),
  'f32x4.ne': simd(0x42),
  'f32x4.lt': simd(0x43),
  'f32x4.gt': simd(0x44),
  'v128.not': simd(0x4d),
  'v128.and': simd(0x4e),
  'v128.andnot': simd(0x4f),
  'v128.or': simd(0x50),
  'v128.xor': simd(0x51),
  'v128.bitselect': simd(0x52),
  'v128.any_true': simd(0x53),
  'f32x4.demote_f64x2_zero': simd(0x5e),
  'f64x2.promote_low_f32x4': simd(0x5f),
  'i32x4.add': simd(0xae),
  'i32x4.sub': simd(0xb1),
  'i32x4.min_s': simd(0xb6),
  'i32x4.min_u': simd(0xb7),
  'i32x4.max_s': simd(0xb8),
  'i32x4.max_u': simd(0xb9),
  'f32x4.abs': simd(0xe0),
  'f32x4.add': simd(0xe4),
  'f32x4.sub': simd(0xe5),
  'f32x4.mul': simd(0xe6),
  'f32x4.div': simd(0xe7),
  'f32x4.min': simd(0xe8),
  'f32x4.max': simd(0xe9),
  'f64x2.sqrt': simd(0xef),
  'f64x2.add': simd(0xf0),
  'f64x2.sub': simd(0xf1),
  'f64x2.mul': simd(0xf2),
  'f64x2.div': simd(0xf3),
  'f32x4.relaxed_madd': simd(0x105),
};
