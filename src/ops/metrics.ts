/**
 * Classification metrics over a batch of model outputs.
 *
 * Layout: `output` is m × n row-major (one sample's scores per row; logits or probabilities — the
 * argmax is the same); `labels` holds m class indices in 0..n−1. The predicted class is the first
 * index of the row's maximum. A confusion matrix is n × n, rows = true class, columns = predicted.
 */
import { ShapeError } from './tensor.js';

function checkOutput(where: string, output: Float32Array, labels: Int32Array, m: number, n: number): void {
  if (output.length !== m * n) throw new ShapeError(where, [m, n], [output.length], 'output');
  if (labels.length !== m) throw new ShapeError(where, [m], [labels.length], 'labels');
}

/** Index of the largest value of row i (the first one on ties; NaN never wins). */
export function argmaxRow(output: Float32Array, i: number, n: number): number {
  const row = i * n;
  let best = 0;
  let max = -Infinity;
  for (let k = 0; k < n; k++) {
    if (output[row + k] > max) {
      max = output[row + k];
      best = k;
    }
  }
  return best;
}

/** How many rows' argmax equals their label. @example countCorrect(logits, labels, m, 10) */
export function countCorrect(output: Float32Array, labels: Int32Array, m: number, n: number): number {
  checkOutput('countCorrect', output, labels, m, n);
  let correct = 0;
  for (let i = 0; i < m; i++) if (argmaxRow(output, i, n) === labels[i]) correct++;
  return correct;
}

/** An n × n matrix of zeros. */
export function createConfusion(n: number): number[][] {
  return Array.from({ length: n }, () => new Array<number>(n).fill(0));
}

/** Count each row into `confusion[label][argmax]`; returns `confusion`. Labels outside 0..n−1 throw. */
export function addToConfusion(confusion: number[][], output: Float32Array, labels: Int32Array, m: number, n: number): number[][] {
  checkOutput('addToConfusion', output, labels, m, n);
  if (confusion.length !== n) throw new ShapeError('addToConfusion', [n, n], [confusion.length], 'confusion');
  for (let i = 0; i < m; i++) {
    const label = labels[i];
    if (!(label >= 0 && label < n)) throw new RangeError(`addToConfusion: label ${label} of row ${i} not in [0,${n})`);
    confusion[label][argmaxRow(output, i, n)]++;
  }
  return confusion;
}
