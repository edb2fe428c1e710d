/**
 * Weight initializers: fill a parameter tensor from a seeded Rng (src/ops/random.ts).
 *
 *   He (Kaiming) for ReLU nets, He et al. 2015:   Var[w] = 2 / fanIn
 *     heUniform: w ~ U(−√(6/fanIn), √(6/fanIn));  heNormal: w ~ N(0, 2/fanIn)
 *   Glorot (Xavier) for sigmoid/tanh, Glorot & Bengio 2010:   Var[w] = 2 / (fanIn + fanOut)
 *     glorotUniform: w ~ U(−√(6/(fanIn+fanOut)), √(6/(fanIn+fanOut)))
 *
 * fanIn is inputs per output unit (dense: m_in; conv: cIn·kH·kW); fanOut is outputs per input
 * (dense: n; conv: cOut·kH·kW). Layout of `out` does not matter: every element is drawn i.i.d.
 * Each function overwrites `out` and returns it.
 */
import type { Rng } from './random.js';

function checkFan(where: string, name: string, fan: number): void {
  if (!(Number.isFinite(fan) && fan > 0)) throw new RangeError(`${where}: ${name} must be a positive number, got ${fan}`);
}

/** He uniform: out[i] ~ U(−√(6/fanIn), √(6/fanIn)). Overwrites `out`. @example heUniform(rng, 784, W) */
export function heUniform(rng: Rng, fanIn: number, out: Float32Array): Float32Array {
  checkFan('heUniform', 'fanIn', fanIn);
  const limit = Math.sqrt(6 / fanIn);
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * limit;
  return out;
}

/** He normal: out[i] ~ N(0, 2/fanIn). Overwrites `out`. @example heNormal(rng, 9, W) */
export function heNormal(rng: Rng, fanIn: number, out: Float32Array): Float32Array {
  checkFan('heNormal', 'fanIn', fanIn);
  const std = Math.sqrt(2 / fanIn);
  for (let i = 0; i < out.length; i++) out[i] = rng.normal() * std;
  return out;
}

/** Glorot uniform: out[i] ~ U(−√(6/(fanIn+fanOut)), +√(…)). Overwrites `out`. @example glorotUniform(rng, 100, 10, W) */
export function glorotUniform(rng: Rng, fanIn: number, fanOut: number, out: Float32Array): Float32Array {
  checkFan('glorotUniform', 'fanIn', fanIn);
  checkFan('glorotUniform', 'fanOut', fanOut);
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * limit;
  return out;
}
