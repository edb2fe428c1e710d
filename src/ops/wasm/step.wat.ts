/**
 * WebAssembly text (WAT) of the per-step kernels: the gradient averaging of averageGradients and the
 * optimizer update of applyOptimizer, each one pass over a parameter tensor. stepWasm.ts assembles
 * the module once per thread on the kernel memory (kernelMemory.ts) and drives it.
 *
 *   avgDirect(g, avg, n, count, recip) avg = float32(g / count); returns Σ avg² (f64)          (1.6)
 *                                      (recip = 1/count when exact, else 0: then a multiply)
 *   accumulate(g, s, n)                s += g (f64 sums); returns Σ g (f64, for the finite check)
 *   divideSums(s, avg, n, count)       avg = float32(s / count), s = 0; returns Σ avg² (f64)
 *   maxAbs(x, n)                       max |x| (f32; NaN when some x is NaN; 0 when n = 0)
 *   minBits(x, n)                      the least x with −0 below +0: negative (or −NaN) when some x
 *                                      is negative or −0, otherwise min x (+Inf when n = 0)
 *   sgd(p, g, n, lr, f)                p = float32(p − lr·ĝ)                                   (1.6)
 *   momentum(p, g, v, n, lr, μ, f)     v = float32(μ·v + ĝ);  p = float32(p − lr·v)
 *   adam(p, g, m, v, n, β1, 1−β1, β2, 1−β2, stepSize, √(1−β2^t), ε, f)
 *                                      m = float32(β1·m + (1−β1)·ĝ);  v = float32(β2·v + ((1−β2)·ĝ)·ĝ)
 *                                      p = float32(p − (stepSize·m) / (√v / √(1−β2^t) + ε))
 *   with ĝ = float32(g · f), f the clipping factor (1 when not clipping: g · 1 = g exactly).
 *
 * Numbers — bitwise those of the TypeScript loops (averaging.ts, optimizers.ts), which compute each
 * element in float64 and round once when storing: the update kernels do the same float64 operations
 * in the same order on f64x2 lanes (promote f32 → f64, mul/add/sub/div/sqrt in f64, demote with
 * round-to-nearest), and IEEE operations give the same bits wherever they run. The average of
 * `avgDirect` divides in float32 (f32x4.div): float32(g / count) computed in float64 and rounded
 * again is the correctly rounded float32 quotient (53 ≥ 2·24 + 2, so the double rounding is
 * innocuous), which is what f32x4.div returns. The one difference is the ORDER of the Σ avg² sums:
 * eight float64 partial sums (two f64x2 per f32x4 pair of vectors, lanes i mod 8), combined as
 * ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)), then the tail's serial sum; the TypeScript loop
 * sums serially. Both are within (n − 1)·2⁻⁵³·Σ of the exact sum of these exact squares (the square
 * of a float32 is exact in float64), so they differ by at most 2(n − 1)·2⁻⁵³ relative
 * (test/ops/stepWasm.test.ts checks it).
 *
 * Layout: every address is a byte offset of a 16-byte aligned f32 (f64 for `s`) array in the
 * kernel memory; n is the element count. Vectors of 4 elements first, then the n % 4 tail element
 * by element — nothing is read or written past n.
 */

/** The high two f32 lanes of a v128 moved low, ready for f64x2.promote_low_f32x4. */
const HIGH = '8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15';
/** Two demoted f64x2 ([a, b, 0, 0] and [c, d, 0, 0]) joined into [a, b, c, d]. */
const JOIN = '0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23';

const lo = (v: string): string => `(f64x2.promote_low_f32x4 ${v})`;
const hi = (v: string): string => `(f64x2.promote_low_f32x4 (i8x16.shuffle ${HIGH} ${v} ${v}))`;

/**
 * A loop over the n/4 vectors then the n % 4 tail. `vector` and `scalar` are bodies for one vector
 * and one element; pointers named in `ptrs` (locals holding byte addresses) advance by `step` bytes
 * per element (4 for f32, 8 for f64).
 */
