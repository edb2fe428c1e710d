/**
 * The two training workloads of the peers' README (/work/shared/bench/peers/README.md), with the
 * FLOP count per training sample used to turn samples/s into GFLOP/s (flops.js there):
 *
 *   W1  MLP 784-128 ReLU-64 ReLU-10, softmax cross-entropy, SGD lr 0.05, batch 64
 *   W2  LeNet-5-like on 1×28×28: conv 6@5×5 + ReLU, maxpool 2, conv 16@5×5 + ReLU, maxpool 2,
 *       flatten 256, dense 120 ReLU, dense 84 ReLU, dense 10, softmax CE, SGD lr 0.05, batch 64
 *
 * FLOPs = 2 per multiply-add of the matmuls/convolutions: forward + weight gradients + input
 * gradients of every layer but the first (W1 454,400; W2 1,517,040).
 */

export type WorkloadId = 'W1' | 'W2';

export interface Workload {
  readonly id: WorkloadId;
  readonly title: string;
  /** Per-sample input shape: `[784]` for W1, `[1, 28, 28]` for W2 (NCHW). */
  readonly input: readonly number[];
  readonly flopsPerSample: number;
}

export const BATCH = 64;
export const LEARNING_RATE = 0.05;

export const workloads: Readonly<Record<WorkloadId, Workload>> = {
  W1: { id: 'W1', title: 'W1 MLP 784-128-64-10', input: [784], flopsPerSample: 454_400 },
  W2: { id: 'W2', title: 'W2 LeNet-5', input: [1, 28, 28], flopsPerSample: 1_517_040 },
};

/** GFLOP/s of a samples/s figure under the peers' counting rule. */
export function gflops(w: Workload, samplesPerSecond: number): number {
  return (samplesPerSecond * w.flopsPerSample) / 1e9;
}
