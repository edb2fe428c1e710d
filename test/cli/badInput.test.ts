/**
 * Bad input at the command line, as a user meets it (RELIABILITY.md A–D, resource limits, model files
 * from others): the built CLI is spawned on generated files whose faults sit at seeded random places,
 * so no expectation is tuned to one file.
 *
 * For every family: the default fails with ONE line naming `file:line[:column (column "name")]`, exit ≠ 0,
 * no stack; with `--on-bad-row skip` the run completes, rejected.csv holds exactly the bad rows (raw, with
 * their lines) and summary.json satisfies rowsTrained + rowsSkipped == dataRows with the per-code counts;
 * structural errors stay fatal with skip.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng, runCli, tempDir, type CliResult } from './cliHelpers.js';

let dir = '';

const HEADER = ['alpha', 'beta', 'gamma', 'delta', 'kind'];
const FEATURES = HEADER.slice(0, 4);

/** One record of the file: its text (may hold a quoted line break) and, when bad, the code it should be skipped with. */
interface Rec {
  readonly text: string;
  readonly code?: string;
}

/** n good rows of 4 features and a label in 0..2 (separable: the label is the argmax of the first 3 features). */
function goodRows(n: number, seed: number): Rec[] {
  const u = rng(seed);
  return Array.from({ length: n }, () => {
    const v = FEATURES.map(() => 2 * u() - 1);
    const label = v.slice(0, 3).indexOf(Math.max(...v.slice(0, 3)));
    return { text: `${v.map((x) => x.toFixed(4)).join(',')},${label}` };
  });
}

/** Writes header + records joined by `eol` (a function of the record index for mixed endings); returns each record's first line. */
function writeRecs(path: string, recs: readonly Rec[], eol: (i: number) => string = () => '\n', header = HEADER.join(',')): number[] {
  let text = `${header}${eol(-1)}`;
  let line = 2;
  const lines: number[] = [];
  recs.forEach((r, i) => {
    lines.push(line);
    text += `${r.text}${eol(i)}`;
    line += 1 + (r.text.match(/\r\n|\n|\r/g)?.length ?? 0);
  });
  writeFileSync(path, text);
  return lines;
}

/** `k` distinct positions in [lo, n), sorted, from the seed. */
function positions(k: number, n: number, seed: number, lo = 3): number[] {
  const u = rng(seed);
  const set = new Set<number>();
  while (set.size < k) set.add(lo + Math.floor(u() * (n - lo)));
  return [...set].sort((a, b) => a - b);
}

function oneLine(r: CliResult): string {
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.code).not.toBe(0);
  return lines[0];
}

interface Summary {
  status: string;
  rowsTrained: number;
  rowsSkipped: number;
  skippedByCode: Record<string, number>;
  dataRows: number;
  steps: number;
  epochs: number;
  testAccuracy: number | null;
  model: string | null;
}

function summaryOf(out: string): Summary {
  return JSON.parse(readFileSync(join(dir, out, 'summary.json'), 'utf8')) as Summary;
}

function rejectedOf(out: string): { file: string; line: string; code: string; message: string; raw: string }[] {
  return parseCsvSync(readFileSync(join(dir, out, 'rejected.csv'), 'utf8'), { columns: true, relax_quotes: false }) as { file: string; line: string; code: string; message: string; raw: string }[];
}

const TRAIN = ['train', '--label', 'kind', '--classes', '3', '--workers', '1', '--epochs', '2', '--batch', '16', '--normalize', 'none'];

function train(data: string, out: string, ...more: string[]): Promise<CliResult> {
  return runCli([...TRAIN, '--data', data, '--out', out, ...more], { cwd: dir });
}

