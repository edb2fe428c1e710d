import { parseArgs } from 'node:util';
import { PEER_IDS, type PeerId } from './systems.js';

/** Command-line flags of `npm run bench` (node dist/scripts/bench.js), as `--help` prints them. */
export const USAGE = `usage: npm run bench -- [flags]   (node dist/scripts/bench.js [flags])

  --json               print one JSON document (every pass and probe) instead of tables
  --smoke              seconds-long run: tiny passes, no PyTorch (used by the test)
  --only LIST          sections among w1,w2,csv,mem,serve,online,dashboard,e2e,job,workers,scaleout,hosts
                       (default: all but dashboard, scaleout and hosts, which start a browser, worker
                       processes, a redis-server and, for hosts, network namespaces)
  --passes N           timed passes per system (default 5; smoke 3)
  --no-peers           deltaflow only
  --peers LIST         among tfjs-cpu,tfjs-wasm,convnetjs,pytorch-1t,pytorch-2t (default: all)
  --workers LIST       deltaflow worker counts to run (train's \`workers\` option; default 1,2, smoke 1)
  --no-wasm            do not call initKernels() (deltaflow's plain TypeScript kernels only)
  --pass-seconds S     target duration of one timed pass (default 2)
  --warmup-seconds S   warm-up per system (default 2)
  --probe-ms MS        duration of each machine-speed probe (default 1000)
  --csv-rows N         rows of the generated CSV (default 20000)
  --e2e-rows N         rows of the end-to-end section's CSV (default 40000; smoke 640)
  --big-csv SIZES      instead of the rest: the streaming-memory run at these sizes, e.g. 256M,1G
  --sink               with --big-csv: stream to a counting sink instead of training
  -h, --help           print this and exit
`;

export const SECTIONS = ['w1', 'w2', 'csv', 'mem', 'serve', 'online', 'dashboard', 'e2e', 'job', 'workers', 'scaleout', 'hosts'] as const;
export type Section = (typeof SECTIONS)[number];
/** Sections run only when asked for with --only. */
const OPT_IN: readonly Section[] = ['dashboard', 'scaleout', 'hosts'];

export interface BenchOptions {
  readonly isJson: boolean;
  readonly isSmoke: boolean;
  readonly sections: readonly Section[];
  readonly passes: number;
  readonly peers: readonly PeerId[];
  readonly workers: readonly number[];
  readonly isWasm: boolean;
  readonly passSeconds: number;
  readonly warmupSeconds: number;
  readonly probeMs: number;
  readonly csvRows: number;
  /** Rows of the end-to-end CSV (bench/endToEnd.ts). */
  readonly e2eRows: number;
  /** Epochs of the default job (bench/defaultJob.ts): 10, as `npm run train`; 1 in the smoke run. */
  readonly jobEpochs: number;
  readonly memSteps: number;
  /** File sizes in bytes for the big-CSV mode; empty otherwise. */
  readonly bigCsv: readonly number[];
  /** Big-CSV mode without the training step. */
  readonly isSink: boolean;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

function list<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.length > 0);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new UsageError(`--${flag}: unknown "${item}" (expected some of ${allowed.join(',')})`);
  }
  return allowed.filter((a) => items.includes(a));
}

function positive(flag: string, value: string | undefined, fallback: number, isInteger: boolean): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (!(x > 0) || !Number.isFinite(x) || (isInteger && !Number.isInteger(x))) {
    throw new UsageError(`--${flag} must be a positive ${isInteger ? 'integer' : 'number'}, got "${value}"`);
  }
  return x;
}

/** "256M", "1G", "1.5GB", "1000000" → bytes (binary units: M = 2^20, G = 2^30). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(text.trim());
  if (m === null) throw new UsageError(`--big-csv: size "${text}" is not like 256M or 1G`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/** Whether the flags ask for the usage text. */
export const isHelp = (argv: readonly string[]): boolean => argv.includes('--help') || argv.includes('-h');

export function readOptions(argv: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseFlags(argv);
  } catch (e) {
    // parseArgs names the flag ("Unknown option '--x'…"); one line, and where the list is.
    throw new UsageError(`${e instanceof Error ? e.message.split('. ')[0] : String(e)} (the flags: --help)`);
  }
  return optionsOf(parsed.values);
}

function parseFlags(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      json: { type: 'boolean' },
      smoke: { type: 'boolean' },
      only: { type: 'string' },
      passes: { type: 'string' },
      'no-peers': { type: 'boolean' },
      peers: { type: 'string' },
      workers: { type: 'string' },
      'no-wasm': { type: 'boolean' },
      'pass-seconds': { type: 'string' },
      'warmup-seconds': { type: 'string' },
      'probe-ms': { type: 'string' },
      'csv-rows': { type: 'string' },
      'e2e-rows': { type: 'string' },
      'mem-steps': { type: 'string' },
      'big-csv': { type: 'string' },
      sink: { type: 'boolean' },
    },
  });
}

function optionsOf(values: ReturnType<typeof parseFlags>['values']): BenchOptions {
  const isSmoke = values.smoke === true;
  const defaultPeers = isSmoke ? PEER_IDS.filter((p) => !p.startsWith('pytorch')) : [...PEER_IDS];
  const peers = values['no-peers'] === true ? [] : values.peers !== undefined ? list('peers', values.peers, PEER_IDS) : defaultPeers;
  const workers = (values.workers ?? (isSmoke ? '1' : '1,2')).split(',').map((w) => positive('workers', w, 1, true));
  return {
    isJson: values.json === true,
    isSmoke,
    // The dashboard (a browser and 2 × passes epochs) and the scale-out sections run only when asked for.
    sections: values.only !== undefined ? list('only', values.only, SECTIONS) : SECTIONS.filter((x) => !OPT_IN.includes(x)),
    passes: positive('passes', values.passes, isSmoke ? 3 : 5, true),
    peers,
    workers: [...new Set(workers)].sort((a, b) => a - b),
    isWasm: values['no-wasm'] !== true,
    passSeconds: positive('pass-seconds', values['pass-seconds'], isSmoke ? 0.05 : 2, false),
    warmupSeconds: positive('warmup-seconds', values['warmup-seconds'], isSmoke ? 0.05 : 2, false),
    probeMs: positive('probe-ms', values['probe-ms'], isSmoke ? 20 : 1000, false),
    csvRows: positive('csv-rows', values['csv-rows'], isSmoke ? 300 : 20_000, true),
    e2eRows: positive('e2e-rows', values['e2e-rows'], isSmoke ? 640 : 40_000, true),
    jobEpochs: isSmoke ? 1 : 10,
    memSteps: positive('mem-steps', values['mem-steps'], isSmoke ? 20 : 200, true),
    bigCsv: values['big-csv'] !== undefined ? values['big-csv'].split(',').map(parseSize) : [],
    isSink: values.sink === true,
  };
}
