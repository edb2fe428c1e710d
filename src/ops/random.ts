/**
 * Seeded, serializable random numbers: everything random in deltaflow (initialization, shuffling)
 * draws from an Rng passed in, so one seed fixes a run (DESIGN.md, "Determinism").
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit state, passes
 * PractRand), seeded through splitmix32 so that nearby seeds give unrelated streams. Reference:
 * https://pracrand.sourceforge.net/ and the JS port in bryc/code, jshash/PRNGs.md.
 *
 * State: four uint32 integers [a, b, c, d]; `state()` returns them and `rngFromState` resumes the
 * exact sequence. There is no hidden cache (normal() draws a fresh Box–Muller pair each call and
 * keeps one), so the four integers are the whole state — checkpoints rely on this.
 */

/** A seeded 32-bit generator. */
export interface Rng {
  /** Uniform in [0, 1), with 32 bits of resolution. */
  next(): number;
  /** Standard normal N(0, 1) (Box–Muller). */
  normal(): number;
  /** Uniform integer in 0..n−1, unbiased (rejection sampling); n is an integer in 1..2³². */
  int(n: number): number;
  /** The whole generator state as plain integers; `rngFromState(rng.state())` continues identically. */
  state(): number[];
}

const TWO_32 = 4294967296;

/** splitmix32 step: returns [next seed, output]; used only to expand a seed into sfc32's state. */
function splitmix32(x: number): [number, number] {
  const next = (x + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z >>> 0];
}

function makeSfc32(a0: number, b0: number, c0: number, d0: number): Rng {
  let a = a0 | 0;
  let b = b0 | 0;
  let c = c0 | 0;
  let d = d0 | 0;

  /** One sfc32 step; a uint32. */
  function nextUint32(): number {
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return t >>> 0;
  }

  return {
    next(): number {
      return nextUint32() / TWO_32;
    },
    normal(): number {
      // NOTE: u1 is in (0, 1], so log(u1) is finite.
      const u1 = (nextUint32() + 1) / TWO_32;
      const u2 = nextUint32() / TWO_32;
      return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    },
    int(n: number): number {
      if (!Number.isInteger(n) || n < 1 || n > TWO_32) {
        throw new RangeError(`Rng.int: n must be an integer in 1..2^32, got ${n}`);
      }
      // Accept only draws below the largest multiple of n, so every residue is equally likely.
      const limit = TWO_32 - (TWO_32 % n);
      let r = nextUint32();
      while (r >= limit) r = nextUint32();
      return r % n;
    },
    state(): number[] {
      return [a >>> 0, b >>> 0, c >>> 0, d >>> 0];
    },
  };
}

/**
 * A generator for `seed` (any safe integer, negative allowed). The same seed gives the same sequence.
 *
 * @example const rng = createRng(42); const u = rng.next(); const i = rng.int(10);
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`createRng: seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_32) >>> 0;
  let x = lo ^ Math.imul(hi, 0x27d4eb2d);
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [nextX, out] = splitmix32(x);
    x = nextX;
    words.push(out);
  }
  const rng = makeSfc32(words[0], words[1], words[2], words[3]);
  // The usual sfc32 warm-up: mix the seed through the state before the first output.
  for (let i = 0; i < 12; i++) rng.next();
  return rng;
}

/**
 * Resume a generator from `state()` output: it continues the same sequence exactly.
 *
 * @example const copy = rngFromState(rng.state()); copy.next() === rng.next(); // true
 */
export function rngFromState(state: readonly number[]): Rng {
  if (state.length !== 4 || !state.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_32)) {
    throw new RangeError(`rngFromState: expected 4 uint32 integers, got [${state.join(', ')}]`);
  }
  return makeSfc32(state[0], state[1], state[2], state[3]);
}

/**
 * Fisher–Yates shuffle in place: every permutation equally likely.
 *
 * @example const order = Int32Array.from({ length: n }, (_, i) => i); shuffleInPlace(order, rng);
 */
export function shuffleInPlace<T>(arr: T[] | Int32Array, rng: Rng): void {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = arr[i];
    arr[i] = arr[j];
    arr[j] = t;
  }
}