/** With skip: the run completes; rejected.csv is exactly `bad` (line, code, raw); the counters add up. */
async function expectSkipped(data: string, out: string, recs: readonly Rec[], lines: readonly number[], more: string[] = []): Promise<Summary> {
  const r = await train(data, out, '--on-bad-row', 'skip', '--json', ...more);
  expect(r.code, r.stderr).toBe(0);
  const bad = recs.map((rec, i) => ({ rec, line: lines[i] })).filter((b) => b.rec.code !== undefined);
  const rejected = rejectedOf(out);
  expect(rejected.map((x) => [x.file, Number(x.line), x.code, x.raw])).toEqual(bad.map((b) => [data, b.line, b.rec.code, b.rec.text]));
  for (const x of rejected) expect(x.message).toContain(`${data}:${x.line}`);
  const s = summaryOf(out);
  expect(s.status).toBe('done');
  expect(s.rowsTrained + s.rowsSkipped).toBe(s.dataRows);
  expect(s.dataRows).toBe(recs.length);
  expect(s.rowsSkipped).toBe(bad.length);
  const byCode: Record<string, number> = {};
  for (const b of bad) byCode[b.rec.code ?? ''] = (byCode[b.rec.code ?? ''] ?? 0) + 1;
  expect(s.skippedByCode).toEqual(byCode);
  expect(s.epochs).toBe(2);
  expect(s.model).toBe(join(out, 'model.json'));
  // The --json summary line carries the same counters.
  const done = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Summary & { type: string };
  expect(done.type).toBe('done');
  expect([done.rowsTrained, done.rowsSkipped, done.dataRows, done.skippedByCode]).toEqual([s.rowsTrained, s.rowsSkipped, s.dataRows, s.skippedByCode]);
  return s;
}

beforeAll(() => {
  dir = tempDir();
});

describe('A. structure: wrong field counts and empty lines (row-level)', () => {
  it.each([1, 2, 3])('seed %i: the first bad row fails the run by default; with skip every bad row is in rejected.csv with its line', async (seed) => {
    const recs = goodRows(120, 100 + seed);
    const [p1, p2, p3, p4] = positions(4, recs.length, seed);
    const cut = recs[p1].text.split(',');
    recs[p1] = { text: cut.slice(0, 2 + (seed % 3)).join(','), code: 'CSV_RECORD_INCONSISTENT_COLUMNS' };
    recs[p2] = { text: `${recs[p2].text},${seed}`, code: 'CSV_RECORD_INCONSISTENT_COLUMNS' };
    recs[p3] = { text: '', code: 'CSV_EMPTY_LINE' };
    recs[p4] = { text: `"${recs[p4].text.replace(/,/g, '","')}"` }; // fully quoted: still a good row
    const file = `count-${seed}.csv`;
    const lines = writeRecs(join(dir, file), recs);
    const got = 2 + (seed % 3);
    expect(oneLine(await train(file, `count-${seed}-strict`))).toBe(`deltaflow: ${file}:${lines[p1]}: expected 5 fields, got ${got}`);
    await expectSkipped(file, `count-${seed}-skip`, recs, lines);
  });
});

