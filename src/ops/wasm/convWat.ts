/**
 * WebAssembly text (WAT) of direct stride-1 convolution kernels, specialised per layer shape: every
 * size is a constant of the generated module, so the kH × kW taps are unrolled with constant
 * address offsets. convWasm.ts assembles one module per shape (assembleWat.ts, at first use) and runs it
 * on operands it copied into one shared memory.
 *
 * Equations (MATH.md §3, stride 1; padding is applied by the host when it copies x in):
 *   (3.5) z[n,o,i,j]   = b[o] + Σ_c Σ_{u,v} x[n,c,i+u,j+v] · w[o,c,u,v]
 *   (3.6) δx[n,c,y,x]  = Σ_o Σ_{u,v} δz[n,o,y−u,x−v] · w[o,c,u,v]   (the full correlation, as a scatter)
 *   (3.7) dW[o,c,u,v]  = Σ_n Σ_{i,j} δz[n,o,i,j] · x[n,c,i+u,j+v],  db[o] = Σ_n Σ_{i,j} δz[n,o,i,j]
 *
 * Memory layout (f32, byte addresses, every region 16-byte aligned), NCHW with padded rows:
 *   x, δx  [m, cIn, hp, wp]      hp = inH + 2pH; wp ≥ outWp + kW − 1, a multiple of 4; the columns
 *                                 past the image (and the padding) hold zeros
 *   z, δz  [m, cOut, outH, outWp] outWp = outW rounded up to 4·jb; columns ≥ outW of δz hold zeros
 *   forward weights  [cOut/ob, cIn, kH, kW, ob]   (ob output channels side by side per tap)
 *   deltaX weights   [cIn, kH, cOut, kW]
 *   dW [cOut, cIn, kH, kW] (natural layout), b and db [cOut]
 *
 * Vectorisation: f32x4 along an output row (j). Register blocks (chosen in convWasm.ts so that
 * accumulators + loaded vectors + 1 ≤ 15 xmm registers): forward ob channels × jb vectors of
 * accumulators; gradW gb channels × gvb taps (the last kW % gvb taps: gbTail channels), reduced across
 * lanes at the end; deltaX dvb taps × dj
 * vectors, added into the δx row at the tap shifts. Each loop body is one step of a reduction (taps
 * are not unrolled: TurboFan hoists every load of an unrolled block and spills). All sums run in
 * one fixed order, so results are bit-for-bit deterministic. With `fma` every multiply-add of the
 * three reductions is one f32x4.relaxed_madd (one rounding where the machine fuses, kernelSet.ts),
 * in the same order; the lane reductions and the δx scatter stay adds.
 */
import { madd } from './gemm.wat.js';

