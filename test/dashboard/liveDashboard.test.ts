/**
 * `deltaflow train --dashboard` in a real Chromium: a LeNet run fed through stdin in three parts, so
 * the test decides when it progresses. The page loads while the run goes on, its charts gain points
 * as more rows arrive, every layer with parameters gets its distributions (weights, gradients, δ),
 * the page shows the run's final test accuracy — the one the program printed — and its screenshot
 * is kept in test-artifacts/. The run folder keeps the events in stats.jsonl.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMnistCsv } from '../../scripts/prepareData.js';
import { parseStatsFile } from '../../scripts/dashboard/statsFile.js';
import { ARTIFACTS, launchChromium, type Chromium } from '../helpers/chromium.js';
import { ROOT, spawnCli, type Spawned } from '../helpers/spawned.js';

/** LeNet's layers with parameters: conv, conv, dense, dense, dense. */
const PARAM_LAYERS = [0, 3, 7, 9, 11];

const pointsOf = (page: Page, chart: string): Promise<number> => page.$eval(`[data-chart="${chart}"]`, (el) => Number(el.getAttribute('data-points')));

describe('train --dashboard in Chromium', () => {
  let browser: Chromium;
  let run: Spawned | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'deltaflow-dashboard-'));

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await run?.stop();
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws the run live: points grow, every layer\'s distributions, the final test accuracy', async () => {
    const files = await ensureMnistCsv(join(ROOT, 'data'));
    const [header, ...rows] = readFileSync(files.train, 'utf8').trimEnd().split('\n');
    const out = join(dir, 'run');
    run = spawnCli([
      'train', '--data', '-', '--model', 'lenet', '--shape', '1,28,28', '--classes', '10', '--scale', '1/255', '--test', files.test,
      '--batch', '32', '--shuffle', '0', '--workers', '1', '--out', out, '--json', '--dashboard', '--port', '0', '--stats-every', '5',
    ]);
    const feed = (from: number, to: number): void => {
      run?.child.stdin.write(`${rows.slice(from, to).join('\n')}\n`);
    };
    run.child.stdin.write(`${header}\n`);
    feed(0, 1000);
    const url = (await run.waitFor(/dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/))[1];

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => Number(document.querySelector('[data-chart="loss"]')?.getAttribute('data-points') ?? 0) > 0, null, { timeout: 20_000 });
    const before = await pointsOf(page, 'loss');
    expect(await page.textContent('#status')).toBe('live');

    feed(1000, 2000);
    await page.waitForFunction((n) => Number(document.querySelector('[data-chart="loss"]')?.getAttribute('data-points') ?? 0) > n, before, { timeout: 20_000 });
    const during = await pointsOf(page, 'loss');
    expect(during).toBeGreaterThan(before);

    feed(2000, 4000);
    run.child.stdin.end();
    const done = JSON.parse((await run.waitFor(/^\{"type":"done".*$/m, 40_000))[0]) as { testAccuracy: number; steps: number };
    expect(await run.exited).toBe(0);
    const shown = `${(100 * done.testAccuracy).toFixed(2)}%`;
    await page.waitForFunction((text) => document.querySelector('[data-run="0"] [data-final-test-accuracy]')?.textContent === text, shown, { timeout: 10_000 });
    await page.waitForFunction(() => document.getElementById('status')?.dataset.status === 'finished', null, { timeout: 10_000 });

    // Every step (125 of them) reached the page, and each scalar chart has them.
    for (const chart of ['loss', 'accuracy', 'lr', 'samples-per-second', 'grad-norm']) expect(await pointsOf(page, chart)).toBe(done.steps);
    // Every layer with parameters: W, ∂C/∂W, b, ∂C/∂b and δ, each with its 25 sampled steps (every 5 of 125).
    const layers = await page.$$eval('.layer-run[data-run="0"] .layer', (els) => els.map((el) => Number(el.getAttribute('data-layer'))));
    expect(layers).toEqual(PARAM_LAYERS);
    for (const layer of PARAM_LAYERS) {
      const charts = await page.$$eval(`.layer-run[data-run="0"] .layer[data-layer="${layer}"] [data-chart]`, (els) => els.map((el) => [el.getAttribute('data-chart'), Number(el.getAttribute('data-points'))]));
      expect(charts).toEqual([['weights-W', 25], ['grads-W', 25], ['weights-b', 25], ['grads-b', 25], ['delta', 25]]);
    }
    expect(await page.textContent('[data-run="0"] pre')).toContain('Total params: 44,426');
    expect(errors).toEqual([]);

    mkdirSync(join(ROOT, ARTIFACTS), { recursive: true });
    await page.screenshot({ path: join(ROOT, ARTIFACTS, 'dashboard.png'), fullPage: true });

    // The run folder keeps the events: 125 steps, 25 layer records, one epoch, the end.
    const events = parseStatsFile(readFileSync(join(out, 'stats.jsonl'), 'utf8'), 'stats.jsonl');
    expect(events[0].type).toBe('run');
    expect(events.filter((e) => e.type === 'steps').reduce((n, e) => n + (e.type === 'steps' ? e.step.length : 0), 0)).toBe(125);
    expect(events.filter((e) => e.type === 'layers')).toHaveLength(25);
    expect(events[events.length - 1]).toMatchObject({ type: 'done', status: 'done', testAccuracy: done.testAccuracy });
  });
});
