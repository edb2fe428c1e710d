/**
 * The id-based label join of delayed labels: a row is predicted when it arrives and learned from when
 * its label arrives, later, by id. The join keeps what was predicted (any payload `P`: the features
 * and the prediction made at arrival, say) until the label comes, and counts everything that does not
 * meet its partner — nothing is dropped silently.
 *
 * Time is counted in arrivals, not seconds: the caller calls `tick()` once per arriving row (after
 * `predicted` for it, and after the labels that came with it). An item recorded at time t has waited
 * `now − t` ticks; once that exceeds `maxWait` it expires: `tick()` returns it, and a label for it
 * later counts as an unknown id. So with `maxWait` N, a label may come at most N arrivals after its
 * row (MOA's EvaluatePrequentialDelayed with a delay of N rows is the case of every label coming
 * exactly N arrivals late).
 *
 *   arrival i:  predicted(id_i, p_i)      → recorded at t = i (false: id_i already waiting — refused)
 *               labelled(id_j) → p_j      (j ≤ i; null: unknown id, or labelled already)
 *               tick()         → expired  (items recorded at t < i + 1 − maxWait)
 *   end:        drain()        → the items still waiting (never labelled)
 *
 * Memory is bounded by maxWait: with one recorded item per arrival at most maxWait + 1 items wait, and
 * as many ids are remembered (an id stays known after its label, until its time would have expired,
 * so a second label for it counts as a duplicate label and not as an unknown id). Beyond that the
 * oldest expire, whatever the rate of labels.
 *
 * Counters, each by kind: `predicted` (recorded), `labelled` (joined: returned by `labelled`),
 * `duplicateIds` (predictions refused: their id was waiting), `unknownIds` (labels whose id was never
 * seen or had expired), `duplicateLabels` (a second label for an id), `expired` (waited too long) and
 * `neverLabelled` (still waiting at `drain`). Always `predicted = labelled + expired + neverLabelled
 * + pending`.
 *
 * `snapshot()` is the whole join as data — the clock, the counters, and the remembered ids in arrival
 * order, each with its time, whether it is the id's current entry and its payload (null once labelled)
 * — and `restore` continues from it exactly; the caller stores the payloads (they are its own).
 */

export interface LabelJoinOptions {
  /** Arrivals an item may wait for its label (≥ 0): it expires at the (maxWait + 1)-th tick after its arrival. */
  readonly maxWait: number;
}

/** What the join met, by kind (see the file comment). */
export interface LabelJoinCounters {
  readonly predicted: number;
  readonly labelled: number;
  readonly duplicateIds: number;
  readonly unknownIds: number;
  readonly duplicateLabels: number;
  readonly expired: number;
  readonly neverLabelled: number;
}

interface Entry<P> {
  /** The arrival time it was recorded at. */
  readonly time: number;
  /** The payload while waiting; null once labelled (the id is remembered until its time expires). */
  pending: P | null;
}

/** A LabelJoin's state (see the file comment); `items` are the payloads, null once labelled. */
export interface LabelJoinState<P> {
  readonly now: number;
  readonly counters: LabelJoinCounters;
  /** The remembered ids in arrival order, with their times and whether each is the id's current entry. */
  readonly ids: readonly string[];
  readonly times: readonly number[];
  readonly isCurrent: readonly boolean[];
  readonly items: readonly (P | null)[];
}

/**
 * Joins predictions and their late labels by id; a plain class (no I/O, no RxJS).
 *
 * @example
 * const join = new LabelJoin<Sample>({ maxWait: 1000 });
 * join.predicted('r1', sample); join.tick();
 * const s = join.labelled('r1'); // the sample to learn from, or null (counted)
 */
export class LabelJoin<P> {
  readonly maxWait: number;
  private now = 0;
  private readonly entries = new Map<string, Entry<P>>();
  /** Ids in arrival order with the entry recorded for them (an id re-used after its label has two). */
  private queue: { readonly id: string; readonly entry: Entry<P> }[] = [];
  private head = 0;
  private waiting = 0;
  private counts = { predicted: 0, labelled: 0, duplicateIds: 0, unknownIds: 0, duplicateLabels: 0, expired: 0, neverLabelled: 0 };

  constructor(options: LabelJoinOptions) {
    const { maxWait } = options;
    if (!(Number.isSafeInteger(maxWait) && maxWait >= 0)) throw new RangeError(`LabelJoin: maxWait must be a non-negative integer (arrivals), got ${maxWait}`);
    this.maxWait = maxWait;
  }

  /** Every count by kind (a copy). */
  get counters(): LabelJoinCounters {
    return { ...this.counts };
  }

  /** Items waiting for their label. */
  get pending(): number {
    return this.waiting;
  }

