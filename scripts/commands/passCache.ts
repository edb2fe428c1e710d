/**
 * The rows of a training file kept between passes, when a shuffle window holds the whole file.
 *
 * With `--shuffle W` and a file of at most W rows, every pass reads the whole file into the window
 * before its first step, and holds all of it until the pass ends. Reading it again each epoch only
 * repeats the same parse — and the steps wait for it. So the first complete pass keeps its rows (the
 * Samples the window would hold, in arrays of their own: ownedSample), and later passes replay them:
 *
 *   pass 1    fromCsv ──▶ owned rows ──▶ (kept, if the pass ends within W rows) ──▶ shuffle …
 *   pass k    the kept rows, in file order, with pass 1's final CSV counters ──▶ shuffle …
 *
 * A replayed pass is the pass a read would give: the same Samples in the same order (so the same
 * shuffle, steps and bits), the same counters at every boundary (the window takes every row before
 * the first step, so a read's counters are final by then too), and no skip report (the rejects file
 * holds each skipped row once already). Memory: what the window holds during a pass, kept between
 * passes. A pass that starts at a position (a resume inside an epoch) is read, not replayed. The test
 * file, evaluated after every epoch, is kept the same way when it fits in the same window.
 */
import { defer, from, map, tap, type Observable } from 'rxjs';
import type { CsvCounters } from '../../src/streams/sources/csvRowPolicy.js';
import { ownedSample } from '../../src/streams/training/ownedSample.js';
import type { Sample } from '../../src/streams/types.js';

export interface PassCache {
  /**
   * One pass: the kept rows when there are, with `counters` set to the kept pass's; else `read()`,
   * whose rows are kept if it completes within the window.
   */
  pass(read: () => Observable<Sample>, counters: CsvCounters | undefined): Observable<Sample>;
  /** Whether a complete pass is kept (later passes replay it). */
  readonly isKept: boolean;
}

/**
 * A cache for the passes over one file with a shuffle window of `window` rows.
 *
 * @example const cache = createPassCache(options.shuffle);
 * const trainSource = () => cache.pass(() => fromCsv(path, pass), pass.counters);
 */
export function createPassCache(window: number): PassCache {
  let kept: { readonly rows: readonly Sample[]; readonly counters: CsvCounters | null } | null = null;
  return {
    get isKept() {
      return kept !== null;
    },
    pass(read, counters) {
      return defer(() => {
        if (kept !== null) {
          const k = kept.counters;
          if (counters !== undefined && k !== null) Object.assign(counters, { ...k, skippedByCode: { ...k.skippedByCode } });
          return from(kept.rows);
        }
        let rows: Sample[] | null = [];
        return read().pipe(
          map(ownedSample),
          tap({
            next: (s) => {
              if (rows === null) return;
              if (rows.length < window) rows.push(s);
              else rows = null;
            },
            complete: () => {
              if (rows !== null) kept = { rows, counters: counters === undefined ? null : { ...counters, skippedByCode: { ...counters.skippedByCode } } };
            },
          }),
        );
      });
    },
  };
}
