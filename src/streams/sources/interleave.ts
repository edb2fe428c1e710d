/**
 * `interleave(a, b)`: two sources read side by side, their items emitted one for one — a₁, b₁, a₂,
 * b₂, … — and, once one has ended, the rest of the other. The order depends only on the two
 * sequences, never on which source happens to be read faster, so a run over two files (rows and
 * their late labels, say) is repeatable.
 *
 * Each source is given a Gate (gate.ts) and must take a credit before each item (fromCsv's `gate`
 * option does): an item waiting for its turn holds a credit until it is emitted, so neither source
 * reads more than `limit` items ahead of the other. Memory stays bounded however the two differ in
 * speed. `first` says whose turn the first item is (`'b'`: a run resumed after an item of `a` goes
 * on as it would have).
 */
import { Observable } from 'rxjs';
import { createGate, type Gate } from './gate.js';

/**
 * Items of `a` and `b`, alternating (see the file comment).
 *
 * @example interleave((gate) => fromCsv('rows.csv', { ...o, gate }), (gate) => fromCsv('labels.csv', { ...l, gate }))
 */
export function interleave<A, B>(a: (gate: Gate) => Observable<A>, b: (gate: Gate) => Observable<B>, limit = 256, first: 'a' | 'b' = 'a'): Observable<A | B> {
  if (!(Number.isSafeInteger(limit) && limit >= 1)) throw new RangeError(`interleave: limit must be an integer ≥ 1, got ${limit}`);
  return new Observable<A | B>((subscriber) => {
    const sides = [
      { gate: createGate(limit), queue: [] as (A | B)[], head: 0, isDone: false },
      { gate: createGate(limit), queue: [] as (A | B)[], head: 0, isDone: false },
    ];
    let turn = first === 'a' ? 0 : 1;
    const pending = (s: (typeof sides)[number]): number => s.queue.length - s.head;
    const take = (s: (typeof sides)[number]): A | B => {
      const item = s.queue[s.head++];
      if (s.head > 1024 && s.head * 2 > s.queue.length) {
        s.queue.splice(0, s.head);
        s.head = 0;
      }
      return item;
    };
    const drain = (): void => {
      for (;;) {
        const side = sides[turn];
        const other = sides[1 - turn];
        if (pending(side) > 0) {
          const item = take(side);
          subscriber.next(item);
          side.gate.release();
          if (!other.isDone || pending(other) > 0) turn = 1 - turn;
          continue;
        }
        // This side has nothing now: it must be done for the other to go on alone.
        if (side.isDone && (pending(other) > 0 || !other.isDone)) {
          if (pending(other) === 0) return;
          turn = 1 - turn;
          continue;
        }
        if (side.isDone && other.isDone) subscriber.complete();
        return;
      }
    };
    const subscriptions = [a(sides[0].gate), b(sides[1].gate)].map((source: Observable<A | B>, i) =>
      source.subscribe({
        next(item) {
          sides[i].queue.push(item);
          drain();
        },
        error: (e) => subscriber.error(e),
        complete() {
          sides[i].isDone = true;
          drain();
        },
      }),
    );
    return () => {
      for (const s of subscriptions) s.unsubscribe();
    };
  });
}
