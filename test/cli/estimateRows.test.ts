import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { estimateRows } from '../../scripts/commands/columns.js';

const dir = mkdtempSync(join(tmpdir(), 'deltaflow-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('estimateRows', () => {
  const rows = Array.from({ length: 2000 }, (_, i) => `${i % 10},${(i * 37) % 1000},${(i * 11) % 97}`);
  const text = `label,a,b\n${rows.join('\n')}\n`;

  it('counts the rows of a file up to the counted size: line breaks minus the header, a last line without one included', async () => {
    expect(await estimateRows(file('a.csv', text))).toEqual({ rows: 2000, isCounted: true });
    expect(await estimateRows(file('b.csv', text.slice(0, -1)))).toEqual({ rows: 2000, isCounted: true });
    expect(await estimateRows(file('c.csv', 'label,a\n'))).toEqual({ rows: 0, isCounted: true });
    expect(await estimateRows(file('d.csv', ''))).toEqual({ rows: 0, isCounted: true });
  });

  it('estimates a larger file from its first bytes and its size, without reading it all', async () => {
    const path = file('big.csv', text);
    // Counted only up to 1 KiB: the first 4 KiB give the rows per byte.
    const estimate = await estimateRows(path, 1024, 4096);
    expect(estimate.isCounted).toBe(false);
    expect(Math.abs(estimate.rows - 2000)).toBeLessThan(2000 * 0.1);
    // A sample of the whole file gives the count back (minus nothing: the header is one of its lines).
    expect(await estimateRows(path, 1024, text.length)).toEqual({ rows: 2000, isCounted: false });
  });
});
