/**
 * The online part of the dashboard: the page draws the `window` events (windowed and cumulative
 * accuracy and loss, κ when given) over the rows seen, with a marker at each `drift` event — the
 * shapes of protocol.ts, sent here by a real server from a RunStore — and `online --dashboard` runs
 * a prequential stream with the dashboard up, its layers sampled too.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../scripts/dashboard/runStore.js';
import { startDashboardServer, type DashboardServer } from '../../scripts/dashboard/server.js';
import { runCli, tempDir, writeBlobs } from '../cli/cliHelpers.js';
import { launchChromium, type Chromium } from '../helpers/chromium.js';

describe('dashboard: online runs', () => {
  let browser: Chromium;
  let server: DashboardServer;
  const store = new RunStore({ type: 'run', version: 1, name: 'stream', title: 'online mlp', kind: 'online', summary: 'Model: mlp', layers: [], percentiles: [], statsEvery: 10 });

  beforeAll(async () => {
    server = await startDashboardServer({ host: '127.0.0.1', port: 0, token: null, stores: [store], control: { statsEvery: 10 } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
  });

  it('draws windowed metrics, κ and a marker per drift detection, live', async () => {
    const seen = Array.from({ length: 200 }, (_, i) => (i + 1) * 10);
    const accuracy = seen.map((s) => (s < 1000 ? 0.9 : 0.5 + s / 10_000));
    const send = (event: Parameters<RunStore['add']>[0]): void => {
      const kept = store.add(event);
      if (kept !== null) server.send(0, kept);
    };
    send({ type: 'window', seen: seen.slice(0, 100), windowAccuracy: accuracy.slice(0, 100), windowLoss: accuracy.slice(0, 100).map((a) => 1 - a), cumulativeAccuracy: accuracy.slice(0, 100), cumulativeLoss: accuracy.slice(0, 100).map((a) => 1 - a), kappa: accuracy.slice(0, 100).map((a) => 2 * a - 1) });
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => document.querySelector('[data-chart="online-accuracy"]')?.getAttribute('data-points') === '100', null, { timeout: 10_000 });
    send({ type: 'drift', seen: 1000, detector: 'ADWIN' });
    send({ type: 'window', seen: seen.slice(100), windowAccuracy: accuracy.slice(100), windowLoss: accuracy.slice(100).map((a) => 1 - a), cumulativeAccuracy: accuracy.slice(100), cumulativeLoss: accuracy.slice(100).map((a) => 1 - a), kappa: accuracy.slice(100).map((a) => 2 * a - 1) });
    send({ type: 'drift', seen: 1600, detector: 'ADWIN' });
    await page.waitForFunction(() => document.querySelector('[data-chart="online-accuracy"]')?.getAttribute('data-points') === '200', null, { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelector('[data-chart="online-accuracy"]')?.getAttribute('data-markers') === '2', null, { timeout: 10_000 });
    for (const chart of ['online-accuracy', 'online-loss', 'online-kappa']) {
      expect(await page.$eval(`[data-chart="${chart}"]`, (el) => [el.getAttribute('data-points'), el.getAttribute('data-markers')])).toEqual(['200', '2']);
    }
    expect(await page.isVisible('#online-part')).toBe(true);
    await page.close();
  });

  it('online --dashboard learns from a stream with the dashboard up and ends', async () => {
    const dir = tempDir();
    writeBlobs(join(dir, 'stream.csv'), 400, 3);
    const r = await runCli(['online', '--model', 'mlp', '--data', join(dir, 'stream.csv'), '--label', 'species', '--window', '100', '--dashboard', '--port', '0', '--stats-every', '50']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^deltaflow: dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(layer statistics every 50 steps\)$/m);
    expect(r.stdout).toMatch(/^done: rows 400 /m);
  });
});
