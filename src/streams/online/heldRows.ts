/**
 * Rows an online run holds between their arrival and their label — each a Sample and the prediction
 * every learner made when it arrived — packed column-wise as data for a checkpoint, and back.
 *
 * Packed layout of n rows (k learners):
 *
 *   x, target               every row's values end to end (Float32Array), with per-row lengths (Int32Array)
 *   label                   Int32Array[n]
 *   sources, sourceIndex    the distinct origin sources, and each row's index into them
 *   line, record, endOffset Float64Array[n] (the origin's numbers)
 *   ids, kept               per row: the origin id (or null) and the kept texts (or null)
 *   predictions[j]          learner j's outputs and probabilities end to end with their lengths
 *                           (−1: no probabilities), and its predicted classes (Int32Array[n])
 *
 * Floats are stored bit for bit (typed arrays), so a run restored from a checkpoint scores and learns
 * held rows exactly as it would have.
 */
import type { RowOrigin, Sample } from '../types.js';
import type { Prediction } from './onlineLearner.js';
import { OnlineStateError, type StateReader } from './stateReader.js';

/** A row waiting for its label: the sample and one arrival prediction per learner. */
export interface Held {
  readonly sample: Sample;
  readonly predictions: readonly Prediction[];
}

/** Float arrays end to end, with their lengths (−1 for a missing one). */
export type PackedFloats = { readonly data: Float32Array; readonly lengths: Int32Array };

/** Held rows as data (see the file comment). */
export type HeldRows = {
  readonly n: number;
  readonly x: PackedFloats;
  readonly target: PackedFloats;
  readonly label: Int32Array;
  readonly sources: readonly string[];
  readonly sourceIndex: Uint32Array;
  readonly line: Float64Array;
  readonly record: Float64Array;
  readonly endOffset: Float64Array;
  readonly ids: readonly (string | null)[];
  readonly kept: readonly (readonly string[] | null)[];
  readonly predictions: readonly { readonly output: PackedFloats; readonly probabilities: PackedFloats; readonly predicted: Int32Array }[];
};

export function packFloats(list: readonly (Float32Array | null)[]): PackedFloats {
  const lengths = Int32Array.from(list, (a) => (a === null ? -1 : a.length));
  const data = new Float32Array(list.reduce((n, a) => n + (a?.length ?? 0), 0));
  let at = 0;
  for (const a of list) {
    if (a === null) continue;
    data.set(a, at);
    at += a.length;
  }
  return { data, lengths };
}

export function unpackFloats(p: PackedFloats, n: number, what: string): (Float32Array | null)[] {
  if (p.lengths.length !== n) throw new RangeError(`held rows: ${what} has ${p.lengths.length} lengths for ${n} rows`);
  const out: (Float32Array | null)[] = [];
  let at = 0;
  for (const len of p.lengths) {
    if (len < 0) {
      out.push(null);
      continue;
    }
    if (at + len > p.data.length) throw new RangeError(`held rows: ${what} holds ${p.data.length} values, its lengths need more`);
    out.push(p.data.slice(at, at + len));
    at += len;
  }
  if (at !== p.data.length) throw new RangeError(`held rows: ${what} holds ${p.data.length} values, its lengths ${at}`);
  return out;
}

/** Pack `rows` for `nLearners` learners (see the file comment). */
export function packHeld(rows: readonly Held[], nLearners: number): HeldRows {
  const sources: string[] = [];
  const sourceIndex = new Uint32Array(rows.length);
  rows.forEach((r, i) => {
    let k = sources.indexOf(r.sample.origin.source);
    if (k < 0) k = sources.push(r.sample.origin.source) - 1;
    sourceIndex[i] = k;
  });
  const predictions = Array.from({ length: nLearners }, (_, j) => ({
    output: packFloats(rows.map((r) => r.predictions[j].output)),
    probabilities: packFloats(rows.map((r) => r.predictions[j].probabilities)),
    predicted: Int32Array.from(rows, (r) => r.predictions[j].predicted),
  }));
  return {
    n: rows.length,
    x: packFloats(rows.map((r) => r.sample.x)),
    target: packFloats(rows.map((r) => r.sample.target)),
    label: Int32Array.from(rows, (r) => r.sample.label),
    sources,
    sourceIndex,
    line: Float64Array.from(rows, (r) => r.sample.origin.line),
    record: Float64Array.from(rows, (r) => r.sample.origin.record),
    endOffset: Float64Array.from(rows, (r) => r.sample.origin.endOffset),
    ids: rows.map((r) => r.sample.origin.id ?? null),
    kept: rows.map((r) => (r.sample.kept === undefined ? null : [...r.sample.kept])),
    predictions,
  };
}

/** The rows of `packed`, each with its `nLearners` predictions. */
export function unpackHeld(packed: HeldRows, nLearners: number): Held[] {
  const { n } = packed;
  if (packed.predictions.length !== nLearners) throw new RangeError(`held rows: predictions of ${packed.predictions.length} learners, the run has ${nLearners}`);
  const xs = unpackFloats(packed.x, n, 'x');
  const targets = unpackFloats(packed.target, n, 'target');
  const preds = packed.predictions.map((p, j) => ({
    output: unpackFloats(p.output, n, `learner ${j + 1}'s outputs`),
    probabilities: unpackFloats(p.probabilities, n, `learner ${j + 1}'s probabilities`),
    predicted: p.predicted,
  }));
  const rows: Held[] = [];
  for (let i = 0; i < n; i++) {
    const x = xs[i];
    const target = targets[i];
    const source = packed.sources[packed.sourceIndex[i]];
    if (x === null || target === null || source === undefined) throw new RangeError(`held rows: row ${i} has no x, target or source`);
    const id = packed.ids[i];
    const origin: RowOrigin = { source, line: packed.line[i], record: packed.record[i], endOffset: packed.endOffset[i], ...(id === null || id === undefined ? {} : { id }) };
    const kept = packed.kept[i];
    const sample: Sample = { x, target, label: packed.label[i], origin, ...(kept === null || kept === undefined ? {} : { kept }) };
    const predictions = preds.map((p): Prediction => {
      const output = p.output[i];
      if (output === null) throw new RangeError(`held rows: row ${i} has no output`);
      return { output, predicted: p.predicted[i], probabilities: p.probabilities[i] };
    });
    rows.push({ sample, predictions });
  }
  return rows;
}

/** Packed held rows read back from data (a checkpoint), every field's type checked. */
export function readHeldRows(r: StateReader): HeldRows {
  const floats = (p: StateReader): PackedFloats => ({ data: p.f32('data'), lengths: p.i32('lengths') });
  const kept = r.list('kept').map((v, i) => {
    if (v === null) return null;
    if (Array.isArray(v) && v.every((t): t is string => typeof t === 'string')) return v;
    throw new OnlineStateError(`${r.path}.kept[${i}]`, 'must be null or a list of strings');
  });
  const ids = r.list('ids').map((v, i) => {
    if (v === null || typeof v === 'string') return v;
    throw new OnlineStateError(`${r.path}.ids[${i}]`, 'must be null or a string');
  });
  return {
    n: r.count('n'),
    x: floats(r.obj('x')),
    target: floats(r.obj('target')),
    label: r.i32('label'),
    sources: r.strs('sources'),
    sourceIndex: r.u32('sourceIndex'),
    line: r.f64('line'),
    record: r.f64('record'),
    endOffset: r.f64('endOffset'),
    ids,
    kept,
    predictions: r.objs('predictions').map((p) => ({ output: floats(p.obj('output')), probabilities: floats(p.obj('probabilities')), predicted: p.i32('predicted') })),
  };
}
