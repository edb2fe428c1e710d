/**
 * Predictions as the answer of `POST /predict`: per row, for classification the class (named as the
 * model's meta names its classes) and every class's probability — softmax of the logits for a ce
 * model (max subtracted, in float64, MATH.md 4.2), the sigmoid outputs of an mse one — and for
 * regression the value(s) in target units (a model that learned normalized targets has its outputs
 * mapped back, commands/targets.ts). The numbers are those `deltaflow predict` prints before it rounds
 * them to 7 significant digits; the class is the first of the largest outputs, as there.
 *
 *   {"version": 3, "predictions": [{"id": "r1", "class": "setosa", "probabilities": {"setosa": 0.97, …}}]}
 *   {"version": 3, "predictions": [{"value": 182000.5}]}          one target
 *   {"version": 3, "predictions": [{"values": {"y1": 1, "y2": 2}}]}  several
 */
import type { DataMeta } from '../commands/meta.js';
import { denormalizeOutputs } from '../commands/targets.js';

export type Prediction =
  | { readonly id?: string; readonly class: string; readonly probabilities: Readonly<Record<string, number>> }
  | { readonly id?: string; readonly value: number }
  | { readonly id?: string; readonly values: Readonly<Record<string, number>> };

/** Index of the first largest value of `row`. */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

/** The predictions of a batch's outputs `out` `[m, k]`, with the rows' ids (null: none). */
export function predictions(meta: DataMeta, out: Float32Array, m: number, k: number, ids: readonly (string | null)[]): Prediction[] {
  const withId = <T extends object>(i: number, p: T): T & { id?: string } => {
    const id = ids[i];
    return id === null ? p : { id, ...p };
  };
  if (meta.task === 'regress') {
    const values = denormalizeOutputs(meta.targetNormalize, out, m, k);
    return Array.from({ length: m }, (_, i) =>
      k === 1 ? withId(i, { value: values[i] }) : withId(i, { values: Object.fromEntries(meta.label.map((t, j) => [t, values[i * k + j]])) }),
    );
  }
  const names = meta.classes ?? [];
  const p = new Float64Array(k);
  return Array.from({ length: m }, (_, i) => {
    const row = out.subarray(i * k, (i + 1) * k);
    const best = argmax(row);
    if (meta.loss === 'ce') {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += p[j] = Math.exp(row[j] - row[best]);
      for (let j = 0; j < k; j++) p[j] /= sum;
    } else {
      for (let j = 0; j < k; j++) p[j] = row[j];
    }
    // fromEntries defines own properties, so even a class named "__proto__" is an ordinary key.
    const probabilities = Object.fromEntries(Array.from(p, (v, j) => [names[j] ?? String(j), v]));
    return withId(i, { class: names[best] ?? String(best), probabilities });
  });
}