describe('A. structure: always fatal, even with --on-bad-row skip', () => {
  it.each([4, 5])('seed %i: an unclosed quote names the line and column where it opened', async (seed) => {
    const recs = goodRows(80, 200 + seed);
    const [p] = positions(1, recs.length, seed);
    const col = seed % 4;
    const fields = recs[p].text.split(',');
    fields[col] = `"${fields[col]}`;
    recs[p] = { text: fields.join(',') };
    const file = `quote-${seed}.csv`;
    const lines = writeRecs(join(dir, file), recs);
    for (const policy of ['error', 'skip']) {
      const line = oneLine(await train(file, `quote-${seed}-${policy}`, '--on-bad-row', policy));
      expect(line).toBe(`deltaflow: ${file}:${lines[p]}:${col + 1} (column "${HEADER[col]}"): the quote opened here is never closed (the input ends inside it)`);
    }
  });

  it('a bad closing quote and a quote inside an unquoted field are fatal with skip', async () => {
    const recs = goodRows(60, 7);
    const [p, q] = positions(2, recs.length, 7);
    recs[p] = { text: recs[p].text.replace(/^([^,]*),([^,]*)/, '$1,"$2"x') };
    const lines = writeRecs(join(dir, 'closing.csv'), recs);
    expect(oneLine(await train('closing.csv', 'closing', '--on-bad-row', 'skip'))).toMatch(new RegExp(`^deltaflow: closing\\.csv:${lines[p]}:2 \\(column "beta"\\): a closing quote must be followed by a comma or a line break`));
    const recs2 = goodRows(60, 8);
    recs2[q] = { text: recs2[q].text.replace(/^([^,]*),/, '$1,1"2",') };
    const lines2 = writeRecs(join(dir, 'opening.csv'), recs2);
    expect(oneLine(await train('opening.csv', 'opening', '--on-bad-row', 'skip'))).toMatch(new RegExp(`^deltaflow: opening\\.csv:${lines2[q]}:2 \\(column "beta"\\): quote inside an unquoted field`));
  });

  it('a record over --max-record-size is fatal (a wrong delimiter never reads a huge line); a ;-separated header gets a hint', async () => {
    const recs = goodRows(50, 9);
    const [p] = positions(1, recs.length, 9);
    recs[p] = { text: `${'1;'.repeat(3000)}1` };
    const lines = writeRecs(join(dir, 'long.csv'), recs);
    expect(oneLine(await train('long.csv', 'long', '--on-bad-row', 'skip', '--max-record-size', '4K'))).toBe(
      `deltaflow: long.csv:${lines[p]}: record larger than 4096 bytes (max record size); is the delimiter a comma?`,
    );
    writeFileSync(join(dir, 'semi.csv'), `${HEADER.join(';')}\n${goodRows(5, 1).map((r) => r.text.replace(/,/g, ';')).join('\n')}\n`);
    expect(oneLine(await train('semi.csv', 'semi'))).toMatch(/semi\.csv: no column named "kind" .*is the delimiter a comma\?$/);
    writeFileSync(join(dir, 'oneline.csv'), `${HEADER.join(';').repeat(2000)}`);
    expect(oneLine(await train('oneline.csv', 'oneline', '--max-record-size', '8K'))).toBe('deltaflow: oneline.csv:1: record larger than 8192 bytes (max record size); is the delimiter a comma?');
  });

  it('bad headers: duplicate, empty name, numeric-looking; fatal with skip', async () => {
    const body = goodRows(10, 3).map((r) => r.text).join('\n');
    writeFileSync(join(dir, 'dup.csv'), `alpha,beta,gamma,beta,kind\n${body}\n`);
    expect(oneLine(await train('dup.csv', 'dup', '--on-bad-row', 'skip'))).toBe('deltaflow: dup.csv:1: duplicate column "beta" (fields 2 and 4)');
    writeFileSync(join(dir, 'noname.csv'), `alpha,beta,,delta,kind\n${body}\n`);
    expect(oneLine(await train('noname.csv', 'noname', '--on-bad-row', 'skip'))).toBe('deltaflow: noname.csv:1: empty column name at field 3');
    writeFileSync(join(dir, 'nohead.csv'), `${body}\n`);
    expect(oneLine(await train('nohead.csv', 'nohead'))).toMatch(/^deltaflow: nohead\.csv:1: the header looks like data/);
  });

  it('empty and header-only files: a clear error, no NaN', async () => {
    writeFileSync(join(dir, 'empty.csv'), '');
    expect(oneLine(await train('empty.csv', 'empty'))).toMatch(/^deltaflow: empty\.csv: the file is empty/);
    writeFileSync(join(dir, 'head.csv'), `${HEADER.join(',')}\r\n`);
    expect(oneLine(await train('head.csv', 'head'))).toBe('deltaflow: no data rows in head.csv');
    expect(oneLine(await runCli(['train', '--data', 'head.csv', '--label', 'kind', '--out', 'head2'], { cwd: dir }))).toBe('deltaflow: no data rows in head.csv');
    // Every row bad: nothing to train on, said as such.
    writeRecs(join(dir, 'allbad.csv'), [{ text: '1,2' }, { text: 'x,1,2,3,0' }]);
    expect(oneLine(await train('allbad.csv', 'allbad', '--on-bad-row', 'skip'))).toBe('deltaflow: no data rows in allbad.csv (all 2 rows were skipped)');
  });

  it.each([6, 7])('seed %i: mixed CRLF/LF endings and a quoted multi-line field keep every later line number right', async (seed) => {
    const recs = goodRows(100, 300 + seed);
    const [q, p1, p2] = positions(3, recs.length, seed, 5);
    recs[q] = { text: recs[q].text.replace(/^([^,]*),([^,]*)/, '$1,"1\r\n2"'), code: 'CSV_NOT_A_NUMBER' };
    recs[p1] = { text: recs[p1].text.replace(/,[^,]*$/, ',9'), code: 'CSV_BAD_LABEL' };
    recs[p2] = { text: recs[p2].text.replace(/^[^,]*/, 'abc'), code: 'CSV_NOT_A_NUMBER' };
    const u = rng(seed);
    const eols = Array.from({ length: 101 }, () => (u() < 0.5 ? '\r\n' : '\n'));
    const file = `mixed-${seed}.csv`;
    const lines = writeRecs(join(dir, file), recs, (i) => eols[i + 1]);
    expect(oneLine(await train(file, `mixed-${seed}-strict`))).toBe(`deltaflow: ${file}:${lines[q]}:2 (column "beta"): "1\\r\\n2" is not a number`);
    await expectSkipped(file, `mixed-${seed}-skip`, recs, lines);
  });

  it('a UTF-8 BOM is stripped: the first column is found by name', async () => {
    const recs = goodRows(40, 11);
    writeFileSync(join(dir, 'bom.csv'), `\ufeffkind,${FEATURES.join(',')}\n${recs.map((r) => r.text.replace(/^(.*),(\d)$/, '$2,$1')).join('\n')}\n`);
    const r = await train('bom.csv', 'bom', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf('bom').rowsTrained).toBe(40);
  });
});

