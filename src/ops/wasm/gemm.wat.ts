/**
 * WebAssembly text (WAT) of the SIMD GEMM kernels, kept as a TypeScript string so the compiled
 * dist/ needs no asset copying; src/ops/wasm/gemmWasm.ts assembles it (assembleWat.ts) at run time.
 *
 * The product C[m×n] (+)= op(A)[m×k] · op(B)[k×n] is computed the BLIS / GotoBLAS way
 * (Van Zee & van de Geijn, "BLIS: A Framework for Rapidly Instantiating BLAS Functionality", 2015):
 *
 *   - `packA` copies an mc × kc block of op(A) into panels of MR rows: panel q holds, for each p,
 *     the MR values op(A)[q·MR + r, p] (r = 0..MR-1) side by side; rows past the edge are 0.
 *   - `packB` copies a kc × nc block of op(B) into panels of NR columns: panel q holds, for each p,
 *     the NR values op(B)[p, q·NR + c] side by side; columns past the edge are 0.
 *     Transposes are absorbed here: the packers read element (x, p) at src + 4·(x·xs + p·ps), so
 *     the micro-kernel always reads contiguous memory whatever the layout of A and B. An operand
 *     that is already in panel order (op(A) = Aᵀ stored k × m, op(B) = B stored k × n) may skip
 *     packing: the kernel takes the byte step between consecutive p as a parameter.
 *   - `kernel` is the register-blocked micro-kernel: an MR × NR tile of C lives in MR·NR/4 f32x4
 *     accumulators over the whole kc loop; each step loads NR/4 vectors of B, broadcasts MR scalars
 *     of A (v128.load32_splat) and does MR·NR/4 multiply + add pairs — or, in the FMA variant,
 *     MR·NR/4 `f32x4.relaxed_madd` (kernelSet.ts: one rounding per step instead of two where the
 *     machine fuses; the order of the k sum is the same).
 *   - `macro` walks the tiles of one packed block: columns outer (the kc × NR panel of B stays in
 *     L1), rows inner (the packed A block stays in L2). Edge tiles are computed in full into a
 *     scratch tile and only their valid part is written to C.
 *
 * Layout: all matrices row-major f32; every address and `ld*` argument is in bytes.
 * `beta` is 0 (C = product) or 1 (C += product).
 *
 * NOTE: V8 allocates wasm v128 values to the 16 xmm registers only, so MR·NR/4 accumulators +
 * NR/4 B vectors + 1 broadcast must stay ≤ 16, or the inner loop spills to the stack.
 */

/** Register tile of the micro-kernel: MR rows × NR columns of C (NR a multiple of 4). */
export interface TileSize {
  readonly mr: number;
  readonly nr: number;
}

/** The tile the default module uses: 4 × 8 (8 accumulators + 2 B vectors + 1 broadcast). */
export const DEFAULT_TILE: TileSize = { mr: 4, nr: 8 };

/** Options of the generated module. */
export interface GemmWatOptions {
  /** Multiply-adds as f32x4.relaxed_madd (needs relaxed SIMD) instead of f32x4.mul then f32x4.add. */
  readonly fma?: boolean;
  /**
   * Import the kernels' shared memory as `env.memory` (kernelMemory.ts, the memory of the conv,
   * elementwise and step kernels) instead of exporting a memory of its own.
   */
  readonly sharedMemory?: boolean;
}

