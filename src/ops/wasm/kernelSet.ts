/**
 * Which kernel set this thread runs: the TypeScript kernels, the WebAssembly SIMD (simd128) kernels,
 * or the simd128 kernels with relaxed-SIMD fused multiply-add (`f32x4.relaxed_madd`) in the GEMM and
 * convolution inner loops. Chosen once per thread, by the first `chooseKernelSet()` (initKernels(),
 * initWasm() and initConvWasm() all call it), and fixed from then on: the kernels of one thread never
 * change under a running model.
 *
 * Detection:
 *   simd128       the wasm-feature-detect probe `(i8x16.splat (i32.const 0))` validates.
 *   relaxed SIMD  a module using `f32x4.relaxed_madd` validates. Node 22+ has it by default; Node 20
 *                 (V8 11.3) keeps it behind `--experimental-wasm-relaxed-simd`, and setting that flag
 *                 at run time with `v8.setFlagsFromString` before the first relaxed module is compiled
 *                 is enough: it is process-wide (worker threads started before or after see it) and
 *                 both V8 tiers (Liftoff and TurboFan) then compile relaxed_madd. So in Node the flag
 *                 is set when the probe fails, and the probe repeated.
 *   fused         relaxed_madd may round once (a hardware FMA) or twice (multiply, then add) — the
 *                 proposal leaves it to the machine. It is measured: (1 + 2⁻¹²)² − (1 + 2⁻¹¹) is 2⁻²⁴
 *                 fused and 0 unfused. Either way the choice is fixed per machine, so results stay
 *                 deterministic on one machine; only across machines do FMA runs differ in the last bits.
 *
 * `DELTAFLOW_KERNELS` (environment, Node only) overrides the automatic choice: `typescript` (no WASM),
 * `simd128` (WASM without FMA), `fma` (require relaxed SIMD; an error when the runtime lacks it), or
 * `auto` (the default: the best the runtime has).
 *
 * NOTE: module state (the thread's choice) is deliberate, like the kernel instances it selects
 * (gemmWasm.ts, convWasm.ts): each worker thread chooses its own, and the gradient pool makes its
 * workers choose the main thread's (parallelBackprop.ts).
 */

// NOTE: lib ES2022 and @types/node 20 do not declare WebAssembly; the members used are declared here.
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

/** A thread's kernels: WASM or not, FMA or not, and whether this machine's relaxed_madd rounds once. */
export interface KernelSet {
  /** The WebAssembly SIMD kernels are on (otherwise the TypeScript kernels run). */
  readonly wasm: boolean;
  /** GEMM and convolution use f32x4.relaxed_madd. */
  readonly fma: boolean;
  /** relaxed_madd rounds once here (a fused multiply-add); meaningful when `fma`. */
  readonly isFused: boolean;
}

/** What the runtime can do, before any choice. */
export interface KernelFeatures {
  readonly simd: boolean;
  readonly relaxedSimd: boolean;
  /** relaxed_madd rounds once (false when relaxed SIMD is missing). */
  readonly isFused: boolean;
  /** The V8 flag had to be set at run time to get relaxed SIMD (Node 20). */
  readonly isFlagSet: boolean;
}

/** What a caller may ask for: `fma: false` forces the plain simd128 kernels, `fma: true` requires FMA, `wasm: false` the TypeScript kernels. */
export interface KernelRequest {
  readonly wasm?: boolean;
  readonly fma?: boolean;
}

/** The feature probe of wasm-feature-detect: (i32.const 0) (i8x16.splat) (drop). */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11]);

/**
 * (func (export "f") (param f32 f32 f32) (result f32)
 *   (f32x4.extract_lane 0 (f32x4.relaxed_madd (f32x4.splat p0) (f32x4.splat p1) (f32x4.splat p2))))
 * assembled by hand (relaxed_madd is 0xfd 0x85 0x02).
 */
const MADD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 125, 125, 125, 1, 125, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 22, 1, 20, 0, 32, 0, 253, 19, 32, 1,
  253, 19, 32, 2, 253, 19, 253, 133, 2, 253, 31, 0, 11,
]);

let features: Promise<KernelFeatures> | undefined;
let chosen: { readonly request: KernelRequest; readonly set: Promise<KernelSet> } | undefined;
let settled: KernelSet | undefined;

const hasWebAssembly = (): boolean => typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';

/** Set V8's relaxed-SIMD flag when this is Node and the flag exists; true when it was set. */
async function setRelaxedSimdFlag(): Promise<boolean> {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (proc?.versions?.node === undefined) return false;
  try {
    const v8 = typeof proc.getBuiltinModule === 'function' ? proc.getBuiltinModule('node:v8') : await import('node:v8');
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    return true;
  } catch {
    return false;
  }
}

