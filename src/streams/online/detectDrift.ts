/**
 * detectDrift(detector): runs a drift detector over a stream of numbers (0/1 errors, losses, any
 * monitored value) and emits, for every input, what the detector said:
 *
 *   { index, value, warning, drift }      index: 0, 1, 2, … counted per subscription
 *
 * Pass a factory (`() => new Adwin()`, or what `parseDetector` returns) for a fresh detector per
 * subscription, or an instance you keep (to read its state, or to snapshot it into a checkpoint). An
 * operator built on an instance serves one subscription at a time; a second one while the first is
 * active is an error rather than two streams silently sharing one window.
 *
 * A value the detector cannot take (NaN, or a 0.5 fed to DDM) errors the stream with a
 * DriftInputError naming the detector and the index.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { DriftInputError, type DriftDetector } from './detectors/detector.js';

/** What the detector said about one input. */
export interface DriftObservation {
  /** Position of the input in this subscription's stream, from 0. */
  readonly index: number;
  readonly value: number;
  readonly warning: boolean;
  readonly drift: boolean;
}

/**
 * Feed every value to a drift detector and emit its signal.
 *
 * @example errors$.pipe(detectDrift(() => new Adwin()), filter((o) => o.drift)).subscribe((o) => console.log('drift at', o.index));
 */
export function detectDrift(detector: DriftDetector | (() => DriftDetector)): OperatorFunction<number, DriftObservation> {
  const isOwned = typeof detector === 'function';
  // Whether the instance (when given one) serves a subscription now.
  let isInUse = false;
  return (source) =>
    new Observable<DriftObservation>((subscriber) => {
      const d = typeof detector === 'function' ? detector() : detector;
      if (!isOwned && isInUse) {
        subscriber.error(new Error(`detectDrift: this ${d.name} detector already serves another subscription; pass a factory (() => detector) for one per subscription`));
        return undefined;
      }
      if (!isOwned) isInUse = true;
      let index = 0;
      const subscription = source.subscribe({
        next(value) {
          let observation: DriftObservation;
          try {
            const signal = d.update(value);
            observation = { index, value, warning: signal.warning, drift: signal.drift };
          } catch (err) {
            subscriber.error(err instanceof DriftInputError ? err.at(index) : err);
            return;
          }
          index++;
          subscriber.next(observation);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        if (!isOwned) isInUse = false;
      };
    });
}