describe('C. values: every bad field named by line, column and name', () => {
  const BAD: [string, string][] = [
    ['abc', 'CSV_NOT_A_NUMBER'],
    ['0x1A', 'CSV_NOT_A_NUMBER'],
    ['12abc', 'CSV_NOT_A_NUMBER'],
    ['', 'CSV_MISSING_VALUE'],
    ['  ', 'CSV_MISSING_VALUE'],
    ['NA', 'CSV_MISSING_VALUE'],
    ['NaN', 'CSV_NON_FINITE'],
    ['-inf', 'CSV_NON_FINITE'],
    ['1e400', 'CSV_NON_FINITE'],
    ['"1,5"', 'CSV_NOT_A_NUMBER'],
  ];

  it.each([1, 2])('seed %i: values at random rows and columns; labels out of range; skip counts by code', async (seed) => {
    const recs = goodRows(150, 400 + seed);
    const where = positions(BAD.length + 2, recs.length, 50 + seed, 2);
    const u = rng(seed);
    let firstBad: { line: number; col: number; literal: string } | null = null;
    const place: { i: number; col: number; literal: string }[] = [];
    BAD.forEach(([literal, code], k) => {
      const i = where[k];
      const col = Math.floor(u() * 4);
      const fields = recs[i].text.split(',');
      fields[col] = literal;
      recs[i] = { text: fields.join(','), code };
      place.push({ i, col, literal });
    });
    recs[where[BAD.length]] = { text: recs[where[BAD.length]].text.replace(/,\d$/, ',3'), code: 'CSV_BAD_LABEL' };
    recs[where[BAD.length + 1]] = { text: recs[where[BAD.length + 1]].text.replace(/,\d$/, ',-1'), code: 'CSV_BAD_LABEL' };
    const file = `values-${seed}.csv`;
    const lines = writeRecs(join(dir, file), recs);
    const first = place.reduce((a, b) => (b.i < a.i ? b : a));
    firstBad = { line: lines[first.i], col: first.col + 1, literal: first.literal };
    const firstLabel = Math.min(where[BAD.length], where[BAD.length + 1]);
    const strict = oneLine(await train(file, `values-${seed}-strict`));
    if (firstLabel < first.i) {
      expect(strict).toMatch(new RegExp(`^deltaflow: ${file}:${lines[firstLabel]}:5 \\(column "kind"\\): label (3|-1) not in \\[0,3\\)$`));
    } else {
      expect(strict.startsWith(`deltaflow: ${file}:${firstBad.line}:${firstBad.col} (column "${HEADER[firstBad.col - 1]}"): `)).toBe(true);
    }
    const s = await expectSkipped(file, `values-${seed}-skip`, recs, lines);
    expect(s.skippedByCode.CSV_BAD_LABEL).toBe(2);
  });

  it('invalid UTF-8 is fatal with skip and never becomes U+FFFD', async () => {
    const recs = goodRows(30, 12);
    const [p] = positions(1, recs.length, 12);
    const head = Buffer.from(`${HEADER.join(',')}\n${recs.slice(0, p).map((r) => `${r.text}\n`).join('')}`);
    const bytes = Buffer.concat([head, Buffer.from('1,2,'), Buffer.from([0xc3, 0x28]), Buffer.from(`,4,0\n${recs.slice(p + 1).map((r) => `${r.text}\n`).join('')}`)]);
    writeFileSync(join(dir, 'utf8.csv'), bytes);
    expect(oneLine(await train('utf8.csv', 'utf8', '--on-bad-row', 'skip'))).toMatch(new RegExp(`^deltaflow: invalid UTF-8 at utf8\\.csv:${p + 2} \\(byte 0xc3 at offset ${head.length + 4}\\)$`));
  });
});

