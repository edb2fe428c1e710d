/**
 * The synthetic drift streams as an Observable of Samples, like a CSV source: `generate('sea', options)`.
 *
 * Each row becomes a Sample with `x` the attributes (Float32Array, in generateRows' order), `target`
 * the one-hot of the label, `label`, and an origin as if the stream were the CSV `deltaflow generate`
 * writes (a header, then one line per row): `source` = the generator's name, `record` = the row index
 * t, `line` = t + 2, and `endOffset` = t + 1 — there are no bytes, so the resume point is the next row
 * index. Rows are emitted synchronously, one per iteration, stopping as soon as the subscriber is
 * closed (an endless stream needs a `take`). Each subscription replays the same stream.
 */
import { from, map, type Observable } from 'rxjs';
import type { Sample } from '../../types.js';
import type { GenerateOptions } from './generator.js';
import { describeGenerator, generateRows } from './generateRows.js';

/**
 * A generated stream of Samples; options as generateRows (checked at once).
 *
 * @example generate('agrawal', { rows: 20_000, driftAt: [10_000], width: 1000, noise: 0.05 }).pipe(prequential(model, options))
 */
export function generate(name: string, options: GenerateOptions = {}): Observable<Sample> {
  const { classes } = describeGenerator(name, options);
  const rows = generateRows(name, options);
  return from(rows).pipe(
    map((row, t): Sample => {
      const target = new Float32Array(classes);
      target[row.label] = 1;
      return { x: Float32Array.from(row.x), target, label: row.label, origin: { source: name, line: t + 2, record: t, endOffset: t + 1 } };
    }),
  );
}