/** The constant sizes one convolution module is generated for. */
export interface ConvKernelShape {
  readonly cIn: number;
  readonly cOut: number;
  readonly kH: number;
  readonly kW: number;
  /** Rows of the (padded) input plane. */
  readonly hp: number;
  /** Row stride of the input plane in floats (multiple of 4, ≥ outWp + kW − 1). */
  readonly wp: number;
  readonly outH: number;
  /** Row stride of the output plane in floats (multiple of 4·jb). */
  readonly outWp: number;
  /** Forward register block: output channels per pass (divides cOut). */
  readonly ob: number;
  /** Forward register block: f32x4 vectors per pass along a row (divides outWp/4). */
  readonly jb: number;
  /** gradW register block: output channels (divides cOut) × taps of one kernel row. */
  readonly gb: number;
  readonly gvb: number;
  /** gradW channel block of the last, narrower block of taps (kW % gvb taps; divides cOut); default gb. */
  readonly gbTail?: number;
  /** deltaX register block: taps of one kernel row × f32x4 vectors along a row (dj divides outWp/4). */
  readonly dvb: number;
  readonly dj: number;
  /** Multiply-adds as f32x4.relaxed_madd (kernelSet.ts) instead of f32x4.mul then f32x4.add. */
  readonly fma: boolean;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** A counted loop `for (v = 0; v < count; v++) body` with count ≥ 1 constant, as a do-while. */
function loop(label: string, counter: string, count: number, body: string): string {
  return `(local.set ${counter} (i32.const 0))
    (loop ${label}
      ${body}
      (local.set ${counter} (i32.add (local.get ${counter}) (i32.const 1)))
      (br_if ${label} (i32.lt_u (local.get ${counter}) (i32.const ${count}))))`;
}

const add = (local: string, bytes: number | string): string =>
  `(local.set ${local} (i32.add (local.get ${local}) ${typeof bytes === 'number' ? `(i32.const ${bytes})` : bytes}))`;

/**
 * forward(x, w, b, z, m): z = W ⊛ x + b. For each (n, channel block, row i, vector block):
 * acc[r][q] = b[o+r], then for every channel c and tap (u, v): acc[r][q] += w[o+r,c,u,v] · x[c, i+u, j+4q+v…].
 * One tap per loop iteration: a fully unrolled tap sequence lets TurboFan schedule all its loads
 * first and spill them (measured), so the loop body is kept to jb loads, ob splats, ob·jb madds.
 */
function forwardWat(s: ConvKernelShape): string {
  const { cIn, cOut, kH, kW, hp, wp, outH, outWp, ob, jb } = s;
  const acc = (r: number, q: number): string => `$a${r}_${q}`;
  const locals = [
    ...range(ob).flatMap((r) => range(jb).map((q) => `(local ${acc(r, q)} v128)`)),
    ...range(jb).map((q) => `(local $x${q} v128)`),
    ...range(ob).map((r) => `(local $w${r} v128)`),
  ].join(' ');
  const tap = [
    ...range(jb).map((q) => `(local.set $x${q} (v128.load offset=${16 * q} (local.get $px)))`),
    ...range(ob).map((r) => `(local.set $w${r} (v128.load32_splat offset=${r * 4} (local.get $pw)))`),
    ...range(ob).flatMap((r) =>
      range(jb).map((q) => `(local.set ${acc(r, q)} ${madd(`(local.get $w${r})`, `(local.get $x${q})`, `(local.get ${acc(r, q)})`, s.fma)})`),
    ),
  ].join('\n            ');
  const init = range(ob)
    .flatMap((r) => [
      `(local.set $w0 (v128.load32_splat offset=${r * 4} (local.get $pb)))`,
      ...range(jb).map((q) => `(local.set ${acc(r, q)} (local.get $w0))`),
    ])
    .join('\n          ');
  const stores = range(ob)
    .flatMap((r) => range(jb).map((q) => `(v128.store offset=${(r * outH * outWp) * 4 + 16 * q} (local.get $pz) (local.get ${acc(r, q)}))`))
    .join('\n          ');
  const nBlocks = outWp / (4 * jb);
  const tapBytes = kH * kW * ob * 4;
  return `
  (func (export "forward") (param $x i32) (param $w i32) (param $b i32) (param $z i32) (param $m i32)
    (local $n i32) (local $o i32) (local $i i32) (local $q i32) (local $c i32) (local $u i32) (local $v i32)
    (local $xn i32) (local $px i32) (local $pw i32) (local $pb i32) (local $pz i32) (local $wo i32) (local $zo i32)
    ${locals}
    (local.set $n (i32.const 0))
    (block $done (loop $samples
      (br_if $done (i32.ge_u (local.get $n) (local.get $m)))
      (local.set $xn (i32.add (local.get $x) (i32.mul (local.get $n) (i32.const ${cIn * hp * wp * 4}))))
      ${loop(
        '$chans',
        '$o',
        cOut / ob,
        `(local.set $wo (i32.add (local.get $w) (i32.mul (local.get $o) (i32.const ${cIn * tapBytes}))))
      (local.set $pb (i32.add (local.get $b) (i32.mul (local.get $o) (i32.const ${ob * 4}))))
      (local.set $zo (i32.add (local.get $z) (i32.mul (i32.add (i32.mul (local.get $n) (i32.const ${cOut})) (i32.mul (local.get $o) (i32.const ${ob}))) (i32.const ${outH * outWp * 4}))))
      ${loop(
        '$rows',
        '$i',
        outH,
        `${loop(
          '$blocks',
          '$q',
          nBlocks,
          `(local.set $px (i32.add (local.get $xn) (i32.add (i32.mul (local.get $i) (i32.const ${wp * 4})) (i32.mul (local.get $q) (i32.const ${16 * jb})))))
          (local.set $pz (i32.add (local.get $zo) (i32.add (i32.mul (local.get $i) (i32.const ${outWp * 4})) (i32.mul (local.get $q) (i32.const ${16 * jb})))))
          (local.set $pw (local.get $wo))
          ${init}
          ${loop(
            '$inChans',
            '$c',
            cIn,
            `${loop(
              '$kRows',
              '$u',
              kH,
              `${loop(
                '$kCols',
                '$v',
                kW,
                `${tap}
            ${add('$px', 4)}
            ${add('$pw', ob * 4)}`,
              )}
          ${add('$px', (wp - kW) * 4)}`,
            )}
        ${add('$px', (hp - kH) * wp * 4)}`,
          )}
          ${stores}`,
        )}`,
      )}`,
      )}
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $samples))))
`;
}

/** Consecutive blocks of at most `size` covering 0..n−1: [start, length] pairs. */
function blocks(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let v0 = 0; v0 < n; v0 += size) out.push([v0, Math.min(size, n - v0)]);
  return out;
}