function loops(ptrs: readonly (readonly [string, number])[], vector: string, scalar: string): string {
  const advance = (k: number): string => ptrs.map(([p, step]) => `(local.set ${p} (i32.add (local.get ${p}) (i32.const ${step * k})))`).join('\n        ');
  return `(local.set $nv (i32.shr_u (local.get $n) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $vdone
      (loop $vecs
        (br_if $vdone (i32.ge_u (local.get $i) (local.get $nv)))
        ${vector}
        ${advance(4)}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $vecs)))
    (local.set $i (i32.shl (local.get $nv) (i32.const 2)))
    (block $sdone
      (loop $tail
        (br_if $sdone (i32.ge_u (local.get $i) (local.get $n)))
        ${scalar}
        ${advance(1)}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))`;
}

/** Σ of four f64x2 accumulators $q0..$q3 in the documented order, plus the tail's $t. */
const SUM8 =
  '(f64.add (f64.add (f64.add (f64.add (f64x2.extract_lane 0 (local.get $q0)) (f64x2.extract_lane 1 (local.get $q0))) (f64.add (f64x2.extract_lane 0 (local.get $q1)) (f64x2.extract_lane 1 (local.get $q1))))' +
  ' (f64.add (f64.add (f64x2.extract_lane 0 (local.get $q2)) (f64x2.extract_lane 1 (local.get $q2))) (f64.add (f64x2.extract_lane 0 (local.get $q3)) (f64x2.extract_lane 1 (local.get $q3))))) (local.get $t))';

/**
 * Squares of a f32x4 `$a` into the accumulators: lanes 0–1 into $q(2k), 2–3 into $q(2k+1), k = $i % 2
 * (so consecutive vectors feed different accumulators and the add chains overlap).
 */
const squares = `(if (i32.and (local.get $i) (i32.const 1))
          (then
            (local.set $q2 (f64x2.add (local.get $q2) (f64x2.mul ${lo('(local.get $a)')} ${lo('(local.get $a)')})))
            (local.set $q3 (f64x2.add (local.get $q3) (f64x2.mul ${hi('(local.get $a)')} ${hi('(local.get $a)')}))))
          (else
            (local.set $q0 (f64x2.add (local.get $q0) (f64x2.mul ${lo('(local.get $a)')} ${lo('(local.get $a)')})))
            (local.set $q1 (f64x2.add (local.get $q1) (f64x2.mul ${hi('(local.get $a)')} ${hi('(local.get $a)')})))))`;

const sumLocals = '(local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $t f64) (local $a v128) (local $x f32)';

/**
 * The vector body of avgDirect dividing by `count` or, when `$recip` = 1/count is exact (count a
 * power of two: the host passes 0 otherwise), multiplying by it: g·2⁻ᵏ and g / 2ᵏ are the same
 * exact value rounded once, so the bits are the same, at a fraction of f32x4.div's cost.
 */
const avgDirectLoops = (isMul: boolean): string =>
  loops(
    [
      ['$g', 4],
      ['$avg', 4],
    ],
    `(local.set $a (${isMul ? 'f32x4.mul' : 'f32x4.div'} (v128.load (local.get $g)) (local.get $c)))
        (v128.store (local.get $avg) (local.get $a))
        ${squares}`,
    `(local.set $x (f32.div (f32.load (local.get $g)) (local.get $count)))
        (f32.store (local.get $avg) (local.get $x))
        (local.set $t (f64.add (local.get $t) (f64.mul (f64.promote_f32 (local.get $x)) (f64.promote_f32 (local.get $x)))))`,
  );

const AVG_DIRECT = `
  (func (export "avgDirect") (param $g i32) (param $avg i32) (param $n i32) (param $count f32) (param $recip f32) (result f64)
    (local $i i32) (local $nv i32) (local $c v128) ${sumLocals}
    (if (f32.ne (local.get $recip) (f32.const 0))
      (then
        (local.set $c (f32x4.splat (local.get $recip)))
        ${avgDirectLoops(true)})
      (else
        (local.set $c (f32x4.splat (local.get $count)))
        ${avgDirectLoops(false)}))
    ${SUM8})
`;

