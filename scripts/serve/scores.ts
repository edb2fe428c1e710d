/**
 * Prequential scores of a serving learner: each labelled row is scored with the prediction made
 * before it was learned from (at once for a labelled row, at its arrival for a late label), and the
 * scores are folded into cumulative and sliding-window means.
 *
 * The fold is the one `prequential` (src/streams/online/prequential.ts) makes at batch size 1, in the
 * same floating-point order (add the newest, then drop the oldest while the newer ones alone fill the
 * window), so a server that learned the rows `deltaflow online` read reports the same numbers.
 */

export interface PrequentialScores {
  readonly seen: number;
  readonly cumulativeAccuracy: number | null;
  readonly windowAccuracy: number | null;
  readonly cumulativeLoss: number | null;
  readonly windowLoss: number | null;
}

export class PrequentialTally {
  private seen = 0;
  private lossSum = 0;
  private correct = 0;
  private hasLabels = false;
  private readonly losses: Float64Array;
  private readonly hits: Uint8Array;
  private start = 0;
  private windowN = 0;
  private windowLoss = 0;
  private windowCorrect = 0;

  constructor(readonly window: number) {
    if (!(Number.isSafeInteger(window) && window >= 1)) throw new RangeError(`PrequentialTally: window must be a positive integer, got ${window}`);
    this.losses = new Float64Array(window);
    this.hits = new Uint8Array(window);
  }

  /** One scored row: its loss, and whether its class was right (null: regression). */
  add(loss: number, isCorrect: boolean | null): void {
    const hit = isCorrect === true ? 1 : 0;
    this.hasLabels = isCorrect !== null;
    this.seen += 1;
    this.lossSum += loss;
    this.correct += hit;
    // The ring holds at most `window` rows; the newest enters before the oldest leaves, as in prequential.
    this.windowN += 1;
    this.windowLoss += loss;
    this.windowCorrect += hit;
    if (this.windowN > this.window) {
      this.windowN -= 1;
      this.windowLoss -= this.losses[this.start];
      this.windowCorrect -= this.hits[this.start];
      this.start = (this.start + 1) % this.window;
    }
    const at = (this.start + this.windowN - 1) % this.window;
    this.losses[at] = loss;
    this.hits[at] = hit;
  }

  get scores(): PrequentialScores {
    const { seen, windowN } = this;
    if (seen === 0) return { seen, cumulativeAccuracy: null, windowAccuracy: null, cumulativeLoss: null, windowLoss: null };
    return {
      seen,
      cumulativeAccuracy: this.hasLabels ? this.correct / seen : null,
      windowAccuracy: this.hasLabels ? this.windowCorrect / windowN : null,
      cumulativeLoss: this.lossSum / seen,
      windowLoss: this.windowLoss / windowN,
    };
  }
}