/** a·b + c on f32x4 operands: one relaxed_madd, or a multiply then an add. */
export function madd(a: string, b: string, c: string, isFma: boolean): string {
  return isFma ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add ${c} (f32x4.mul ${a} ${b}))`;
}

/** `0 1 2` for n = 3: a small helper for the unrolled parts of the template. */
function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * The micro-kernel: C[MR×NR] at `c` (row stride `ldc` bytes) (+)= Σ_p a_p ⊗ b_p over kc ≥ 1 steps,
 * where a_p is MR floats at pa + p·aStep and b_p is NR floats at pb + p·bStep. A packed panel has
 * aStep = 4·MR (bStep = 4·NR); an operand already laid out with the MR (NR) values of one p
 * side by side (op(A) = Aᵀ, op(B) = B) is read in place with its row stride as the step.
 */
function kernelWat({ mr, nr }: TileSize, isFma: boolean): string {
  const nv = nr / 4;
  const acc = (r: number, v: number): string => `$c${r}_${v}`;
  const accLocals = range(mr)
    .map((r) => range(nv).map((v) => `(local ${acc(r, v)} v128)`).join(' '))
    .join('\n    ');
  const bLocals = range(nv).map((v) => `(local $b${v} v128)`).join(' ');
  const loadB = range(nv)
    .map((v) => `(local.set $b${v} (v128.load offset=${16 * v} (local.get $pb)))`)
    .join('\n        ');
  const madds = range(mr)
    .map((r) => {
      const splat = `(local.set $a (v128.load32_splat offset=${4 * r} (local.get $pa)))`;
      const rows = range(nv).map((v) => `(local.set ${acc(r, v)} ${madd('(local.get $a)', `(local.get $b${v})`, `(local.get ${acc(r, v)})`, isFma)})`);
      return [splat, ...rows].join('\n        ');
    })
    .join('\n        ');
  const storeRow = (r: number, withC: boolean): string =>
    range(nv)
      .map((v) => {
        const value = withC
          ? `(f32x4.add (v128.load offset=${16 * v} (local.get $row)) (local.get ${acc(r, v)}))`
          : `(local.get ${acc(r, v)})`;
        return `(v128.store offset=${16 * v} (local.get $row) ${value})`;
      })
      .join('\n        ');
  const stores = (withC: boolean): string =>
    range(mr)
      .map((r) => {
        const advance = r === 0 ? '(local.set $row (local.get $c))' : '(local.set $row (i32.add (local.get $row) (local.get $ldc)))';
        return `${advance}\n        ${storeRow(r, withC)}`;
      })
      .join('\n        ');
  return `
  ;; micro-kernel ${mr}x${nr}: C tile (+)= packed A panel (kc x ${mr}) times packed B panel (kc x ${nr})
  (func $kernel (param $kc i32) (param $pa i32) (param $aStep i32) (param $pb i32) (param $bStep i32)
                (param $c i32) (param $ldc i32) (param $beta i32)
    (local $pbEnd i32) (local $row i32) (local $a v128) ${bLocals}
    ${accLocals}
    (local.set $pbEnd (i32.add (local.get $pb) (i32.mul (local.get $kc) (local.get $bStep))))
    ;; kc >= 1 always (the driver handles k = 0), so the k loop is a do-while
    (loop $steps
        ${loadB}
        ${madds}
        (local.set $pa (i32.add (local.get $pa) (local.get $aStep)))
        (local.set $pb (i32.add (local.get $pb) (local.get $bStep)))
        (br_if $steps (i32.lt_u (local.get $pb) (local.get $pbEnd))))
    (if (local.get $beta)
      (then
        ${stores(true)})
      (else
        ${stores(false)})))