describe('skip budgets', () => {
  it('--max-bad-rows and --max-bad-fraction end the run with a clear error; within budget it completes', async () => {
    const recs = goodRows(200, 13);
    const bad = positions(6, recs.length, 13);
    for (const i of bad) recs[i] = { text: recs[i].text.replace(/^[^,]*/, 'x'), code: 'CSV_NOT_A_NUMBER' };
    const lines = writeRecs(join(dir, 'budget.csv'), recs);
    expect(oneLine(await train('budget.csv', 'budget-rows', '--on-bad-row', 'skip', '--max-bad-rows', '4'))).toBe(
      `deltaflow: budget.csv:${lines[bad[4]]}: too many bad rows: 5 skipped, more than maxBadRows 4 (last: budget.csv:${lines[bad[4]]}:1 (column "alpha"): "x" is not a number)`,
    );
    expect(oneLine(await train('budget.csv', 'budget-frac', '--on-bad-row', 'skip', '--max-bad-fraction', '0.02'))).toMatch(
      /^deltaflow: budget\.csv:\d+: too many bad rows: 6 of 200 rows skipped \(3\.0%\), more than maxBadFraction 0\.02/,
    );
    await expectSkipped('budget.csv', 'budget-ok', recs, lines, ['--max-bad-rows', '6', '--max-bad-fraction', '0.03']);
    expect(oneLine(await train('budget.csv', 'budget-noskip', '--max-bad-rows', '3'))).toBe('deltaflow: --max-bad-rows applies to --on-bad-row skip');
  });

  it('test data gets the policy too, and its skips go to rejected.csv', async () => {
    const recs = goodRows(60, 14);
    writeRecs(join(dir, 'tr.csv'), recs);
    const test = goodRows(30, 15);
    test[7] = { text: '1,2,3', code: 'CSV_RECORD_INCONSISTENT_COLUMNS' };
    const lines = writeRecs(join(dir, 'te.csv'), test);
    const r = await train('tr.csv', 'with-test', '--test', 'te.csv', '--on-bad-row', 'skip', '--quiet');
    expect(r.code, r.stderr).toBe(0);
    expect(rejectedOf('with-test').map((x) => [x.file, Number(x.line), x.raw])).toEqual([['te.csv', lines[7], '1,2,3']]);
    const s = summaryOf('with-test') as Summary & { test: { rowsTrained: number; rowsSkipped: number; dataRows: number } };
    expect([s.rowsTrained, s.rowsSkipped, s.dataRows]).toEqual([60, 0, 60]);
    expect([s.test.rowsSkipped, s.test.dataRows]).toEqual([1, 30]);
    expect(s.testAccuracy).not.toBeNull();
  });
});

