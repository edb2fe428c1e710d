/**
 * The demo's training worker: deltaflow in a Web Worker. It loads the library bundle
 * (dist/browser/deltaflow.js, served as ./deltaflow.js), turns on the WebAssembly SIMD kernels, reads
 * the MNIST CSV with fromCsv from a fetch Response body (or the File the user picked), trains
 * LeNet-5 with `fit`, and posts the steps, the epochs, a few test digits with their predictions, and
 * the training throughput to the page. The page's thread never trains, so it stays responsive.
 */
import { defer, from, mergeMap, take, type Observable } from 'rxjs';
import {
  adam,
  conv2d,
  dense,
  fit,
  flatten,
  forwardAll,
  fromCsv,
  initKernels,
  maxPool2d,
  relu,
  sequential,
  softmaxCrossEntropy,
  type Sample,
} from 'deltaflow/browser';
import type { TrainRequest, WorkerMessage } from './protocol.js';

const post = (m: WorkerMessage): void => postMessage(m);
const CSV = { classes: 10, scale: 1 / 255, shape: [1, 28, 28] } as const;

/** The rows of a CSV: the picked File, or the body of a fetch of `url`. */
async function csvRows(url: string, file: File | null, rows: number): Promise<Observable<Sample>> {
  if (file !== null) return fromCsv(file, CSV).pipe(take(rows));
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return fromCsv(response.body, { ...CSV, name: url }).pipe(take(rows));
}

function lenet(): ReturnType<typeof sequential> {
  return sequential(
    { input: [1, 28, 28], seed: 1 },
    conv2d({ filters: 6, kernel: 5 }), relu(), maxPool2d({ size: 2 }),
    conv2d({ filters: 16, kernel: 5 }), relu(), maxPool2d({ size: 2 }),
    flatten(), dense({ units: 120 }), relu(), dense({ units: 84 }), relu(), dense({ units: 10 }),
  );
}

async function run(req: TrainRequest): Promise<void> {
  const wasm = await initKernels();
  post({ type: 'ready', wasm });
  const model = lenet();
  // fit subscribes once an epoch: each subscription fetches again (or reads the File again).
  const rowsOf = (url: string, file: File | null, n: number): Observable<Sample> => defer(() => from(csvRows(url, file, n)).pipe(mergeMap((s) => s)));
  let pending: { step: number; loss: number; accuracy: number | null; samplesPerSecond: number }[] = [];
  let lastPost = 0;
  // Throughput over each epoch's steps after its first (the first waits for the fetch to start).
  let epochFirst: { at: number; samples: number } | null = null;
  let last = { at: 0, samples: 0, step: 0 };
  let timedSamples = 0;
  let timedSeconds = 0;
  let testAccuracy: number | null = null;
  await new Promise<void>((resolve, reject) => {
    fit(model, {
      trainSource: () => rowsOf(req.trainUrl, req.file, req.rows),
      testSource: () => rowsOf(req.testUrl, null, req.testRows),
      epochs: req.epochs,
      batchSize: req.batch,
      shuffle: { window: 2048, seed: 1 },
      loss: softmaxCrossEntropy(),
      optimizer: adam({ lr: req.lr }),
    }).subscribe({
      next: (e) => {
        const now = performance.now();
        if (e.type === 'step') {
          if (epochFirst === null) epochFirst = { at: now, samples: e.samples };
          last = { at: now, samples: e.samples, step: e.step };
          pending.push({ step: e.step, loss: e.loss, accuracy: e.accuracy, samplesPerSecond: e.samplesPerSecond });
          if (now - lastPost > 100) {
            post({ type: 'steps', steps: pending });
            pending = [];
            lastPost = now;
          }
          return;
        }
        if (epochFirst !== null) {
          timedSamples += last.samples - epochFirst.samples;
          timedSeconds += (last.at - epochFirst.at) / 1000;
        }
        epochFirst = null;
        post({ type: 'steps', steps: pending });
        pending = [];
        testAccuracy = e.test?.accuracy ?? null;
        post({ type: 'epoch', epoch: e.epoch, step: last.step, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy, testLoss: e.test?.loss ?? null, testAccuracy });
      },
      error: reject,
      complete: () => resolve(),
    });
  });
  post({ type: 'digits', digits: await predictDigits(model, req, 12) });
  post({ type: 'done', testAccuracy, samplesPerSecond: timedSamples / Math.max(1e-9, timedSeconds), samples: timedSamples, seconds: timedSeconds, wasm });
}

/** The first `n` test digits, their labels and the model's predictions. */
async function predictDigits(model: ReturnType<typeof sequential>, req: TrainRequest, n: number): Promise<{ pixels: number[]; label: number; predicted: number }[]> {
  const samples: Sample[] = [];
  const source = await csvRows(req.testUrl, null, n);
  await new Promise<void>((resolve, reject) => source.subscribe({ next: (s) => samples.push(s), error: reject, complete: () => resolve() }));
  const x = new Float32Array(samples.length * 784);
  samples.forEach((s, i) => x.set(s.x, i * 784));
  const logits = forwardAll(model, { data: x, shape: [samples.length, 1, 28, 28] }).data;
  return samples.map((s, i) => {
    const row = logits.subarray(i * 10, (i + 1) * 10);
    const predicted = row.indexOf(Math.max(...row));
    return { pixels: Array.from(s.x, (v) => Math.round(v * 255)), label: s.label, predicted };
  });
}

addEventListener('message', (event: MessageEvent<TrainRequest>) => {
  run(event.data).catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
});