const ACCUMULATE = `
  (func (export "accumulate") (param $g i32) (param $s i32) (param $n i32) (result f64)
    (local $i i32) (local $nv i32) (local $a v128) (local $q0 v128) (local $q1 v128) (local $t f64)
    ${loops(
      [
        ['$g', 4],
        ['$s', 8],
      ],
      `(local.set $a (v128.load (local.get $g)))
        (v128.store (local.get $s) (f64x2.add (v128.load (local.get $s)) ${lo('(local.get $a)')}))
        (v128.store offset=16 (local.get $s) (f64x2.add (v128.load offset=16 (local.get $s)) ${hi('(local.get $a)')}))
        (local.set $q0 (f64x2.add (local.get $q0) ${lo('(local.get $a)')}))
        (local.set $q1 (f64x2.add (local.get $q1) ${hi('(local.get $a)')}))`,
      `(f64.store (local.get $s) (f64.add (f64.load (local.get $s)) (f64.promote_f32 (f32.load (local.get $g)))))
        (local.set $t (f64.add (local.get $t) (f64.promote_f32 (f32.load (local.get $g)))))`,
    )}
    (f64.add (f64.add (f64.add (f64x2.extract_lane 0 (local.get $q0)) (f64x2.extract_lane 1 (local.get $q0)))
                      (f64.add (f64x2.extract_lane 0 (local.get $q1)) (f64x2.extract_lane 1 (local.get $q1))))
             (local.get $t)))
`;

const DIVIDE_SUMS = `
  (func (export "divideSums") (param $s i32) (param $avg i32) (param $n i32) (param $count f64) (result f64)
    (local $i i32) (local $nv i32) (local $c v128) ${sumLocals}
    (local.set $c (f64x2.splat (local.get $count)))
    ${loops(
      [
        ['$s', 8],
        ['$avg', 4],
      ],
      `(local.set $a (i8x16.shuffle ${JOIN}
          (f32x4.demote_f64x2_zero (f64x2.div (v128.load (local.get $s)) (local.get $c)))
          (f32x4.demote_f64x2_zero (f64x2.div (v128.load offset=16 (local.get $s)) (local.get $c)))))
        (v128.store (local.get $avg) (local.get $a))
        (v128.store (local.get $s) (v128.const i32x4 0 0 0 0))
        (v128.store offset=16 (local.get $s) (v128.const i32x4 0 0 0 0))
        ${squares}`,
      `(local.set $x (f32.demote_f64 (f64.div (f64.load (local.get $s)) (local.get $count))))
        (f32.store (local.get $avg) (local.get $x))
        (f64.store (local.get $s) (f64.const 0))
        (local.set $t (f64.add (local.get $t) (f64.mul (f64.promote_f32 (local.get $x)) (f64.promote_f32 (local.get $x)))))`,
    )}
    ${SUM8})
`;

/**
 * maxAbs / minBits by integer comparison of the bit patterns (one instruction a vector, where the
 * NaN-propagating f32x4.max is a sequence): the patterns of |x| order like the values, with +Inf
 * above every finite value and NaN above +Inf, so the largest pattern of |x| is max |x| or NaN; and
 * as signed integers every negative float (−0 included) is below every non-negative one.
 */
function extremum(name: string, op: 'i32x4.max_u' | 'i32x4.min_s', isAbs: boolean, start: string): string {
  const value = (v: string): string => (isAbs ? `(v128.and ${v} (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))` : v);
  const lane = (l: number): string => `(i32x4.extract_lane ${l} (local.get $r))`;
  const pick = op === 'i32x4.max_u' ? 'i32.gt_u' : 'i32.lt_s';
  const better = (a: string, b: string): string => `(select ${a} ${b} (${pick} ${a} ${b}))`;
  return `
  (func (export "${name}") (param $x i32) (param $n i32) (result f32)
    (local $i i32) (local $nv i32) (local $r v128) (local $a i32) (local $b i32)
    (local.set $r (i32x4.splat (i32.const ${start})))
    ${loops([['$x', 4]], `(local.set $r (${op} (local.get $r) ${value('(v128.load (local.get $x))')}))`, `(local.set $r (${op} (local.get $r) ${value('(v128.load32_splat (local.get $x))')}))`)}
    (local.set $a ${better(lane(0), lane(1))})
    (local.set $b ${better(lane(2), lane(3))})
    (f32.reinterpret_i32 ${better('(local.get $a)', '(local.get $b)')}))
`;
}

