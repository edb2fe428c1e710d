/**
 * The training progress display on stderr: one cli-progress bar per epoch showing samples done,
 * the running loss and accuracy, samples per second and the time left.
 *
 * The bar is drawn only when stderr is a terminal and the output is not quiet; in a pipe or a log
 * file nothing per step is written (the epoch summaries, printed by the command, are enough).
 * When the number of samples in an epoch is unknown (stdin), the bar shows the count without a total.
 */
import cliProgress from 'cli-progress';

export interface StepFigures {
  /** Samples done in this epoch. */
  readonly samples: number;
  /** Running mean loss of the epoch. */
  readonly loss: number;
  /** Running accuracy of the epoch, null for regression. */
  readonly accuracy: number | null;
  readonly samplesPerSecond: number;
}

export interface Progress {
  /** Start the bar of epoch `epoch` of `epochs`; `total` is the epoch's sample count when known. */
  startEpoch(epoch: number, epochs: number, total: number | null): void;
  update(figures: StepFigures): void;
  /** Remove the bar (so the caller can print the epoch summary on a clean line). */
  endEpoch(): void;
}

const formatRate = (v: number): string => (v >= 1000 ? `${(v / 1000).toFixed(1)}k` : v.toFixed(0));

/** A progress display on `stream` (stderr by default); a no-op when `isEnabled` is false or the stream is not a terminal. */
export function createProgress(isEnabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!isEnabled || stream.isTTY !== true) {
    return { startEpoch: () => undefined, update: () => undefined, endEpoch: () => undefined };
  }
  let bar: cliProgress.SingleBar | null = null;
  let hasTotal = false;
  return {
    startEpoch(epoch, epochs, total) {
      hasTotal = total !== null && total > 0;
      const counts = hasTotal ? '{value}/{total} | ETA {eta_formatted}' : '{value} samples | {duration_formatted}';
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `epoch ${epoch}/${epochs} {bar} {percentage}% | ${counts} | loss {loss} | acc {acc} | {rate} samples/s`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
          fps: 8,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(hasTotal && total !== null ? total : 0, 0, { loss: '-', acc: '-', rate: '-' });
    },
    update(f) {
      if (bar === null) return;
      if (!hasTotal) bar.setTotal(f.samples);
      bar.update(f.samples, {
        loss: f.loss.toFixed(4),
        acc: f.accuracy === null ? '-' : `${(100 * f.accuracy).toFixed(2)}%`,
        rate: formatRate(f.samplesPerSecond),
      });
    },
    endEpoch() {
      if (bar === null) return;
      bar.stop();
      bar = null;
    },
  };
}
