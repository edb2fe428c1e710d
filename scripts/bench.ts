/**
 * `npm run bench` — deltaflow's performance against its peers, measured in one run on this machine.
 *
 *   node dist/scripts/bench.js [--json] [--smoke] [--only w1,w2,csv,mem] [--passes N] [--no-peers] …
 *   node dist/scripts/bench.js --big-csv 256M,1G [--sink]   (streaming-memory run, bench/bigCsvDriver.ts)
 *
 * Sections (flags in bench/options.ts):
 *   w1, w2  training throughput of W1 (MLP 784-128-64-10) and W2 (LeNet-5), batch 64, SGD lr 0.05,
 *           softmax CE, data in memory: deltaflow in this process against TF.js cpu/wasm, ConvNetJS
 *           and PyTorch 1/2 threads in child processes, passes alternating back to back with the
 *           machine-speed probe around each group (bench/training.ts)
 *   csv     ingest of a generated MNIST-like CSV: deltaflow's fromCsv vs csv-parse (bench/csvIngest.ts)
 *   mem     peak RSS and heap of this process, and bytes a steady-state training step allocates
 *   serve   `deltaflow serve --learn` under autocannon load while it learns: predictions/s and latency
 *           percentiles of two MLPs (bench/serve.ts)
 *   dashboard  training throughput with the live dashboard open against without (bench/dashboard.ts)
 *   e2e     end to end from one CSV: `deltaflow train` (with and without its parser thread) against
 *           PyTorch + pandas, and deltaflow in memory with the same settings (bench/endToEnd.ts)
 *   job     the default job's training time, `npm run train` (bench/defaultJob.ts)
 *   workers 1 against 2 workers in memory over models and batch sizes, beside the default
 *           `deltaflow train --workers` chooses (bench/workersGrid.ts)
 *   scaleout  (only with --only) `train --redis --procs 2` against `train --workers 2`, LeNet and the MLP
 *           at batch 64 and 256, alternated; hosts: the same across network namespaces with added
 *           delays (bench/scaleOut.ts)
 *
 * Data: the 10,000 MNIST digits of the `mnist` package, shuffled as the peers' make-data.js, pixel/255.
 * How the peers were measured before (and why the alternation and the probe): /work/shared/bench/peers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBigCsv } from './bench/bigCsvDriver.js';
import { benchDashboard, dashboardReport, type DashboardBenchResult } from './bench/dashboard.js';
import { benchDefaultJob, defaultJobReport, type DefaultJobResult } from './bench/defaultJob.js';
import { benchEndToEnd, endToEndReport, type EndToEndResult } from './bench/endToEnd.js';
import { benchWorkersGrid, workersGridReport, type GridCase } from './bench/workersGrid.js';
import { benchCsv, csvParseReader, readlineReader, writeDigitsCsv, type CsvReader, type CsvResult } from './bench/csvIngest.js';
import { loadDigits, writeBinaries, type Digits } from './bench/data.js';
import { benchBatches, benchModel, trainStep, DeltaflowRunner } from './bench/deltaflowRunner.js';
import { measureStepAllocation, processMemory, type ProcessMemory, type StepAllocation } from './bench/memory.js';
import { isHelp, readOptions, USAGE, UsageError, type BenchOptions } from './bench/options.js';
import { benchScaleOut, scaleOutReport, type ScaleOutResult } from './bench/scaleOut.js';
import { benchServe, serveReport, type ServeResult } from './bench/serve.js';
import { benchOnline, onlineReport, type OnlineBenchResult } from './bench/online.js';
import { csvReport, memoryReport, trainingReport } from './bench/report.js';
import { peerRunners, torchUnavailable } from './bench/systems.js';
import { benchWorkload, type WorkloadResult } from './bench/training.js';
import { LEARNING_RATE, type WorkloadId } from './bench/workloads.js';
import { fromCsv, initKernels } from '../src/index.js';

/** The document `--json` prints. */
export interface BenchResult {
  readonly meta: {
    readonly date: string;
    readonly node: string;
    readonly v8: string;
    readonly cpu: string;
    readonly cpus: number;
    readonly argv: readonly string[];
    readonly options: BenchOptions;
    readonly torch: string;
    /** Whether deltaflow's WASM SIMD kernels are on (initKernels resolved true). */
    readonly wasmKernels: boolean;
  };
  readonly training: WorkloadResult[];
  csv?: CsvResult;
  serve?: ServeResult;
  online?: OnlineBenchResult;
  dashboard?: DashboardBenchResult;
  endToEnd?: EndToEndResult;
  defaultJob?: DefaultJobResult;
  workersGrid?: GridCase[];
  scaleOut?: ScaleOutResult;
  steadyState: Record<string, StepAllocation>;
  memory?: ProcessMemory;
}

