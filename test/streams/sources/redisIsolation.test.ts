/**
 * Everything in deltaflow that does not need Redis works without it: node-redis is imported by one
 * module only (redis/redisConnection.ts), and only dynamically, when something connects. Checked in
 * the source, and at run time with a resolve hook that makes node-redis unloadable: importing the
 * library and training from a CSV through the CLI work, and connecting fails with the hook's error.
 * Runs the built dist/ (build first; `npm test` does).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI, tempDir, writeBlobs } from '../../cli/cliHelpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NO_REDIS = fileURLToPath(new URL('./fixtures/noRedis.mjs', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('deltaflow without Redis', () => {
  it('imports node-redis in one module only, dynamically', () => {
    const users = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'scripts'))]
      .filter((p) => /['"]@redis\/client['"]|from ['"]redis['"]/.test(readFileSync(p, 'utf8')))
      .map((p) => relative(ROOT, p));
    expect(users).toEqual(['src/streams/sources/redis/redisConnection.ts']);
    const text = readFileSync(join(ROOT, users[0]), 'utf8');
    expect(text).toMatch(/await import\('@redis\/client'\)/);
    expect(text).not.toMatch(/^import [^\n]*from '@redis\/client'/m);
  });

  it('imports the library and trains from a CSV with node-redis unloadable; connecting is what loads it', () => {
    const lib = spawnSync(process.execPath, ['--import', NO_REDIS, '-e', `import(${JSON.stringify(join(ROOT, 'dist/src/index.js'))}).then((d) => console.log(typeof d.fromRedisStream, typeof d.fromCsv))`], { encoding: 'utf8' });
    expect(lib.stderr).toBe('');
    expect(lib.stdout).toBe('function function\n');
    const dir = tempDir();
    writeBlobs(join(dir, 'data.csv'), 60, 1);
    const train = spawnSync(process.execPath, ['--import', NO_REDIS, CLI, 'train', '--data', 'data.csv', '--label', 'species', '--epochs', '1', '--out', 'run'], { cwd: dir, encoding: 'utf8' });
    expect(train.stderr).not.toMatch(/node-redis was loaded/);
    expect(train.status).toBe(0);
    const publish = spawnSync(process.execPath, ['--import', NO_REDIS, CLI, 'publish', '--redis', 'redis://127.0.0.1:1', '--stream', 's', '--data', 'data.csv'], { cwd: dir, encoding: 'utf8' });
    expect(publish.status).toBe(1);
    expect(publish.stderr).toMatch(/node-redis was loaded: @redis\/client/);
  });
});