/**
 * One update rule written once for a lane type: `T` is f64x2 (vector halves) or f64 (tail), and
 * the expressions name their inputs through `ins` (f64 values) and constants through `k`.
 * `rule` returns [slot updates as (name, float64 expression)], then the new p as a float64
 * expression of the ROUNDED slots (read back as `slot` below), as the TypeScript loops read them.
 */
interface Rule {
  readonly name: string;
  readonly slots: readonly string[];
  /** Slots that stay ≥ 0 (the guard checks them: Adam takes √v). */
  readonly nonNegative: readonly string[];
  readonly consts: readonly string[];
  /** New slot values (float64, before rounding) from ĝ, the old slots, constants. */
  slotUpdates(T: string, g: string, old: (slot: string) => string, k: (c: string) => string): string[];
  /** New p (float64, before rounding) from the old p, ĝ, the rounded new slots, constants. */
  param(T: string, p: string, g: string, slot: (s: string) => string, k: (c: string) => string): string;
}

const RULES: readonly Rule[] = [
  {
    name: 'sgd',
    slots: [],
    nonNegative: [],
    consts: ['lr'],
    slotUpdates: () => [],
    param: (T, p, g, _s, k) => `(${T}.sub ${p} (${T}.mul ${k('lr')} ${g}))`,
  },
  {
    name: 'momentum',
    slots: ['v'],
    nonNegative: [],
    consts: ['lr', 'mu'],
    slotUpdates: (T, g, old, k) => [`(${T}.add (${T}.mul ${k('mu')} ${old('v')}) ${g})`],
    param: (T, p, _g, s, k) => `(${T}.sub ${p} (${T}.mul ${k('lr')} ${s('v')}))`,
  },
  {
    name: 'adam',
    slots: ['m', 'v'],
    nonNegative: ['v'],
    consts: ['b1', 'c1', 'b2', 'c2', 'stepSize', 'bc2', 'eps'],
    slotUpdates: (T, g, old, k) => [
      `(${T}.add (${T}.mul ${k('b1')} ${old('m')}) (${T}.mul ${k('c1')} ${g}))`,
      `(${T}.add (${T}.mul ${k('b2')} ${old('v')}) (${T}.mul (${T}.mul ${k('c2')} ${g}) ${g}))`,
    ],
    param: (T, p, _g, s, k) => `(${T}.sub ${p} (${T}.div (${T}.mul ${k('stepSize')} ${s('m')}) (${T}.add (${T}.div (${T}.sqrt ${s('v')}) ${k('bc2')}) ${k('eps')})))`,
  },
];