/** deltaflow's CSV source with one engine, rows counted into Samples (MNIST: 10 classes, pixel/255, 1×28×28). */
function deltaflowCsvReader(engine: 'fast' | 'csv-parse'): CsvReader {
  return {
    id: `deltaflow-${engine}`,
    label: `deltaflow fromCsv → Samples, engine '${engine}'`,
    read: (file) =>
      new Promise((resolve, reject) => {
        let rows = 0;
        let labelSum = 0;
        fromCsv(file, { classes: 10, scale: 1 / 255, shape: [1, 28, 28], engine }).subscribe({
          next: (sample) => {
            rows++;
            labelSum += sample.label;
          },
          error: reject,
          complete: () => resolve({ rows, labelSum }),
        });
      }),
  };
}

function csvReaders(): CsvReader[] {
  return [deltaflowCsvReader('fast'), deltaflowCsvReader('csv-parse'), csvParseReader, readlineReader];
}

async function runTraining(
  opts: BenchOptions,
  digits: Digits,
  dataDir: string,
  torchReason: string | null,
  hasWasm: boolean,
  log: (s: string) => void,
): Promise<WorkloadResult[]> {
  const out: WorkloadResult[] = [];
  for (const w of ['W1', 'W2'] as const) {
    if (!opts.sections.includes(w === 'W1' ? 'w1' : 'w2')) continue;
    const subjects = opts.workers.map((workers) => new DeltaflowRunner({ workload: w, digits, workers, hasWasm }));
    const plan = peerRunners(w, opts.peers, dataDir, torchReason);
    out.push(await benchWorkload(w, subjects, plan.runners, plan.skipped, { ...opts, log }));
  }
  return out;
}

async function runSteadyState(opts: BenchOptions, digits: Digits): Promise<Record<string, StepAllocation>> {
  const out: Record<string, StepAllocation> = {};
  for (const w of ['W1', 'W2'] as WorkloadId[]) {
    const { step, stop } = trainStep(benchModel(w), LEARNING_RATE);
    const batches = benchBatches(digits, w);
    let i = 0;
    const one = (): void => {
      step(batches[i]);
      i = (i + 1) % batches.length;
    };
    const steps = w === 'W1' ? opts.memSteps : Math.max(10, Math.round(opts.memSteps / 4));
    out[w] = await measureStepAllocation(one, Math.max(5, Math.round(steps / 4)), steps);
    stop();
  }
  return out;
}

