import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { followFile } from '../../../src/streams/sources/followFile.js';

const dir = mkdtempSync(join(tmpdir(), 'deltaflow-followfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('followFile', () => {
  it('a row appended just before a rotation, after the last read found the end, is still read before the rotation is stated', async () => {
    const path = join(dir, 'rotating.csv');
    writeFileSync(path, 'a\n');
    let isRotated = false;
    const followed = followFile(path, 0, {
      pollMs: 5,
      testHooks: {
        // The writer's last row lands in the old file after the read that found its end; then it is rotated.
        beforePathCheck: () => {
          if (isRotated) return;
          isRotated = true;
          appendFileSync(path, 'b\n');
          renameSync(path, `${path}.1`);
          writeFileSync(path, 'new\n');
        },
      },
    });
    const chunks: Buffer[] = [];
    let error: unknown = null;
    try {
      for await (const chunk of followed) chunks.push(chunk);
    } catch (e) {
      error = e;
    }
    expect(isRotated).toBe(true);
    expect(Buffer.concat(chunks).toString('utf8')).toBe('a\nb\n');
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^the file was rotated \(the path now names another file, inode \d+ instead of \d+\); every row of the old file was read/);
  });
});