/** The exported update function of one rule: (p, g, slots…, n, consts…, f). */
function updateWat(rule: Rule): string {
  const { name, slots, consts } = rule;
  const params = ['(param $p i32) (param $g i32)', ...slots.map((s) => `(param $${s} i32)`), '(param $n i32)', ...consts.map((c) => `(param $${c} f64)`), '(param $f f64)'].join(' ');
  const splats = [...consts, 'f'].map((c) => `(local.set $${c}V (f64x2.splat (local.get $${c})))`).join('\n    ');
  const locals = [
    '(local $i i32) (local $nv i32) (local $pv v128) (local $gv v128)',
    ...[...consts, 'f'].map((c) => `(local $${c}V v128)`),
    ...slots.flatMap((s) => [`(local $${s}v v128)`, `(local $${s}L v128)`, `(local $${s}H v128)`, `(local $${s}s f32)`]),
    '(local $gL v128) (local $gH v128) (local $gs f64) (local $ps f32)',
  ].join(' ');
  // Vector body: both halves of one f32x4 of every operand. A half: ĝ, then each slot rounded to f32
  // ([a, b, 0, 0], kept in that form for the store and, promoted, for p), then p's float64 expression.
  const k = (c: string): string => `(local.get $${c}V)`;
  const half = (h: 'L' | 'H', part: (v: string) => string): { readonly sets: string; readonly p: string } => {
    const g = `(local.get $g${h})`;
    const ups = rule.slotUpdates('f64x2', g, (sl) => part(`(local.get $${sl}v)`), k);
    const sets = [
      `(local.set $g${h} ${lo(`(f32x4.demote_f64x2_zero (f64x2.mul ${part('(local.get $gv)')} (local.get $fV)))`)})`,
      ...slots.map((sl, j) => `(local.set $${sl}${h} (f32x4.demote_f64x2_zero ${ups[j]}))`),
    ].join('\n        ');
    return { sets, p: rule.param('f64x2', part('(local.get $pv)'), g, (sl) => lo(`(local.get $${sl}${h})`), k) };
  };
  const low = half('L', lo);
  const high = half('H', hi);
  const vector = `(local.set $gv (v128.load (local.get $g)))
        (local.set $pv (v128.load (local.get $p)))
        ${slots.map((sl) => `(local.set $${sl}v (v128.load (local.get $${sl})))`).join('\n        ')}
        ${low.sets}
        ${high.sets}
        ${slots.map((sl) => `(v128.store (local.get $${sl}) (i8x16.shuffle ${JOIN} (local.get $${sl}L) (local.get $${sl}H)))`).join('\n        ')}
        (v128.store (local.get $p) (i8x16.shuffle ${JOIN} (f32x4.demote_f64x2_zero ${low.p}) (f32x4.demote_f64x2_zero ${high.p})))`;
  // Scalar tail: the same expressions on f64.
  const kS = (c: string): string => `(local.get $${c})`;
  const upsS = rule.slotUpdates('f64', '(local.get $gs)', (s) => `(f64.promote_f32 (f32.load (local.get $${s})))`, kS);
  const scalar = [
    `(local.set $gs (f64.promote_f32 (f32.demote_f64 (f64.mul (f64.promote_f32 (f32.load (local.get $g))) (local.get $f)))))`,
    ...slots.map((s, j) => `(local.set $${s}s (f32.demote_f64 ${upsS[j]}))`),
    ...slots.map((s) => `(f32.store (local.get $${s}) (local.get $${s}s))`),
    `(f32.store (local.get $p) (f32.demote_f64 ${rule.param('f64', '(f64.promote_f32 (f32.load (local.get $p)))', '(local.get $gs)', (s) => `(f64.promote_f32 (local.get $${s}s))`, kS)}))`,
  ].join('\n        ');
  const ptrs: [string, number][] = [['$p', 4], ['$g', 4], ...slots.map((s): [string, number] => [`$${s}`, 4])];
  return `
  (func (export "${name}") ${params}
    ${locals}
    ${splats}
    ${loops(ptrs, vector, scalar)})
`;
}

/** The whole module: imports `env.memory` (the shared kernel memory), exports the functions above. */
export function stepWat(): string {
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
${AVG_DIRECT}
${ACCUMULATE}
${DIVIDE_SUMS}
${extremum('maxAbs', 'i32x4.max_u', true, '0')}
${extremum('minBits', 'i32x4.min_s', false, '0x7f800000')}
${RULES.map(updateWat).join('\n')}
)
`;
}

/** The update rules the module exports, by optimizer kind, with their argument order (for stepWasm.ts and the tests). */
export const STEP_RULES: Readonly<Record<string, { readonly slots: readonly string[]; readonly nonNegative: readonly string[]; readonly consts: readonly string[] }>> = Object.fromEntries(
  RULES.map((r) => [r.name, { slots: r.slots, nonNegative: r.nonNegative, consts: r.consts }]),
);
