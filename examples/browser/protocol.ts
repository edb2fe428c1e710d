/**
 * Messages between the demo page (main.ts) and its training worker (worker.ts).
 */

/** Page → worker: train LeNet on the MNIST CSV (or the file the user picked). */
export interface TrainRequest {
  readonly type: 'train';
  /** URLs of the CSVs (same origin), or a File the user picked for training. */
  readonly trainUrl: string;
  readonly testUrl: string;
  readonly file: File | null;
  /** Rows of the training file to use (the first n), and of the test file. */
  readonly rows: number;
  readonly testRows: number;
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
}

/** Worker → page. */
export type WorkerMessage =
  | { readonly type: 'ready'; readonly wasm: boolean }
  | { readonly type: 'steps'; readonly steps: readonly { step: number; loss: number; accuracy: number | null; samplesPerSecond: number }[] }
  | { readonly type: 'epoch'; readonly epoch: number; readonly step: number; readonly trainLoss: number; readonly trainAccuracy: number | null; readonly testLoss: number | null; readonly testAccuracy: number | null }
  | { readonly type: 'digits'; readonly digits: readonly { pixels: number[]; label: number; predicted: number }[] }
  | {
      readonly type: 'done';
      readonly testAccuracy: number | null;
      /** Training samples per second over the epochs' steps (reading the CSV included, evaluation not). */
      readonly samplesPerSecond: number;
      readonly samples: number;
      readonly seconds: number;
      readonly wasm: boolean;
    }
  | { readonly type: 'error'; readonly message: string };