`;
}

/**
 * A packer for panels of width `w` (MR for A, NR for B). Element (x, p) of the source block is at
 * src + 4·(x·xs + p·ps) (xs, ps in elements); nx × np elements are packed into ⌈nx/w⌉ panels of
 * np × w floats at dst, zero-padded past nx.
 */
function packWat(name: string, w: number): string {
  const rowLocals = range(w).map((r) => `(local $s${r} i32)`).join(' ');
  const setRows = range(w)
    .map((r) =>
      r === 0
        ? '(local.set $s0 (i32.add (local.get $src) (i32.shl (i32.mul (local.get $x0) (local.get $xs)) (i32.const 2))))'
        : `(local.set $s${r} (i32.add (local.get $s${r - 1}) (local.get $xs4)))`,
    )
    .join('\n          ');
  const copyScalars = range(w)
    .map((r) => `(f32.store offset=${4 * r} (local.get $d) (f32.load (local.get $s${r})))`)
    .join('\n              ');
  const stepRows = range(w)
    .map((r) => `(local.set $s${r} (i32.add (local.get $s${r}) (local.get $ps4)))`)
    .join('\n              ');
  const copyVectors = range(w / 4)
    .map((v) => `(v128.store offset=${16 * v} (local.get $d) (v128.load offset=${16 * v} (local.get $s0)))`)
    .join('\n              ');
  // p contiguous in every source row (ps = 1: op(A) = A, op(B) = Bᵀ): 4 steps of p at a time, each
  // group of 4 rows as a 4 × 4 transpose (2 rounds of i8x16.shuffle) instead of 16 scalar copies
  const lanes = (pick: readonly number[]): string => pick.flatMap((l) => [0, 1, 2, 3].map((b) => 4 * l + b)).join(' ');
  const transposeGroups = range(w / 4)
    .map((g) => {
      const row = (i: number): string => `(v128.load (local.get $s${4 * g + i}))`;
      const out = (j: number, lo: string, hi: string, pick: readonly number[]): string =>
        `(v128.store offset=${16 * g + j * 4 * w} (local.get $d) (i8x16.shuffle ${lanes(pick)} (local.get ${lo}) (local.get ${hi})))`;
      return [
        `(local.set $t0 (i8x16.shuffle ${lanes([0, 4, 1, 5])} ${row(0)} ${row(1)}))`,
        `(local.set $t1 (i8x16.shuffle ${lanes([2, 6, 3, 7])} ${row(0)} ${row(1)}))`,
        `(local.set $t2 (i8x16.shuffle ${lanes([0, 4, 1, 5])} ${row(2)} ${row(3)}))`,
        `(local.set $t3 (i8x16.shuffle ${lanes([2, 6, 3, 7])} ${row(2)} ${row(3)}))`,
        out(0, '$t0', '$t2', [0, 1, 4, 5]),
        out(1, '$t0', '$t2', [2, 3, 6, 7]),
        out(2, '$t1', '$t3', [0, 1, 4, 5]),
        out(3, '$t1', '$t3', [2, 3, 6, 7]),
      ].join('\n                ');
    })
    .join('\n                ');
  const stepRowsBy16 = range(w)
    .map((r) => `(local.set $s${r} (i32.add (local.get $s${r}) (i32.const 16)))`)
    .join('\n                ');
  const hasVectorPath = w % 4 === 0;
  const transposePath = hasVectorPath
    ? `(if (i32.eq (local.get $ps) (i32.const 1))
            (then
              (local.set $dQuad (i32.add (local.get $d) (i32.mul (i32.and (local.get $np) (i32.const -4)) (i32.const ${4 * w}))))
              (if (i32.lt_u (local.get $d) (local.get $dQuad))
                (then
                  (loop $tp
                    ${transposeGroups}
                    ${stepRowsBy16}
                    (local.set $d (i32.add (local.get $d) (i32.const ${16 * w})))
                    (br_if $tp (i32.lt_u (local.get $d) (local.get $dQuad))))))
              ;; the np mod 4 steps left, if any, go through the scalar loop below
              (br_if $panelDone (i32.ge_u (local.get $d) (local.get $dEnd)))))`
    : '';
  const vectorPath = hasVectorPath
    ? `(if (i32.eq (local.get $xs) (i32.const 1))
            (then
              ;; the w values of one p are contiguous in the source: copy them as vectors
              (loop $vp
                ${copyVectors}
                (local.set $s0 (i32.add (local.get $s0) (local.get $ps4)))
                (local.set $d (i32.add (local.get $d) (i32.const ${4 * w})))
                (br_if $vp (i32.lt_u (local.get $d) (local.get $dEnd))))
              (br $panelDone)))`
    : '';
  return `
  ;; pack panels of width ${w}: dst[q][p][r] = src(x = q*${w} + r, p), 0 where x >= nx
  (func $${name} (export "${name}") (param $src i32) (param $xs i32) (param $ps i32) (param $nx i32) (param $np i32) (param $dst i32)
    (local $x0 i32) (local $r i32) (local $rows i32) (local $d i32) (local $dEnd i32)
    (local $xs4 i32) (local $ps4 i32) (local $p i32) (local $v f32) (local $dQuad i32) ${rowLocals}
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $xs4 (i32.shl (local.get $xs) (i32.const 2)))
    (local.set $ps4 (i32.shl (local.get $ps) (i32.const 2)))
    (local.set $d (local.get $dst))
    (block $allDone
      (br_if $allDone (i32.eqz (local.get $np)))
      (loop $panels
        (br_if $allDone (i32.ge_u (local.get $x0) (local.get $nx)))
        (local.set $rows (i32.sub (local.get $nx) (local.get $x0)))
        (local.set $dEnd (i32.add (local.get $d) (i32.mul (local.get $np) (i32.const ${4 * w}))))
        (block $panelDone
          (if (i32.ge_u (local.get $rows) (i32.const ${w}))
            (then
              ${setRows}
              ${vectorPath}
              ${transposePath}
              ;; full panel, strided source: w scalar loads per p from w row pointers
              (loop $sp
              ${copyScalars}
              ${stepRows}
                (local.set $d (i32.add (local.get $d) (i32.const ${4 * w})))
                (br_if $sp (i32.lt_u (local.get $d) (local.get $dEnd))))
              (br $panelDone)))
          ;; edge panel (rows < w): scalar copy with zero fill
          (local.set $p (i32.const 0))
          (loop $ep
            (local.set $r (i32.const 0))
            (loop $er
              (local.set $v (f32.const 0))
              (if (i32.lt_u (local.get $r) (local.get $rows))
                (then
                  (local.set $v (f32.load (i32.add (local.get $src)
                    (i32.shl (i32.add (i32.mul (i32.add (local.get $x0) (local.get $r)) (local.get $xs))
                                      (i32.mul (local.get $p) (local.get $ps))) (i32.const 2)))))))
              (f32.store (local.get $d) (local.get $v))
              (local.set $d (i32.add (local.get $d) (i32.const 4)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br_if $er (i32.lt_u (local.get $r) (i32.const ${w}))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br_if $ep (i32.lt_u (local.get $p) (local.get $np)))))
        (local.set $x0 (i32.add (local.get $x0) (i32.const ${w})))
        (br $panels))))
`;
}

/**
 * The macro-kernel: every MR × NR tile of one mc × nc block of C. A tile's A values at step p are
 * at pa + tileRow·aPanel + p·aStep (packed: aPanel = kc·4·MR, aStep = 4·MR; in place:
 * aPanel = 4·MR, aStep = row stride), and likewise for B with bPanel, bStep.
 * NOTE: edge tiles read a whole MR × NR tile, so in-place operands may be read up to NR (MR)
 * floats past their end; those lanes only feed discarded rows/columns, but the bytes must exist.
 */
function macroWat({ mr, nr }: TileSize): string {
  const rowCopy = (withC: boolean): string =>
    range(nr / 4)
      .map((v) => {
        const value = withC
          ? `(f32x4.add (v128.load offset=${16 * v} (local.get $dst)) (v128.load offset=${16 * v} (local.get $src)))`
          : `(v128.load offset=${16 * v} (local.get $src))`;
        return `(v128.store offset=${16 * v} (local.get $dst) ${value})`;
      })
      .join('\n                      ');
  return `
  ;; C[mc x nc] at c (row stride ldc bytes) (+)= A block (mc x kc) times B block (kc x nc)
  (func $macro (export "macro") (param $mc i32) (param $nc i32) (param $kc i32)
                                (param $pa i32) (param $aStep i32) (param $aPanel i32)
                                (param $pb i32) (param $bStep i32) (param $bPanel i32)
                                (param $c i32) (param $ldc i32) (param $beta i32) (param $tmp i32)
    (local $i i32) (local $j i32) (local $rows i32) (local $cols i32)
    (local $paI i32) (local $pbJ i32) (local $cIJ i32)
    (local $r i32) (local $q i32) (local $dst i32) (local $src i32)
    (local.set $pbJ (local.get $pb))
    (loop $colTiles
      (local.set $cols (i32.sub (local.get $nc) (local.get $j)))
      (if (i32.gt_u (local.get $cols) (i32.const ${nr})) (then (local.set $cols (i32.const ${nr}))))
      (local.set $i (i32.const 0))
      (local.set $paI (local.get $pa))
      (loop $rowTiles
        (local.set $rows (i32.sub (local.get $mc) (local.get $i)))
        (if (i32.gt_u (local.get $rows) (i32.const ${mr})) (then (local.set $rows (i32.const ${mr}))))
        (local.set $cIJ (i32.add (local.get $c)
          (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2)))))
        (if (i32.and (i32.eq (local.get $rows) (i32.const ${mr})) (i32.eq (local.get $cols) (i32.const ${nr})))
          (then (call $kernel (local.get $kc) (local.get $paI) (local.get $aStep) (local.get $pbJ) (local.get $bStep)
                            (local.get $cIJ) (local.get $ldc) (local.get $beta)))
          (else
            ;; edge tile: full tile into tmp (row stride ${4 * nr} bytes), then its valid rows x cols into C
            (call $kernel (local.get $kc) (local.get $paI) (local.get $aStep) (local.get $pbJ) (local.get $bStep)
                          (local.get $tmp) (i32.const ${4 * nr}) (i32.const 0))
            (local.set $r (i32.const 0))
            (loop $edgeRows
              (local.set $dst (i32.add (local.get $cIJ) (i32.mul (local.get $r) (local.get $ldc))))
              (local.set $src (i32.add (local.get $tmp) (i32.mul (local.get $r) (i32.const ${4 * nr}))))
              (if (i32.eq (local.get $cols) (i32.const ${nr}))
                (then
                  ;; a full-width row (only rows are cut off, e.g. m = 6 with MR = 4): vector copy
                  (if (local.get $beta)
                    (then
                      ${rowCopy(true)})
                    (else
                      ${rowCopy(false)})))
                (else
                  (local.set $q (i32.const 0))
                  (loop $edgeCols
                    (if (local.get $beta)
                      (then (f32.store (local.get $dst) (f32.add (f32.load (local.get $dst)) (f32.load (local.get $src)))))
                      (else (f32.store (local.get $dst) (f32.load (local.get $src)))))
                    (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
                    (local.set $src (i32.add (local.get $src) (i32.const 4)))
                    (local.set $q (i32.add (local.get $q) (i32.const 1)))
                    (br_if $edgeCols (i32.lt_u (local.get $q) (local.get $cols))))))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br_if $edgeRows (i32.lt_u (local.get $r) (local.get $rows))))))
        (local.set $paI (i32.add (local.get $paI) (local.get $aPanel)))
        (local.set $i (i32.add (local.get $i) (i32.const ${mr})))
        (br_if $rowTiles (i32.lt_u (local.get $i) (local.get $mc))))
      (local.set $pbJ (i32.add (local.get $pbJ) (local.get $bPanel)))
      (local.set $j (i32.add (local.get $j) (i32.const ${nr})))
      (br_if $colTiles (i32.lt_u (local.get $j) (local.get $nc)))))
`;
}

/**
 * The whole module for one tile size (FMA or not). Exports `memory` (grown by the host as needed) or
 * imports the shared kernel memory, and exports `packA`, `packB` and `macro`; the host drives the
 * cache-blocking loops (gemmWasm.ts).
 */
export function gemmWat(tile: TileSize = DEFAULT_TILE, options: GemmWatOptions = {}): string {
  if (!(tile.mr >= 1 && tile.nr >= 4 && tile.nr % 4 === 0)) {
    throw new Error(`gemmWat: tile must have mr >= 1 and nr a multiple of 4, got ${tile.mr}x${tile.nr}`);
  }
  const memory = options.sharedMemory === true ? '(import "env" "memory" (memory 1 65536 shared))' : '(memory (export "memory") 1)';
  return `(module
  ${memory}
${kernelWat(tile, options.fma === true)}
${packWat('packA', tile.mr)}
${packWat('packB', tile.nr)}
${macroWat(tile)}
)
`;
}