describe('D. numerics', () => {
  /** A regression whose inputs are large: plain SGD at this rate diverges within a few steps. */
  function writeSteep(path: string): void {
    const u = rng(21);
    const lines = ['a,b,c,y'];
    for (let i = 0; i < 300; i++) {
      const [a, b, c] = [u() * 2 - 1, u() * 2 - 1, u() * 2 - 1];
      lines.push(`${(60 * a).toFixed(3)},${(60 * b).toFixed(3)},${c.toFixed(3)},${(2 * a - 3 * b + c).toFixed(3)}`);
    }
    writeFileSync(path, `${lines.join('\n')}\n`);
  }
  const REG = ['train', '--data', 'steep.csv', '--task', 'regress', '--label', 'y', '--optimizer', 'sgd', '--lr', '0.05', '--workers', '1', '--epochs', '3', '--normalize', 'none'];

  it('divergence: NonFiniteError with the step and the batch\'s lines sorted, exit ≠ 0, no model.json with NaN', async () => {
    writeSteep(join(dir, 'steep.csv'));
    const line = oneLine(await runCli([...REG, '--out', 'diverge'], { cwd: dir }));
    const m = /^deltaflow: step (\d+): .* on the batch of 32 rows of steep\.csv lines (\d+)–(\d+) \(([\d, ]+), …\); .*(?:weights are those|restored to those) after step (\d+).*; no model\.json was written \(no epoch completed\)$/.exec(line);
    expect(m, line).not.toBeNull();
    const [step, lo, hi, list, prev] = [m?.[1], m?.[2], m?.[3], m?.[4], m?.[5]].map((s) => s ?? '');
    expect(Number(prev)).toBe(Number(step) - 1);
    const shown = list.split(', ').map(Number);
    expect(shown).toEqual([...shown].sort((a, b) => a - b));
    expect(shown[0]).toBe(Number(lo));
    expect(Number(hi)).toBeGreaterThanOrEqual(shown.at(-1) ?? 0);
    expect(existsSync(join(dir, 'diverge', 'model.json'))).toBe(false);
    const s = summaryOf('diverge');
    expect(s.status).toBe('failed');
    expect(s.model).toBeNull();
    expect(s.steps).toBe(Number(step) - 1);
  });

  it('--clip-norm keeps the same run finite', async () => {
    writeSteep(join(dir, 'steep.csv'));
    const r = await runCli([...REG, '--out', 'clipped', '--clip-norm', '1', '--quiet'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const model = readFileSync(join(dir, 'clipped', 'model.json'), 'utf8');
    expect(model).not.toMatch(/NaN|Infinity/);
    expect(summaryOf('clipped').steps).toBe(30);
    // metrics.csv keeps each step's norm BEFORE clipping: finite, and above the clip norm where clipping acted.
    const [head, ...rows] = readFileSync(join(dir, 'clipped', 'metrics.csv'), 'utf8').trim().split('\n');
    const col = head.split(',').indexOf('grad_norm');
    const norms = rows.filter((l) => l.startsWith('step,')).map((l) => Number(l.split(',')[col]));
    expect(norms).toHaveLength(30);
    expect(norms.every(Number.isFinite)).toBe(true);
    expect(Math.max(...norms)).toBeGreaterThan(1);
  });

  it('an input that overflows float32 (1e300) stops at the step with its line; --check-numerics names the layer of a hidden overflow', async () => {
    const recs = goodRows(64, 16);
    const [p] = positions(1, recs.length, 16);
    recs[p] = { text: recs[p].text.replace(/^[^,]*/, '1e300') };
    const lines = writeRecs(join(dir, 'overflow.csv'), recs);
    const line = oneLine(await train('overflow.csv', 'overflow', '--shuffle', '0'));
    const batchStart = 2 + 16 * Math.floor(p / 16);
    expect(line).toMatch(new RegExp(`^deltaflow: step ${Math.floor(p / 16) + 1}: .* on the batch of overflow\\.csv lines ${batchStart}–${batchStart + 15}; the input batch holds a non-finite value`));
    expect(lines[p]).toBeGreaterThanOrEqual(batchStart);
    // 3e38 is finite in float32, but a sum of four of them overflows the first dense layer's output.
    recs[p] = { text: recs[p].text.replace(/^[^,]*,[^,]*,[^,]*,[^,]*/, '3e38,3e38,3e38,3e38') };
    writeRecs(join(dir, 'overflow2.csv'), recs);
    const checked = oneLine(await train('overflow2.csv', 'overflow2', '--shuffle', '0', '--check-numerics'));
    expect(checked).toMatch(/layer \d+ \((dense|relu)\) (output|delta|gradient) went non-finite first/);
  });
});

describe('output folder', () => {
  it('an --out under a regular file is reported before training starts', async () => {
    writeFileSync(join(dir, 'plain-file'), 'x');
    writeRecs(join(dir, 'ok.csv'), goodRows(40, 17));
    const r = await train('ok.csv', 'plain-file/run');
    expect(oneLine(r)).toBe('deltaflow: --out plain-file/run: cannot write the output folder (a part of the path is a regular file, not a folder)');
    expect(r.stdout).toBe('');
    expect(oneLine(await train('ok.csv', 'plain-file'))).toBe('deltaflow: --out plain-file: cannot write the output folder (it exists and is not a folder)');
    expect(oneLine(await runCli(['online', '--model', 'mlp', '--data', 'ok.csv', '--label', 'kind', '--classes', '3', '--save', 'plain-file/m.json'], { cwd: dir }))).toMatch(
      /^deltaflow: --save plain-file\/m\.json: cannot write the file/,
    );
  });
});

describe('predict reads through fromCsv: the same checks and messages as training', () => {
  it('a bad value, a short row and an unclosed quote fail with the training messages; line numbers survive CRLF', async () => {
    const recs = goodRows(90, 18);
    writeRecs(join(dir, 'ptrain.csv'), recs);
    const t = await train('ptrain.csv', 'pmodel', '--quiet');
    expect(t.code, t.stderr).toBe(0);
    const rows = goodRows(70, 19).map((r) => ({ text: r.text.replace(/,\d$/, '') }));
    const [p] = positions(1, rows.length, 19);
    rows[p] = { text: rows[p].text.replace(/,[^,]*$/, ',0b11') };
    const lines = writeRecs(join(dir, 'pbad.csv'), rows, (i) => (i % 3 === 0 ? '\r\n' : '\n'), FEATURES.join(','));
    const r = await runCli(['predict', '--model', 'pmodel/model.json', '--data', 'pbad.csv'], { cwd: dir });
    expect(oneLine(r)).toBe(`deltaflow: pbad.csv:${lines[p]}:4 (column "delta"): "0b11" is not a decimal number`);
    // The label column may be present (it is not read), but every row still needs every field.
    const labelled = goodRows(50, 20);
    const [s] = positions(1, labelled.length, 20);
    labelled[s] = { text: labelled[s].text.replace(/,[^,]*$/, '') };
    const sLines = writeRecs(join(dir, 'pshort.csv'), labelled);
    const short = await runCli(['predict', '--model', 'pmodel/model.json', '--data', 'pshort.csv'], { cwd: dir });
    expect(oneLine(short)).toBe(`deltaflow: pshort.csv:${sLines[s]}: expected 5 fields, got 4`);
    const quoted = goodRows(50, 21);
    quoted[s] = { text: quoted[s].text.replace(/^([^,]*),([^,]*),/, '$1,$2,"') };
    const qLines = writeRecs(join(dir, 'pquote.csv'), quoted);
    const quote = await runCli(['predict', '--model', 'pmodel/model.json', '--data', 'pquote.csv'], { cwd: dir });
    expect(oneLine(quote)).toBe(`deltaflow: pquote.csv:${qLines[s]}:3 (column "gamma"): the quote opened here is never closed (the input ends inside it)`);
    const good = await runCli(['predict', '--model', 'pmodel/model.json', '--data', 'ptrain.csv'], { cwd: dir });
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout.trim().split('\n')).toHaveLength(91);
  });
});

describe('model files from others: one clear line for every command, memory and prototypes safe', () => {
  const hostile: [string, (good: string) => string, RegExp][] = [
    ['truncated', (g) => g.slice(0, Math.floor(g.length / 2)), /model file: not valid JSON/],
    ['wrong version', (g) => g.replace('"version": 1', '"version": 7'), /version: unsupported version 7 \(this deltaflow reads version 1\)/],
    ['huge shapes', (g) => g.replace(/"input": \[\d+\]/, '"input": [2000000000]'), /layers\[0\]: the model's parameters would total \d+ numbers, more than the limit of 100000000/],
    ['__proto__ key', (g) => g.replace('"meta": {', '"meta": {"__proto__": {"polluted": true}, '), /meta: forbidden key "__proto__"/],
    ['constructor key in a layer', (g) => g.replace('{"kind": "dense"', '{"constructor": {"prototype": {}}, "kind": "dense"'), /forbidden key "constructor"/],
    ['mismatched data length', (g) => g.replace(/("data": \[)[^,\]]+,/, '$1'), /layers\[0\]\.params\.W\.data: expected \d+ numbers \(the product of shape \[\d+, 4\]\), got \d+/],
    ['a NaN weight', (g) => g.replace(/("data": \[)[^,\]]+,/, '$1NaN,'), /not valid JSON/],
  ];
  const commands: [string, string[]][] = [
    ['train', ['train', '--data', 'ok.csv', '--label', 'kind', '--classes', '3', '--out', 'hostile-run', '--workers', '1']],
    ['evaluate', ['evaluate', '--data', 'ok.csv']],
    ['predict', ['predict', '--data', 'ok.csv']],
    ['online', ['online', '--data', 'ok.csv']],
    ['inspect', ['inspect']],
  ];

  beforeAll(async () => {
    writeRecs(join(dir, 'ok.csv'), goodRows(40, 17));
    const r = await train('ok.csv', 'hostile-good', '--quiet');
    if (r.code !== 0) throw new Error(r.stderr);
    const good = readFileSync(join(dir, 'hostile-good', 'model.json'), 'utf8');
    mkdirSync(join(dir, 'hostile'), { recursive: true });
    hostile.forEach(([name, make], i) => {
      const text = make(good);
      expect(text, name).not.toBe(good);
      writeFileSync(join(dir, 'hostile', `m${i}.json`), text);
    });
  });

  it.each(commands)('%s', async (_name, args) => {
    for (const [i, [name, , message]] of hostile.entries()) {
      const file = `hostile/m${i}.json`;
      const line = oneLine(await runCli([...args, '--model', file], { cwd: dir }));
      expect(line, name).toMatch(new RegExp(`^deltaflow: ${file.replace(/[./]/g, '\\$&')}: `));
      expect(line, name).toMatch(message);
    }
    // A directory, a device that never ends, and a file over the size limit (sparse: no disk used) are refused before reading.
    expect(oneLine(await runCli([...args, '--model', 'hostile'], { cwd: dir }))).toBe('deltaflow: hostile: model file: not a regular file');
    expect(oneLine(await runCli([...args, '--model', '/dev/zero'], { cwd: dir }))).toBe('deltaflow: /dev/zero: model file: not a regular file');
  });

  it('a file over MAX_MODEL_BYTES is refused from its size, without reading it', async () => {
    const { openSync, ftruncateSync, closeSync } = await import('node:fs');
    const fd = openSync(join(dir, 'hostile', 'sparse.json'), 'w');
    ftruncateSync(fd, 600 * 1024 * 1024);
    closeSync(fd);
    for (const args of commands.map(([, a]) => a)) {
      expect(oneLine(await runCli([...args, '--model', 'hostile/sparse.json'], { cwd: dir }))).toBe(
        'deltaflow: hostile/sparse.json: model file: the file has 629145600 bytes, more than the limit of 536870912',
      );
    }
  });
});

describe("a model file's classes and the stream's labels", () => {
  it('a label the model has no class for is the same one line in train, online and evaluate, naming file:line:column', async () => {
    writeRecs(join(dir, 'named.csv'), goodRows(60, 23).map((r) => ({ text: r.text.replace(/,(\d)$/, (_, k: string) => `,${['cat', 'dog', 'owl'][Number(k)]}`) })));
    const t = await runCli(['train', '--data', 'named.csv', '--label', 'kind', '--epochs', '2', '--out', 'named-run', '--quiet'], { cwd: dir });
    expect(t.code, t.stderr).toBe(0);
    const recs = goodRows(30, 24).map((r) => ({ text: r.text.replace(/,(\d)$/, (_, k: string) => `,${['cat', 'dog', 'owl'][Number(k)]}`) }));
    const [p] = positions(1, recs.length, 24);
    recs[p] = { text: recs[p].text.replace(/,[a-z]+$/, ',bird') };
    const lines = writeRecs(join(dir, 'named-bird.csv'), recs);
    const expected = `deltaflow: named-bird.csv:${lines[p]}:${HEADER.length} (column "kind"): label "bird" is not one of the 3 classes "cat", "dog", "owl"`;
    const model = join('named-run', 'model.json');
    for (const command of [
      ['train', '--model', model, '--data', 'named-bird.csv', '--label', 'kind', '--epochs', '1', '--out', 'named-run-2', '--quiet'],
      ['online', '--model', model, '--data', 'named-bird.csv', '--label', 'kind', '--out', 'named-online'],
      ['evaluate', '--model', model, '--data', 'named-bird.csv', '--label', 'kind'],
    ]) {
      const r = await runCli(command, { cwd: dir });
      expect(r.code, command[0]).toBe(1);
      expect(r.stderr.split('\n').filter((l) => l.length > 0 && !l.includes('continuing')), command[0]).toEqual([expected]);
    }
  });
});
