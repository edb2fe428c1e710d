/**
 * fromCsv on a web ReadableStream<Uint8Array> (what a browser File.stream() or a fetch Response.body
 * is; Node 20 has the same class): the same samples and the same errors as from a file, in tiny
 * chunks so rows straddle them; unsubscribing cancels the stream; a locked stream is refused.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { fromCsv, type CsvSourceOptions } from '../../../src/streams/sources/fromCsv.js';
import { isWebStream } from '../../../src/streams/sources/webStream.js';
import type { Sample } from '../../../src/streams/types.js';

const dir = mkdtempSync(join(tmpdir(), 'deltaflow-webStream-'));

/** A web stream of `text` in chunks of `size` bytes; `onCancel` sees a cancellation. */
function webStream(text: string, size: number, onCancel?: () => void): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) controller.close();
      else {
        controller.enqueue(bytes.slice(at, at + size));
        at += size;
      }
    },
    cancel: () => onCancel?.(),
  });
}

const plain = (s: Sample): unknown => ({ x: Array.from(s.x), label: s.label, line: s.origin.line, record: s.origin.record });
const all = (input: Parameters<typeof fromCsv>[0], o: CsvSourceOptions): Promise<Sample[]> => lastValueFrom(fromCsv(input, o).pipe(toArray()));

const CSV = 'x1,x2,label\r\n0.5,1,a\n"2",-3e-1,b\n4, 5 ,a\n';

describe('fromCsv on a web ReadableStream', () => {
  it('gives the samples a file gives, in 1- to 7-byte chunks (BOM, CRLF and quotes straddling chunks)', async () => {
    const text = `\ufeff${CSV}`;
    const path = join(dir, 'a.csv');
    writeFileSync(path, text);
    const fromFile = (await all(path, { classes: ['a', 'b'] })).map(plain);
    expect(fromFile).toHaveLength(3);
    for (const size of [1, 2, 3, 7]) {
      expect((await all(webStream(text, size), { classes: ['a', 'b'] })).map(plain)).toEqual(fromFile);
    }
  });

  it('reads a Blob\'s stream() (a browser File is a Blob)', async () => {
    const rows = await all(new Blob([CSV]).stream(), { classes: ['a', 'b'] });
    expect(rows.map((s) => s.label)).toEqual([0, 1, 0]);
  });

  it('reports a bad value with the same message as a file, naming the stream', async () => {
    const bad = 'x1,x2,label\n1,2,a\n3,abc,b\n';
    await expect(all(webStream(bad, 4), { classes: ['a', 'b'], name: 'upload.csv' })).rejects.toThrow('upload.csv:3:2 (column "x2"): "abc" is not a number');
    await expect(all(webStream(bad, 4), { classes: ['a', 'b'] })).rejects.toThrow('stream:3:2 (column "x2"): "abc" is not a number');
  });

  it('reports an unclosed quote at the line where it opened, as for a file', async () => {
    await expect(all(webStream('x,label\n1,a\n"2,b\n3,a\n', 3), { classes: ['a', 'b'] })).rejects.toThrow(/stream:3/);
  });

  it('cancels the stream when the subscriber unsubscribes', async () => {
    let cancelled = 0;
    const rows = 'x,label\n' + Array.from({ length: 2000 }, (_, i) => `${i},a`).join('\n');
    const got = await lastValueFrom(fromCsv(webStream(rows, 16, () => cancelled++), { classes: ['a'] }).pipe(take(3), toArray()));
    expect(got.map((s) => s.x[0])).toEqual([0, 1, 2]);
    await new Promise((r) => setTimeout(r, 10));
    expect(cancelled).toBe(1);
  });

  it('refuses a stream another reader holds, naming it', async () => {
    const s = webStream(CSV, 4);
    const reader = s.getReader();
    await expect(all(s, { classes: ['a', 'b'], name: 'upload.csv' })).rejects.toThrow('fromCsv: the stream upload.csv is locked (another reader is reading it); pass a stream nobody reads yet');
    reader.releaseLock();
  });

  it('a chunk that is not bytes is a read error naming the stream and offset', async () => {
    const strings = new ReadableStream({ start: (c) => { c.enqueue('x,label\n'); c.close(); } });
    await expect(all(strings as ReadableStream<Uint8Array>, { classes: ['a'] })).rejects.toThrow('stream: cannot read at byte offset 0: expected Uint8Array chunks, got string');
  });

  it('tells a web stream from a Node stream', async () => {
    const { Readable } = await import('node:stream');
    expect(isWebStream(webStream('', 1))).toBe(true);
    expect(isWebStream(Readable.from(['a']))).toBe(false);
    expect(isWebStream('a.csv')).toBe(false);
  });
});