/**
 * gradW(x, dz, dw, m): dW[o,c,u,v] = Σ_n Σ_{i,j} δz[n,o,i,j] · x[n,c,i+u,j+v] for a block of gb
 * channels × gvb taps v of one kernel row u: gb·gvb vector sums over (n, i, vector q), one vector q
 * per loop iteration, each reduced across its lanes as ((l0 + l1) + (l2 + l3)) at the end.
 * gradWSampleOuter(x, dz, dw, m, part): the same sums, with samples as the outer loop: the vector sums
 * wait in `part` (cOut·cIn·kH·kW f32x4, zeroed by the host) between samples, then are reduced into dw.
 * gradB(dz, db, m): db[o] = Σ_n Σ_{i,j} δz[n,o,i,j] (the zero columns of δz add nothing).
 */
function gradWat(s: ConvKernelShape): string {
  const { cIn, cOut, kH, kW, hp, wp, outH, outWp, gb, gvb } = s;
  const nVec = outWp / 4;
  // the last, narrower block of taps (kW % gvb of them) runs with its own channel block gbTail
  const taps = blocks(kW, gvb);
  const tail = taps.length > 1 && taps[taps.length - 1][1] < gvb ? taps.pop() : undefined;
  const gbTail = s.gbTail ?? gb;
  const gMax = Math.max(gb, tail === undefined ? 0 : gbTail);
  const acc = (r: number, v: number): string => `$g${r}_${v}`;
  const locals = [
    ...range(gMax).flatMap((r) => range(gvb).map((v) => `(local ${acc(r, v)} v128)`)),
    ...range(gMax).map((r) => `(local $d${r} v128)`),
    ...range(gvb).map((v) => `(local $x${v} v128)`),
  ].join(' ');
  const lane = (a: string, l: number): string => `(f32x4.extract_lane ${l} (local.get ${a}))`;
  // sampleOuter: the accumulators live in the partial-sum vectors at $pd between samples (loaded
  // before and stored after each sample's rows), so each sample's x and δz are reused from L1 by
  // every pass instead of every pass streaming the whole batch; each lane sums the same terms in the
  // same order either way.
  const pass = (g: number, [v0, nv]: [number, number], sampleOuter: boolean): string => {
    const partOff = (r: number, v: number): number => (r * cIn * kH * kW + v0 + v) * 16;
    const zero = range(g)
      .flatMap((r) =>
        range(nv).map((v) =>
          sampleOuter
            ? `(local.set ${acc(r, v)} (v128.load offset=${partOff(r, v)} (local.get $pd)))`
            : `(local.set ${acc(r, v)} (v128.const i32x4 0 0 0 0))`,
        ),
      )
      .join('\n      ');
    const body = [
      ...range(g).map((r) => `(local.set $d${r} (v128.load offset=${r * outH * outWp * 4} (local.get $pz)))`),
      ...range(nv).map((v) => `(local.set $x${v} (v128.load offset=${4 * (v0 + v)} (local.get $px)))`),
      ...range(g).flatMap((r) =>
        range(nv).map((v) => `(local.set ${acc(r, v)} ${madd(`(local.get $d${r})`, `(local.get $x${v})`, `(local.get ${acc(r, v)})`, s.fma)})`),
      ),
    ].join('\n            ');
    const stores = range(g)
      .flatMap((r) =>
        range(nv).map((v) => {
          const a = acc(r, v);
          if (sampleOuter) return `(v128.store offset=${partOff(r, v)} (local.get $pd) (local.get ${a}))`;
          const sum = `(f32.add (f32.add ${lane(a, 0)} ${lane(a, 1)}) (f32.add ${lane(a, 2)} ${lane(a, 3)}))`;
          return `(f32.store offset=${(r * cIn * kH * kW + v0 + v) * 4} (local.get $pd) ${sum})`;
        }),
      )
      .join('\n      ');
    const rows = `(local.set $pz (i32.add (local.get $dz) (i32.mul (i32.add (i32.mul (local.get $n) (i32.const ${cOut})) (i32.mul (local.get $o) (i32.const ${g}))) (i32.const ${outH * outWp * 4}))))
        (local.set $px (i32.add (local.get $x) (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (i32.const ${cIn})) (local.get $c)) (i32.const ${hp * wp * 4})) (i32.mul (local.get $u) (i32.const ${wp * 4})))))
        ${loop(
          '$rows',
          '$i',
          outH,
          `${loop(
            '$vecs',
            '$q',
            nVec,
            `${body}
            ${add('$pz', 16)}
            ${add('$px', 16)}`,
          )}
          ${add('$px', (wp - outWp) * 4)}`,
        )}`;
    if (sampleOuter) return `${zero}\n        ${rows}\n      ${stores}`;
    return `${zero}
      (local.set $n (i32.const 0))
      (block $done (loop $samples
        (br_if $done (i32.ge_u (local.get $n) (local.get $m)))
        ${rows}
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $samples)))
      ${stores}`;
  };
  // one loop nest over (channel block, input channel, kernel row) running the given tap blocks
  const nest = (g: number, tapBlocks: [number, number][], sampleOuter = false): string =>
    loop(
      '$chans',
      '$o',
      cOut / g,
      loop(
        '$inChans',
        '$c',
        cIn,
        loop(
          '$kRows',
          '$u',
          kH,
          `(local.set $pd (i32.add (local.get ${sampleOuter ? '$part' : '$dw'}) (i32.shl (i32.add (i32.mul (i32.add (i32.mul (i32.mul (local.get $o) (i32.const ${g})) (i32.const ${cIn})) (local.get $c)) (i32.const ${kH * kW})) (i32.mul (local.get $u) (i32.const ${kW}))) (i32.const ${sampleOuter ? 4 : 2}))))
      ${tapBlocks.map((t) => pass(g, t, sampleOuter)).join('\n      ')}`,
        ),
      ),
    );
  return `
  (func (export "gradW") (param $x i32) (param $dz i32) (param $dw i32) (param $m i32)
    (local $o i32) (local $c i32) (local $u i32) (local $n i32) (local $i i32) (local $q i32)
    (local $px i32) (local $pz i32) (local $pd i32) ${locals}
    ${nest(gb, taps)}
    ${tail === undefined ? '' : nest(gbTail, [tail])})

  (func (export "gradWSampleOuter") (param $x i32) (param $dz i32) (param $dw i32) (param $m i32) (param $part i32)
    (local $o i32) (local $c i32) (local $u i32) (local $n i32) (local $i i32) (local $q i32)
    (local $px i32) (local $pz i32) (local $pd i32) (local $e i32) ${locals}
    (local.set $n (i32.const 0))
    (block $done (loop $samples
      (br_if $done (i32.ge_u (local.get $n) (local.get $m)))
      ${nest(gb, taps, true)}
      ${tail === undefined ? '' : nest(gbTail, [tail], true)}
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $samples)))
    ${loop(
      '$reduce',
      '$e',
      cOut * cIn * kH * kW,
      `(local.set $g0_0 (v128.load (i32.add (local.get $part) (i32.shl (local.get $e) (i32.const 4)))))
      (f32.store (i32.add (local.get $dw) (i32.shl (local.get $e) (i32.const 2)))
        (f32.add (f32.add ${lane('$g0_0', 0)} ${lane('$g0_0', 1)}) (f32.add ${lane('$g0_0', 2)} ${lane('$g0_0', 3)})))`,
    )})

  (func (export "gradB") (param $dz i32) (param $db i32) (param $m i32)
    (local $o i32) (local $n i32) (local $p i32) (local $end i32) (local $s v128)
    ${loop(
      '$chans',
      '$o',
      cOut,
      `(local.set $s (v128.const i32x4 0 0 0 0))
      (local.set $n (i32.const 0))
      (block $done (loop $samples
        (br_if $done (i32.ge_u (local.get $n) (local.get $m)))
        (local.set $p (i32.add (local.get $dz) (i32.mul (i32.add (i32.mul (local.get $n) (i32.const ${cOut})) (local.get $o)) (i32.const ${outH * outWp * 4}))))
        (local.set $end (i32.add (local.get $p) (i32.const ${outH * outWp * 4})))
        (loop $vecs
          (local.set $s (f32x4.add (local.get $s) (v128.load (local.get $p))))
          ${add('$p', 16)}
          (br_if $vecs (i32.lt_u (local.get $p) (local.get $end))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $samples)))
      (f32.store (i32.add (local.get $db) (i32.shl (local.get $o) (i32.const 2)))
        (f32.add (f32.add ${lane('$s', 0)} ${lane('$s', 1)}) (f32.add ${lane('$s', 2)} ${lane('$s', 3)})))`,
    )})
`;
}

/**
 * deltaX(dz, w, dx, m): δx += the scatter of every δz row through the kernel. For each (n, c, row i,
 * kernel row u, vector block, block of dvb taps v): t[v][q] = Σ_o w[o,c,u,v] · δz[n,o,i,4q…]
 * (dvb × dj vector sums, one o per loop iteration), then δx[n,c,i+u, 4q+v…] += t[v][q]. δx must be
 * zeroed first (the host does it). The shifted read-modify-writes run in increasing v, so
 * overlapping lanes add up in a fixed order.
 */
function deltaXWat(s: ConvKernelShape): string {
  const { cIn, cOut, kH, kW, hp, wp, outH, outWp, dj, dvb } = s;
  const nBlocks = outWp / (4 * dj);
  const vBlocks = blocks(kW, dvb);
  // The last, narrower block of taps (kW % dvb of them) would run on as few as dj accumulators per
  // kernel row u (add-latency-bound); with one vector block per row (nBlocks = 1) it instead runs
  // once per output row i for groups of kernel rows, after every row's main passes. Each δx element
  // still receives its contributions in the same order (for one i, only one u reaches a given δx row).
  const nvTail = vBlocks.length > 1 && vBlocks[vBlocks.length - 1][1] < dvb ? vBlocks[vBlocks.length - 1][1] : 0;
  const maxTaps = Math.floor((14 - dj) / (dj + 1));
  const isTailMerged = nBlocks === 1 && nvTail > 0 && nvTail <= maxTaps && kH > 1;
  const mainBlocks = isTailMerged ? vBlocks.slice(0, -1) : vBlocks;
  const tailV0 = kW - nvTail;
  // kernel rows per tail group, as even as possible
  const nGroups = isTailMerged ? Math.ceil(kH / Math.floor(maxTaps / nvTail)) : 0;
  const groups: [number, number][] = [];
  for (let g = 0, u0 = 0; g < nGroups; g++) {
    const ub = Math.ceil((kH - u0) / (nGroups - g));
    groups.push([u0, ub]);
    u0 += ub;
  }
  const maxK = Math.max(dvb, ...groups.map(([, ub]) => ub * nvTail));
  const t = (k: number, q: number): string => `$t${k}_${q}`;
  const locals = [
    ...range(maxK).flatMap((k) => range(dj).map((q) => `(local ${t(k, q)} v128)`)),
    ...range(dj).map((q) => `(local $d${q} v128)`),
    ...range(maxK).map((k) => `(local $w${k} v128)`),
    ...range(dj + 2).map((p) => `(local $s${p} v128)`),
  ].join(' ');
  /** One pass over the output channels for taps [du, v] (du: kernel row relative to $pw0/$px's row). */
  const pass = (taps: [number, number][]): string => {
    const zero = taps
      .flatMap((_, k) => range(dj).map((q) => `(local.set ${t(k, q)} (v128.const i32x4 0 0 0 0))`))
      .join('\n          ');
    const body = [
      ...range(dj).map((q) => `(local.set $d${q} (v128.load offset=${16 * q} (local.get $pz)))`),
      ...taps.map(([du, v], k) => `(local.set $w${k} (v128.load32_splat offset=${du * cOut * kW * 4 + 4 * v} (local.get $pw)))`),
      ...taps.flatMap((_, k) =>
        range(dj).map((q) => `(local.set ${t(k, q)} ${madd(`(local.get $w${k})`, `(local.get $d${q})`, `(local.get ${t(k, q)})`, s.fma)})`),
      ),
    ].join('\n            ');
    // The shifted tap sums of one kernel row overlap in δx, so adding them there one by one would load
    // vectors that partly overlap stores still in flight (store-forwarding stalls). Instead the row's
    // δx vectors are loaded once, each tap's sums added in lane-shifted (zero-filled) — in the same
    // order as one-by-one, per element — and stored once. Adding +0 to a lane a tap does not reach
    // leaves it unchanged: δx starts at +0, so it never holds −0.
    const scatter = [...new Set(taps.map(([du]) => du))]
      .map((du) => {
        const row = taps.map((tap, k): [number, number] => [tap[1], k]).filter((_, k) => taps[k][0] === du);
        const vMin = Math.min(...row.map(([v]) => v));
        const vMax = Math.max(...row.map(([v]) => v));
        const nOut = dj + Math.ceil((vMax - vMin) / 4);
        const base = du * wp * 4 + 4 * vMin;
        // the last vector may reach up to 3 columns past the taps' extent: only while that stays in the row
        if (4 * dj * (nBlocks - 1) + vMin + 4 * nOut > wp) {
          return row
            .flatMap(([v, k]) =>
              range(dj).map((q) => {
                const off = du * wp * 4 + 16 * q + 4 * v;
                return `(v128.store offset=${off} (local.get $px) (f32x4.add (v128.load offset=${off} (local.get $px)) (local.get ${t(k, q)})))`;
              }),
            )
            .join('\n          ');
        }
        const lines = range(nOut).map((p) => `(local.set $s${p} (v128.load offset=${base + 16 * p} (local.get $px)))`);
        for (const [v, k] of row) {
          const sh = v - vMin;
          const r = sh % 4;
          for (let q = 0; q < dj; q++) {
            const p = q + Math.floor(sh / 4);
            const tk = `(local.get ${t(k, q)})`;
            if (r === 0) {
              lines.push(`(local.set $s${p} (f32x4.add (local.get $s${p}) ${tk}))`);
              continue;
            }
            // lanes 0..3−r of the sum go to lanes r..3 of output p, lanes 4−r..3 to lanes 0..r−1 of output p+1
            const up = range(4).flatMap((l) => (l < r ? [0, 1, 2, 3] : range(4).map((b) => 16 + 4 * (l - r) + b)));
            const down = range(4).flatMap((l) => (l < r ? range(4).map((b) => 4 * (4 - r + l) + b) : [16, 17, 18, 19]));
            lines.push(`(local.set $s${p} (f32x4.add (local.get $s${p}) (i8x16.shuffle ${up.join(' ')} (v128.const i32x4 0 0 0 0) ${tk})))`);
            lines.push(`(local.set $s${p + 1} (f32x4.add (local.get $s${p + 1}) (i8x16.shuffle ${down.join(' ')} ${tk} (v128.const i32x4 0 0 0 0))))`);
          }
        }
        lines.push(...range(nOut).map((p) => `(v128.store offset=${base + 16 * p} (local.get $px) (local.get $s${p}))`));
        return lines.join('\n          ');
      })
      .join('\n          ');
    return `${zero}
          (local.set $pz (local.get $pz0))
          (local.set $pw (local.get $pw0))
          ${loop(
            '$outChans',
            '$o',
            cOut,
            `${body}
            ${add('$pz', outH * outWp * 4)}
            ${add('$pw', kW * 4)}`,
          )}
          ${scatter}`;
  };
  const tapsOf = ([v0, nv]: [number, number]): [number, number][] => range(nv).map((v) => [0, v0 + v]);
  // $pz0, $pw0, $px for kernel row `u` (an i32 expression) and vector block $q
  const pointers = (u: string): string => `(local.set $pz0 (i32.add (local.get $dz) (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (i32.const ${cOut * outH})) (local.get $i)) (i32.const ${outWp * 4})) (i32.mul (local.get $q) (i32.const ${16 * dj})))))
          (local.set $pw0 (i32.add (local.get $w) (i32.mul (i32.add (i32.mul (local.get $c) (i32.const ${kH})) ${u}) (i32.const ${cOut * kW * 4}))))
          (local.set $px (i32.add (local.get $dx) (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (local.get $n) (i32.const ${cIn})) (local.get $c)) (i32.const ${hp})) (i32.add (local.get $i) ${u})) (i32.const ${wp * 4})) (i32.mul (local.get $q) (i32.const ${16 * dj})))))`;
  const main = loop(
    '$kRows',
    '$u',
    kH,
    loop('$blocks', '$q', nBlocks, `${pointers('(local.get $u)')}
          ${mainBlocks.map((b) => pass(tapsOf(b))).join('\n          ')}`),
  );
  // nBlocks = 1 here, so $q stays 0
  const tail = groups
    .map(([u0, ub]) => `${pointers(`(i32.const ${u0})`)}
          ${pass(range(ub).flatMap((du) => range(nvTail).map((v): [number, number] => [du, tailV0 + v])))}`)
    .join('\n          ');
  return `
  (func (export "deltaX") (param $dz i32) (param $w i32) (param $dx i32) (param $m i32)
    (local $n i32) (local $c i32) (local $i i32) (local $u i32) (local $q i32) (local $o i32)
    (local $pz i32) (local $pw i32) (local $px i32) (local $pz0 i32) (local $pw0 i32) ${locals}
    (local.set $n (i32.const 0))
    (block $done (loop $samples
      (br_if $done (i32.ge_u (local.get $n) (local.get $m)))
      ${loop(
        '$inChans',
        '$c',
        cIn,
        loop(
          '$rows',
          '$i',
          outH,
          `${main}
          ${isTailMerged ? '(local.set $q (i32.const 0))' : ''}
          ${tail}`,
        ),
      )}
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $samples))))
`;
}

/** The module for one shape: imports `env.memory`, exports forward, gradW, gradWSampleOuter, gradB and deltaX. */
export function convWat(s: ConvKernelShape): string {
  const bad = (why: string): never => {
    throw new Error(`convWat: ${why} (${JSON.stringify(s)})`);
  };
  if (s.cOut % s.ob !== 0 || s.cOut % s.gb !== 0 || s.cOut % (s.gbTail ?? s.gb) !== 0) bad('ob and gb must divide cOut');
  if (s.outWp % (4 * s.jb) !== 0 || s.outWp % (4 * s.dj) !== 0) bad('outWp must be a multiple of 4·jb and 4·dj');
  if (s.gvb < 1 || s.dvb < 1) bad('gvb and dvb must be ≥ 1');
  if (s.wp % 4 !== 0 || s.wp < s.outWp + s.kW - 1) bad('wp must be a multiple of 4 and ≥ outWp + kW − 1');
  if (s.hp !== s.outH + s.kH - 1) bad('hp must be outH + kH − 1 (stride 1)');
  return `(module
  (import "env" "memory" (memory 1 65536 shared))
${forwardWat(s)}
${gradWat(s)}
${deltaXWat(s)}
)
`;
}
