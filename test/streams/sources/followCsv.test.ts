/**
 * fromCsv with `follow` (followFile.ts): a writer appends rows in random chunks — lines, CRLFs and
 * quoted fields split across writes — and the reader sees every row exactly once, in order, with
 * both engines; a partial last line waits for its line ending; a stop leaves the position at the last
 * complete row and a resume from there continues exactly; truncation and rotation are stated.
 */
import { appendFileSync, mkdtempSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { type CsvSourceOptions, fromCsv } from '../../../src/streams/sources/fromCsv.js';
import type { Sample } from '../../../src/streams/types.js';
import { rng } from '../../cli/cliHelpers.js';

const dir = mkdtempSync(join(tmpdir(), 'deltaflow-follow-'));
let nFiles = 0;
const freshPath = (): string => join(dir, `f${nFiles++}.csv`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `isDone()` holds (checked every 10 ms), for at most 10 s: robust on a loaded machine. */
async function waitFor(isDone: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !isDone(); i++) await sleep(10);
}

/** Follows `path`, collecting Samples, until `until(samples)` holds; then unsubscribes. Rejects on a reader error. */
function follow(path: string, options: CsvSourceOptions, until: (rows: Sample[]) => boolean, timeoutMs = 20_000): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const rows: Sample[] = [];
    const timer = setTimeout(() => {
      sub.unsubscribe();
      reject(new Error(`follow: only ${rows.length} rows after ${timeoutMs} ms`));
    }, timeoutMs);
    const sub = fromCsv(path, { follow: { pollMs: 10 }, ...options }).subscribe({
      next: (s) => {
        rows.push(s);
        if (until(rows)) {
          clearTimeout(timer);
          queueMicrotask(() => sub.unsubscribe());
          resolve(rows);
        }
      },
      error: (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
      complete: () => reject(new Error('a followed file never completes')),
    });
  });
}

/**
 * Rows `label,a,b`, CRLF endings on odd rows. `quoted`: which rows quote b — the fast scanner hands
 * over to csv-parse at the first; `"x\ny"` puts a line break inside quotes (b is then not a feature).
 */
function rowsText(n: number, quoted: (i: number) => string | null = (i) => (i % 9 === 0 ? `"${i}"` : null)): string[] {
  return Array.from({ length: n }, (_, i) => `${i % 3},${i / 4},${quoted(i) ?? String(-i)}${i % 2 === 1 ? '\r\n' : '\n'}`);
}

/** Appends `text` in random pieces (1–40 bytes) with random pauses, splitting lines anywhere. */
async function appendInPieces(path: string, text: string, random: () => number): Promise<void> {
  for (let at = 0; at < text.length; ) {
    const n = 1 + Math.floor(random() * 40);
    appendFileSync(path, text.slice(at, at + n));
    at += n;
    if (random() < 0.3) await sleep(Math.floor(random() * 4));
  }
}

function plain(s: Sample): unknown {
  return { x: Array.from(s.x), label: s.label, origin: s.origin };
}

