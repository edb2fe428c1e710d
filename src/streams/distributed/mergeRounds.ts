/**
 * Partitioned input, merged: the rows N partition owners handed on for one request, interleaved
 * round-robin — row j of partition p becomes row j·N + p — which is the published file's order
 * (`publish --partitions N` puts row i in partition i mod N).
 *
 * At the end of the data (some partition ended or came short) the last round must be publish's layout:
 * sizes that never grow from one partition to the next and stay within one row of partition 0's. A
 * partition that gave its full share beside a short one ends there too (rows 0, 2 | 1 of a 3-row file
 * asked 2 of each): in publish's layout it holds no more, since its next row would follow a missing one.
 * Anything else would leave a gap in the order, so it is an error, never a skip.
 */
import type { Sample } from '../types.js';

export interface PartitionRows {
  readonly rows: readonly Sample[];
  /** The partition's end marker was reached. */
  readonly isEnd: boolean;
}

/**
 * Interleave `parts` (one per partition, each asked for `per` rows); `isEnd` when the partitions ended.
 *
 * @example mergeRounds([{ rows: [a0, a1], isEnd: false }, { rows: [b0, b1], isEnd: false }], 2, 'rows') // a0 b0 a1 b1
 */
export function mergeRounds(parts: readonly PartitionRows[], per: number, stream: string): { rows: Sample[]; isEnd: boolean } {
  const rows: Sample[] = [];
  for (let j = 0; j < per; j++) for (const g of parts) if (j < g.rows.length) rows.push(g.rows[j]);
  const isEnd = parts.some((g) => g.isEnd || g.rows.length < per);
  const sizes = parts.map((g) => g.rows.length);
  const isEven = sizes.every((k, p) => p === 0 || (k <= sizes[p - 1] && k >= sizes[0] - 1));
  if (isEnd && !isEven) {
    throw new RangeError(`partitions of ${stream} end unevenly (rows ${sizes.join(', ')} in the last round): not the layout of deltaflow publish --partitions ${parts.length}`);
  }
  return { rows, isEnd };
}