/** Whether relaxed_madd rounds once: (1 + 2⁻¹²)·(1 + 2⁻¹²) − (1 + 2⁻¹¹) is 2⁻²⁴ exactly when fused, 0 when rounded first. */
function measureFused(): boolean {
  const f = new WebAssembly.Instance(new WebAssembly.Module(MADD_PROBE), {}).exports.f;
  if (typeof f !== 'function') return false;
  const a = 1 + 2 ** -12;
  return (f as (a: number, b: number, c: number) => number)(a, a, -(1 + 2 ** -11)) === 2 ** -24;
}

/** Probe the runtime (once per thread; sets the V8 flag in Node 20 when that brings relaxed SIMD). */
export function detectKernelFeatures(): Promise<KernelFeatures> {
  features ??= (async () => {
    if (!hasWebAssembly() || !WebAssembly.validate(SIMD_PROBE)) return { simd: false, relaxedSimd: false, isFused: false, isFlagSet: false };
    let relaxedSimd = WebAssembly.validate(MADD_PROBE);
    let isFlagSet = false;
    if (!relaxedSimd && (await setRelaxedSimdFlag())) {
      relaxedSimd = WebAssembly.validate(MADD_PROBE);
      isFlagSet = relaxedSimd;
    }
    return { simd: true, relaxedSimd, isFused: relaxedSimd && measureFused(), isFlagSet };
  })();
  return features;
}

/** A kernel set that cannot be had: a bad DELTAFLOW_KERNELS, FMA asked of a runtime without it, or a switch of a thread's set. */
export class KernelSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelSetError';
  }
}

/** The names DELTAFLOW_KERNELS takes, and what each asks for. */
const ENVIRONMENT_REQUESTS: Readonly<Record<string, KernelRequest>> = { auto: {}, typescript: { wasm: false }, simd128: { fma: false }, fma: { fma: true } };

/** DELTAFLOW_KERNELS as a request (Node only; anything else than the four names is an error). */
function environmentRequest(): KernelRequest {
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  const value = proc?.env?.DELTAFLOW_KERNELS;
  if (value === undefined || value === '') return {};
  const request = Object.hasOwn(ENVIRONMENT_REQUESTS, value) ? ENVIRONMENT_REQUESTS[value] : undefined;
  if (request === undefined) throw new KernelSetError(`DELTAFLOW_KERNELS must be one of ${Object.keys(ENVIRONMENT_REQUESTS).join(', ')}; got "${value}"`);
  return request;
}

const sameRequest = (a: KernelRequest, b: KernelRequest): boolean => a.wasm === b.wasm && a.fma === b.fma;

async function choose(request: KernelRequest): Promise<KernelSet> {
  const f = await detectKernelFeatures();
  if (request.wasm === false) return { wasm: false, fma: false, isFused: false };
  if (request.fma === true && !f.relaxedSimd) {
    throw new KernelSetError(
      f.simd ? 'kernels: relaxed-SIMD FMA was asked for, but this runtime has no relaxed SIMD' : 'kernels: relaxed-SIMD FMA was asked for, but this runtime has no WebAssembly SIMD',
    );
  }
  if (!f.simd) return { wasm: false, fma: false, isFused: false };
  const fma = request.fma ?? f.relaxedSimd;
  return { wasm: true, fma, isFused: fma && f.isFused };
}

/**
 * The kernel set of this thread, chosen at the first call: from `request` when given, else from
 * DELTAFLOW_KERNELS, else the best the runtime has. A later call with a different explicit request
 * rejects (the set of a thread never changes); a call without one returns the chosen set.
 *
 * @example const set = await chooseKernelSet(); describeKernelSet(set) // 'wasm-simd128 + relaxed FMA'
 */
export function chooseKernelSet(request?: KernelRequest): Promise<KernelSet> {
  if (chosen === undefined) {
    let want: KernelRequest;
    try {
      want = request ?? environmentRequest();
    } catch (err) {
      return Promise.reject(err);
    }
    const set = choose(want).then((s) => (settled = s));
    chosen = { request: want, set };
    return set;
  }
  if (request !== undefined && !sameRequest(request, chosen.request)) {
    const before = chosen;
    return before.set.then((s) => {
      const fits = (request.wasm === undefined || request.wasm === s.wasm) && (request.fma === undefined || request.fma === s.fma);
      if (!fits) throw new KernelSetError(`kernels: this thread already runs ${describeKernelSet(s)}; cannot switch to ${JSON.stringify(request)}`);
      return s;
    });
  }
  return chosen.set;
}

/** The set chosen in this thread, or undefined before chooseKernelSet() has resolved. */
export function currentKernelSet(): KernelSet | undefined {
  return settled;
}

/** The set in words, as `deltaflow --version` and `inspect` print it. */
export function describeKernelSet(set: KernelSet): string {
  if (!set.wasm) return 'typescript';
  if (!set.fma) return 'wasm-simd128';
  return set.isFused ? 'wasm-simd128 + relaxed FMA' : 'wasm-simd128 + relaxed madd (unfused on this CPU)';
}
