/**
 * Pull control for asynchronous consumers: a credit counter between a source and the stage that
 * finishes with its rows.
 *
 * A synchronous pipeline needs no gate — the source emits inside its read loop, so the next read
 * waits for the training step (DESIGN.md, "pull-driven"). When a downstream stage defers work
 * (a timer, a worker, `concatMap` over a promise), emissions return at once and rows would pile up;
 * with a gate the source takes one credit per row before emitting it and waits while `limit` rows
 * are in flight, and the consumer gives credits back when it is done with rows.
 *
 * @example
 * const gate = createGate(256);
 * fromCsv('train.csv', { classes: 10, gate }).pipe(
 *   bufferCount(32),
 *   concatMap(async (rows) => { await trainStep(rows); gate.release(rows.length); }),
 * );
 */

export interface Gate {
  /** Takes one credit: at once (returns undefined) while fewer than `limit` rows are in flight, else the promise resolves when one is released. An aborted wait rejects and takes nothing. */
  acquire(signal?: AbortSignal): Promise<void> | void;
  /** Gives back `n` credits (default 1) for rows the consumer is done with. */
  release(n?: number): void;
  /** Rows acquired and not yet released. */
  readonly inFlight: number;
}

/** A gate letting at most `limit` rows be in flight between acquire and release. */
export function createGate(limit: number): Gate {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`createGate: limit must be a positive integer, got ${String(limit)}`);
  }
  let inFlight = 0;
  const waiters: { resolve: () => void; reject: (e: unknown) => void; signal?: AbortSignal; onAbort: () => void }[] = [];

  const grant = (): void => {
    while (inFlight < limit && waiters.length > 0) {
      const w = waiters.shift();
      if (w === undefined) break;
      w.signal?.removeEventListener('abort', w.onAbort);
      inFlight++;
      w.resolve();
    }
  };

  return {
    get inFlight() {
      return inFlight;
    },
    acquire(signal?: AbortSignal): Promise<void> | void {
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (inFlight < limit && waiters.length === 0) {
        inFlight++;
        return;
      }
      return new Promise<void>((resolve, reject) => {
        const w = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const i = waiters.indexOf(w);
            if (i >= 0) waiters.splice(i, 1);
            reject(signal?.reason);
          },
        };
        signal?.addEventListener('abort', w.onAbort, { once: true });
        waiters.push(w);
      });
    },
    release(n = 1): void {
      if (!Number.isSafeInteger(n) || n < 0 || n > inFlight) {
        throw new RangeError(`gate.release: cannot release ${String(n)} credits with ${inFlight} in flight`);
      }
      inFlight -= n;
      grant();
    },
  };
}
