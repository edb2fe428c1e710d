/**
 * A Redis stream as a CSV input for the data description (dataSetup.ts): its name and its column
 * names — `--columns`, else the stream's header entry (what `deltaflow publish` writes first) or its
 * first field-form entry's field names. A stream has no path: its classes come from `--classes` or a
 * model file, never from a first pass.
 */
import { streamColumns } from '../../src/streams/sources/redis/streamColumns.js';
import { streamTarget } from '../../src/streams/sources/redis/redisUrl.js';
import { CliError } from './args.js';
import type { CsvInput } from './columns.js';

/** The input of `--source URL` (see the file comment). */
export async function streamCsvInput(url: string, columns: readonly string[] | undefined): Promise<CsvInput> {
  const target = streamTarget(url, undefined);
  const header = columns ?? (await streamColumns(url));
  if (header === null) throw new CliError(`--source ${target.display}: the stream's first entry names no columns (no header entry): give them with --columns a,b,c`);
  return { name: target.display, path: null, header: [...header], stream: null };
}