async function main(): Promise<void> {
  if (isHelp(process.argv.slice(2))) {
    process.stdout.write(USAGE);
    return;
  }
  const opts = readOptions(process.argv.slice(2));
  const log = (line: string): void => {
    process.stderr.write(`# ${line}\n`);
  };
  if (opts.bigCsv.length > 0) {
    await runBigCsv(opts.bigCsv, opts.isSink, opts.isJson, log);
    return;
  }
  const needsTorch = opts.peers.some((p) => p.startsWith('pytorch')) && (opts.sections.includes('w1') || opts.sections.includes('w2') || opts.sections.includes('e2e'));
  const torchReason = needsTorch ? torchUnavailable() : 'not asked for';
  const hasWasm = opts.isWasm ? await initKernels() : false;
  const digits = loadDigits();
  const dir = mkdtempSync(join(tmpdir(), 'deltaflow-bench-'));
  try {
    writeBinaries(digits, dir);
    const result: BenchResult = {
      meta: {
        date: new Date().toISOString(),
        node: process.version,
        v8: process.versions.v8,
        cpu: cpus()[0]?.model ?? 'unknown',
        cpus: cpus().length,
        argv: process.argv.slice(2),
        options: opts,
        torch: torchReason ?? 'available',
        wasmKernels: hasWasm,
      },
      training: await runTraining(opts, digits, dir, torchReason, hasWasm, log),
      steadyState: {},
    };
    if (opts.sections.includes('csv')) {
      const file = join(dir, 'digits.csv');
      const { labelSum } = await writeDigitsCsv(digits, file, { rows: opts.csvRows });
      result.csv = await benchCsv(file, { rows: opts.csvRows, labelSum }, csvReaders(), opts.passes, log);
    }
    if (opts.sections.includes('e2e')) {
      const file = join(dir, 'digits-e2e.csv');
      const { bytes } = await writeDigitsCsv(digits, file, { rows: opts.e2eRows });
      const workloads = (['W1', 'W2'] as const).filter((w) => opts.sections.includes(w === 'W1' ? 'w1' : 'w2') || !(opts.sections.includes('w1') || opts.sections.includes('w2')));
      result.endToEnd = await benchEndToEnd({ file, rows: opts.e2eRows, passes: opts.passes, workers: opts.workers, workloads, torchReason, hasTorch: needsTorch && torchReason === null, digits, hasWasm, log }, bytes);
    }
    if (opts.sections.includes('job')) result.defaultJob = await benchDefaultJob(opts.passes, opts.jobEpochs, log);
    if (opts.sections.includes('workers')) result.workersGrid = await benchWorkersGrid(digits, { passes: opts.passes, passSeconds: opts.passSeconds / 2, isSmoke: opts.isSmoke, log });
    if (opts.sections.includes('serve')) result.serve = await benchServe(digits, { isSmoke: opts.isSmoke, log });
    if (opts.sections.includes('online')) result.online = await benchOnline({ passes: opts.passes, isSmoke: opts.isSmoke, log });
    if (opts.sections.includes('scaleout') || opts.sections.includes('hosts')) {
      result.scaleOut = await benchScaleOut({ isSmoke: opts.isSmoke, passes: opts.passes, isLoopback: opts.sections.includes('scaleout'), isHosts: opts.sections.includes('hosts'), log });
    }
    if (opts.sections.includes('mem')) result.steadyState = await runSteadyState(opts, digits);
    if (opts.sections.includes('dashboard')) result.dashboard = await benchDashboard({ passes: opts.passes, log });
    result.memory = processMemory();

    if (opts.isJson) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const parts = [
      `## deltaflow bench — ${result.meta.date}, Node ${result.meta.node}, ${result.meta.cpus} × ${result.meta.cpu}; ` +
        `deltaflow WASM kernels: ${hasWasm ? 'on' : 'off'}; PyTorch: ${result.meta.torch}`,
      ...result.training.map(trainingReport),
      ...(result.csv ? [csvReport(result.csv)] : []),
      ...(result.serve ? [serveReport(result.serve)] : []),
      ...(result.online ? [onlineReport(result.online)] : []),
      ...(result.dashboard ? [dashboardReport(result.dashboard)] : []),
      ...(result.endToEnd ? [endToEndReport(result.endToEnd)] : []),
      ...(result.defaultJob ? [defaultJobReport(result.defaultJob)] : []),
      ...(result.workersGrid ? [workersGridReport(result.workersGrid)] : []),
      ...(result.scaleOut ? [scaleOutReport(result.scaleOut)] : []),
      memoryReport(result.memory, result.steadyState),
    ];
    process.stdout.write(`${parts.join('\n\n')}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof UsageError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = e instanceof UsageError ? 2 : 1;
});
