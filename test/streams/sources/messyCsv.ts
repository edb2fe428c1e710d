/**
 * Random messy CSVs for the differential tests of the readers (fastCsv.test.ts, csvThread.test.ts):
 * good and bad numbers in many notations, quotes, non-ASCII, wrong field counts, empty lines, every
 * line ending, a BOM, bad headers — and random reader options.
 */
import fc from 'fast-check';
import type { CsvSourceOptions } from '../../../src/streams/sources/fromCsv.js';

const goodNumber = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map(String),
  fc.integer({ min: 0, max: 9 }).map(String),
  fc.double({ min: -1e6, max: 1e6, noNaN: true }).map(String),
  fc.tuple(fc.double({ min: -1e300, max: 1e300, noNaN: true }), fc.integer({ min: 0, max: 20 })).map(([v, k]) => v.toExponential(k)),
  fc.tuple(fc.double({ min: -1e5, max: 1e5, noNaN: true }), fc.integer({ min: 0, max: 12 })).map(([v, k]) => v.toFixed(k)),
  fc.constantFrom('+1', '007', '.5', '5.', '1E5', ' 3 ', '\t-2', '-0', '12345678901234567890', '1e-320', '0.1e-30'),
  // Around the fast readers' inline integer path: 15 digits, 16, leading zeros, beyond 2^53.
  fc.constantFrom('999999999999999', '123456789012345', '1234567890123456', '000000000000000000007', '9007199254740993', '0'),
);
const badField = fc.constantFrom(
  '',
  ' ',
  'abc',
  '12abc',
  '0x10',
  'NaN',
  '-Infinity',
  '1e400',
  'NA',
  '"1,5"',
  '"7"',
  '"8\r\n"',
  '"a""b"',
  'x"y',
  '"z"w',
  'é',
  '\u0000',
  '1.2.3',
  '"',
);
const field = fc.oneof({ weight: 12, arbitrary: goodNumber }, { weight: 1, arbitrary: badField });
const eol = fc.constantFrom('\n', '\r\n', '\r');
const row = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(fc.constantFrom('0', '1', '2', '3', ' 1', '4', '9', 'cat'), fc.array(field, { minLength: 2, maxLength: 2 })) },
  { weight: 1, arbitrary: fc.tuple(fc.constant('1'), fc.array(field, { minLength: 0, maxLength: 4 })) },
).map(([label, fields]) => [label, ...fields].join(','));

export const messyCsv = fc
  .record({
    hasBom: fc.boolean(),
    // A header read line by line until its columns are resolved: a quoted name across lines, an empty first line.
    header: fc.constantFrom('label,a,b', '"label",a,b', 'label,a,"b"', 'label,a', 'label,a,a', '1,2,3', 'label,"a\r\nz",b', 'label,"a\nz\n",b', '\nlabel,a,b'),
    lines: fc.array(fc.tuple(fc.oneof({ weight: 12, arbitrary: row }, { weight: 1, arbitrary: fc.constant('') }), eol), {
      maxLength: 14,
    }),
    finalEol: fc.oneof(fc.constant(''), eol),
  })
  .map(({ hasBom, header, lines, finalEol }) => {
    let text = (hasBom ? '\uFEFF' : '') + header;
    for (const [line, end] of lines) text += end + line;
    return Buffer.from(text + finalEol);
  });

export const messyOptions = fc.record({
  onBadRow: fc.constantFrom('error', 'skip'),
  classes: fc.constantFrom<number | string[]>(10, 4, ['0', '1', 'cat']),
  task: fc.constantFrom('classify', 'classify', 'regress'),
  maxRecordSize: fc.constantFrom(1 << 20, 24),
  scale: fc.constantFrom(1, 1 / 255),
  keep: fc.constantFrom<string[] | undefined>(undefined, undefined, ['a'], ['label', 'b'], ['b', 'a']),
  id: fc.constantFrom<string | number | undefined>(undefined, undefined, 'a', 2),
});

/** fromCsv options of a `messyOptions` draw. */
export function sourceOptions(o: { onBadRow: string; maxRecordSize: number; scale: number; task: string; classes: number | string[]; keep: string[] | undefined; id: string | number | undefined }): CsvSourceOptions {
  return {
    onBadRow: o.onBadRow as 'error' | 'skip',
    maxRecordSize: o.maxRecordSize,
    scale: o.scale,
    ...(o.task === 'regress' ? { task: 'regress' } : { classes: o.classes }),
    ...(o.keep === undefined ? {} : { keep: o.keep }),
    ...(o.id === undefined ? {} : { id: o.id }),
  };
}

/**
 * Wide rows, where the fast scanner reads runs of plain feature columns in its tight loop: mostly
 * pixel-like integers, broken now and then by any other field (a 16-digit number, a decimal, a
 * blank, a bad or quoted field), a label at a random column, and a kept or id column inside the run.
 */
const pixel = fc.oneof(
  { weight: 30, arbitrary: fc.integer({ min: 0, max: 255 }).map(String) },
  // Zeros, as most pixels of an image are, and fields that start like one.
  { weight: 30, arbitrary: fc.constant('0') },
  { weight: 2, arbitrary: fc.constantFrom('00', '0.5', '0e1', '0 ', '-0', '0x1') },
  { weight: 3, arbitrary: goodNumber },
  { weight: 1, arbitrary: badField },
);
export const wideCsv = fc
  .record({
    width: fc.integer({ min: 3, max: 40 }),
    labelAt: fc.nat(),
    rows: fc.array(fc.tuple(fc.array(pixel, { minLength: 40, maxLength: 40 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: -1, max: 1 }), eol), { maxLength: 12 }),
  })
  .map(({ width, labelAt, rows }) => {
    const at = labelAt % width;
    const names = Array.from({ length: width }, (_, i) => (i === at ? 'label' : `c${i}`));
    let text = names.join(',');
    for (const [pixels, label, extra, end] of rows) {
      // extra: a field too few or too many, now and then
      const fields = pixels.slice(0, Math.max(1, width - 1 + (extra === 1 && label === 0 ? 1 : 0) - (extra === -1 && label === 1 ? 1 : 0)));
      fields.splice(at, 0, String(label));
      text += end + fields.join(',');
    }
    return { bytes: Buffer.from(text + '\n'), names };
  });

/** Options for a `wideCsv` draw: classify, sometimes with a kept or id column, a small record limit or normalization. */
export const wideOptions = fc.record({
  onBadRow: fc.constantFrom<'error' | 'skip'>('error', 'skip'),
  scale: fc.constantFrom(1, 1 / 255),
  keepAt: fc.option(fc.nat(), { nil: undefined }),
  idAt: fc.option(fc.nat(), { nil: undefined }),
  maxRecordSize: fc.constantFrom(1 << 20, 1 << 20, 60),
});

/** fromCsv options of a `wideOptions` draw for the columns `names`. */
export function wideSourceOptions(o: { onBadRow: 'error' | 'skip'; scale: number; keepAt?: number; idAt?: number; maxRecordSize: number }, names: readonly string[]): CsvSourceOptions {
  const column = (k: number): string => names[k % names.length];
  return {
    classes: 10,
    onBadRow: o.onBadRow,
    scale: o.scale,
    maxRecordSize: o.maxRecordSize,
    ...(o.keepAt === undefined ? {} : { keep: [column(o.keepAt)] }),
    ...(o.idAt === undefined || column(o.idAt) === 'label' ? {} : { id: column(o.idAt) }),
  };
}
