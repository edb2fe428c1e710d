/**
 * `deltaflow dashboard RUN1 RUN2` in Chromium: two finished runs overlaid — one trained with
 * --dashboard (its stats.jsonl: scalars and layer distributions), one without (its metrics.csv:
 * scalars only). Both runs' cards show the final test accuracy their training printed, both are in
 * the scalar charts' legends, and the layer distributions of the first run appear.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeBlobs } from '../cli/cliHelpers.js';
import { ARTIFACTS, launchChromium, type Chromium } from '../helpers/chromium.js';
import { ROOT, spawnCli, type Spawned } from '../helpers/spawned.js';

describe('deltaflow dashboard RUN RUN (replay)', () => {
  let browser: Chromium;
  let replay: Spawned | null = null;

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await replay?.stop();
    await browser.close();
  });

  it('shows both runs overlaid, with their final test accuracies and the first run\'s layers', async () => {
    const dir = tempDir();
    writeBlobs(join(dir, 'train.csv'), 600, 1);
    writeBlobs(join(dir, 'test.csv'), 200, 2);
    const common = ['train', '--data', join(dir, 'train.csv'), '--test', join(dir, 'test.csv'), '--label', 'species', '--hidden', '16', '--epochs', '3', '--batch', '16', '--workers', '1', '--json'];
    const [withStats, withoutStats] = await Promise.all([
      runCli([...common, '--out', join(dir, 'fast'), '--lr', '0.01', '--dashboard', '--port', '0', '--stats-every', '4']),
      runCli([...common, '--out', join(dir, 'slow'), '--lr', '0.001']),
    ]);
    expect(withStats.code, withStats.stderr).toBe(0);
    expect(withoutStats.code, withoutStats.stderr).toBe(0);
    const accuracyOf = (stdout: string): string => `${(100 * (JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { testAccuracy: number }).testAccuracy).toFixed(2)}%`;

    replay = spawnCli(['dashboard', join(dir, 'fast'), join(dir, 'slow'), '--port', '0']);
    const url = (await replay.waitFor(/dashboard: (http:\/\/127\.0\.0\.1:\d+\/) \(replaying 2 runs/))[1];
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll('.run').length === 2 && document.querySelector('[data-chart="loss"]') !== null, null, { timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('.layer-run[data-run="0"] .layer').length === 2, null, { timeout: 10_000 });

    expect(await page.textContent('#status')).toBe('replay of 2 runs');
    expect(await page.$$eval('.run .name', (els) => els.map((e) => e.textContent))).toEqual(['fast', 'slow']);
    expect(await page.textContent('[data-run="0"] [data-final-test-accuracy]')).toBe(accuracyOf(withStats.stdout));
    expect(await page.textContent('[data-run="1"] [data-final-test-accuracy]')).toBe(accuracyOf(withoutStats.stdout));
    // 600 rows / 16 = 38 steps an epoch, 114 in all, for both runs on the same steps.
    expect(await page.$eval('[data-chart="loss"]', (el) => Number(el.getAttribute('data-points')))).toBe(114);
    const legend = await page.$$eval('[data-chart="loss"] .u-legend .u-label', (els) => els.map((e) => e.textContent));
    expect(legend).toEqual(expect.arrayContaining(['fast', 'fast smoothed', 'fast test', 'slow', 'slow smoothed', 'slow test']));
    // The mlp's dense layers 0 and 2 (the run with stats.jsonl), sampled at steps 4, 8, … 112.
    expect(await page.$$eval('.layer-run[data-run="0"] .layer', (els) => els.map((e) => e.getAttribute('data-layer')))).toEqual(['0', '2']);
    expect(await page.$eval('.layer-run[data-run="0"] .layer[data-layer="0"] [data-chart="weights-W"]', (el) => Number(el.getAttribute('data-points')))).toBe(28);
    expect(await page.textContent('.layer-run[data-run="1"] .empty')).toBe('this run has no layer statistics (it was trained without --dashboard)');
    expect(errors).toEqual([]);
    await page.screenshot({ path: join(ROOT, ARTIFACTS, 'replay.png'), fullPage: true });
  });

  it('refuses a folder that is not a run, naming it', async () => {
    const dir = tempDir();
    const r = await runCli(['dashboard', dir, '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`deltaflow: ${dir}: not a run folder (no stats.jsonl nor metrics.csv)\n`);
  });
});