describe('fromCsv follow', () => {
  const cases = [
    { title: 'fast scanner, handing over to csv-parse at row 1000', engine: 'fast', quoted: (i: number) => (i === 1000 ? '"q"' : null), features: ['a'] },
    { title: 'csv-parse, quoted fields with line breaks inside', engine: 'csv-parse', quoted: (i: number) => (i % 9 === 0 ? '"x\ny"' : i % 7 === 0 ? '"1,5"' : null), features: ['a'] },
    { title: 'csv-parse, quoted values', engine: 'csv-parse', quoted: (i: number) => (i % 9 === 0 ? `"${i}"` : null), features: ['a', 'b'] },
  ] as const;
  cases.forEach(({ title, engine, quoted, features }, k) => {
    it(`sees every appended row exactly once, in order, whatever the pieces (${title})`, async () => {
      const path = freshPath();
      writeFileSync(path, 'label,a,b\n');
      const N = 1500;
      const body = rowsText(N, quoted).join('');
      const options: CsvSourceOptions = { classes: 3, engine, features: [...features] };
      const reading = follow(path, options, (rows) => rows.length >= N);
      await appendInPieces(path, body, rng(7 + k));
      const rows = await reading;
      expect(rows).toHaveLength(N);
      const reference = await lastValueFrom(fromCsv(path, options).pipe(toArray()));
      expect(rows.map(plain)).toEqual(reference.map(plain));
      expect(rows.map((s) => s.origin.record)).toEqual(Array.from({ length: N }, (_, i) => i));
    });
  });

  it('reads a partial last line only once its line ending arrives (a CRLF split between \\r and \\n too)', async () => {
    const path = freshPath();
    writeFileSync(path, 'label,x\n0,1\n1,2');
    const seen: Sample[] = [];
    const sub = fromCsv(path, { classes: 2, follow: { pollMs: 10 } }).subscribe({ next: (s) => seen.push(s) });
    await waitFor(() => seen.length >= 1);
    await sleep(150); // several polls: the partial row must still wait
    expect(seen.map((s) => s.x[0])).toEqual([1]);
    appendFileSync(path, '5\r');
    await sleep(150);
    expect(seen.map((s) => s.x[0])).toEqual([1]);
    appendFileSync(path, '\n0,3\n');
    await waitFor(() => seen.length >= 3);
    expect(seen.map((s) => s.x[0])).toEqual([1, 25, 3]);
    expect(seen[1].origin).toEqual({ source: path, line: 3, record: 1, endOffset: 18 });
    sub.unsubscribe();
  });

  it('a stop leaves the position at the last complete row; a resume from there reads on exactly', async () => {
    const path = freshPath();
    const all = rowsText(60);
    writeFileSync(path, `label,a,b\n${all.slice(0, 30).join('')}${all[30].slice(0, 3)}`);
    const first = await follow(path, { classes: 3 }, (rows) => rows.length >= 30);
    await sleep(50);
    const last = first[first.length - 1].origin;
    expect(last.record).toBe(29);
    appendFileSync(path, `${all[30].slice(3)}${all.slice(31).join('')}`);
    const resumed = await follow(path, { classes: 3, startOffset: last.endOffset, startRecord: last.record + 1, startLine: last.line + 1 }, (rows) => rows.length >= 30);
    const reference = await lastValueFrom(fromCsv(path, { classes: 3 }).pipe(toArray()));
    expect([...first, ...resumed].map(plain)).toEqual(reference.map(plain));
  });

  it('states a truncated file', async () => {
    const path = freshPath();
    writeFileSync(path, 'label,x\n0,1\n1,2\n');
    const rows: Sample[] = [];
    const error = new Promise<Error>((resolve) => {
      fromCsv(path, { classes: 2, follow: { pollMs: 10 } }).subscribe({ next: (s) => rows.push(s), error: resolve });
    });
    await waitFor(() => rows.length >= 2);
    truncateSync(path, 4);
    expect((await error).message).toBe(`${path}: cannot read at byte offset 16: the file was truncated (its size is now 4 bytes); rows written since may be lost, so reading stops`);
    expect(rows).toHaveLength(2);
  });

  it('states a rotated file, after reading the old file to its end', async () => {
    const path = freshPath();
    writeFileSync(path, 'label,x\n0,1\n');
    const rows: Sample[] = [];
    const error = new Promise<Error>((resolve) => {
      fromCsv(path, { classes: 2, follow: { pollMs: 10 } }).subscribe({ next: (s) => rows.push(s), error: resolve });
    });
    await waitFor(() => rows.length >= 1);
    // The writer appends a last row, then the file is rotated (rename + a new file at the path).
    appendFileSync(path, '1,2\n');
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'label,x\n1,9\n');
    const e = await error;
    expect(e.message).toMatch(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read at byte offset 16: the file was rotated \\(the path now names another file, inode \\d+ instead of \\d+\\); every row of the old file was read — read the new file from its start$`));
    expect(rows.map((s) => s.x[0])).toEqual([1, 2]);
  });

  it('refuses follow on a stream', async () => {
    const { Readable } = await import('node:stream');
    expect(() => fromCsv(Readable.from(['a\n']), { classes: 2, follow: true })).toThrow(
      'fromCsv: option "follow" must be unset unless the input is a file path (a stream is followed as it is), got true',
    );
  });
});