  /** Arrivals counted so far (ticks). */
  get time(): number {
    return this.now;
  }

  /** True when a prediction with this id is waiting for its label. */
  isWaiting(id: string): boolean {
    return this.entries.get(id)?.pending != null;
  }

  /** Whether `id` is remembered: waiting for its label, or labelled and not yet forgotten (a label for it now is a duplicate). */
  isKnown(id: string): boolean {
    return this.entries.has(id);
  }

  /**
   * Checks ids arriving together before any of them is recorded (a request of several rows is taken
   * whole or not at all): the index of the first id that is already waiting or repeated among them —
   * counted as a duplicate id — or −1 when every one is new. Records nothing.
   */
  checkIds(ids: readonly string[]): number {
    const seen = new Set<string>();
    for (let i = 0; i < ids.length; i++) {
      if (this.isWaiting(ids[i]) || seen.has(ids[i])) {
        this.counts.duplicateIds++;
        return i;
      }
      seen.add(ids[i]);
    }
    return -1;
  }

  /** Records a prediction made now; false (counted as a duplicate id, nothing recorded) when `id` is already waiting. */
  predicted(id: string, pending: P): boolean {
    if (this.isWaiting(id)) {
      this.counts.duplicateIds++;
      return false;
    }
    const entry: Entry<P> = { time: this.now, pending };
    this.entries.set(id, entry);
    this.queue.push({ id, entry });
    this.waiting++;
    this.counts.predicted++;
    return true;
  }

  /**
   * The label for `id` arrived: returns the waiting item to learn from, or null — counted as an unknown
   * id (never seen, or expired) or as a duplicate label (labelled before).
   */
  labelled(id: string): P | null {
    const entry = this.entries.get(id);
    if (entry === undefined) {
      this.counts.unknownIds++;
      return null;
    }
    if (entry.pending === null) {
      this.counts.duplicateLabels++;
      return null;
    }
    const item = entry.pending;
    entry.pending = null;
    this.waiting--;
    this.counts.labelled++;
    return item;
  }

  /** One arrival passes: returns the items whose wait now exceeds maxWait (oldest first), counted as expired. */
  tick(): P[] {
    this.now++;
    const expired: P[] = [];
    while (this.head < this.queue.length && this.now - this.queue[this.head].entry.time > this.maxWait) {
      const { id, entry } = this.queue[this.head++];
      // An id re-used after its label has a newer entry: only the entry queued here is forgotten.
      if (this.entries.get(id) === entry) this.entries.delete(id);
      if (entry.pending !== null) {
        expired.push(entry.pending);
        entry.pending = null;
        this.waiting--;
        this.counts.expired++;
      }
    }
    this.compact();
    return expired;
  }

  /** The end of the stream: returns the items still waiting (oldest first), counted as never labelled, and forgets every id. */
  drain(): P[] {
    const left: P[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const { entry } = this.queue[i];
      if (entry.pending !== null) {
        left.push(entry.pending);
        entry.pending = null;
      }
    }
    this.counts.neverLabelled += left.length;
    this.waiting = 0;
    this.entries.clear();
    this.queue = [];
    this.head = 0;
    return left;
  }

  /** The whole join (see the file comment); payloads as they are (the caller copies what it keeps). */
  snapshot(): LabelJoinState<P> {
    const live = this.queue.slice(this.head);
    return {
      now: this.now,
      counters: this.counters,
      ids: live.map((q) => q.id),
      times: live.map((q) => q.entry.time),
      isCurrent: live.map((q) => this.entries.get(q.id) === q.entry),
      items: live.map((q) => q.entry.pending),
    };
  }

  /** Continue from a snapshot (of a join with the same maxWait): every waiting item and remembered id comes back. */
  restore(state: LabelJoinState<P>): void {
    const n = state.ids.length;
    if (state.times.length !== n || state.isCurrent.length !== n || state.items.length !== n) {
      throw new RangeError(`LabelJoin: cannot restore: ${n} ids with ${state.times.length} times, ${state.isCurrent.length} flags and ${state.items.length} items`);
    }
    this.now = state.now;
    this.counts = { ...state.counters };
    this.entries.clear();
    this.queue = [];
    this.head = 0;
    this.waiting = 0;
    for (let i = 0; i < n; i++) {
      const entry: Entry<P> = { time: state.times[i], pending: state.items[i] };
      this.queue.push({ id: state.ids[i], entry });
      if (state.isCurrent[i]) this.entries.set(state.ids[i], entry);
      if (entry.pending !== null) this.waiting++;
    }
  }

  /** Drops the consumed front of the queue once it is the larger part (amortized O(1) per item). */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
