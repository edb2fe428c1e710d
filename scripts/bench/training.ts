/**
 * The training benchmark of one workload: deltaflow (the subjects: 1 worker, and 2 workers when the
 * library has them) against each peer, alternating back to back so that this VM's slow and fast
 * phases hit both sides equally.
 *
 * Schedule. Every system first warms up (doubling runs of 1, 2, 4… batches until one run lasts half
 * the warm-up time and all of them the whole of it), which also measures its speed; its pass is
 * then sized to last about `passSeconds`. Then `passes` rounds; in a round, for each peer X, one
 * *group* runs a pass of every subject and one of X (subjects first on even rounds, X first on odd
 * rounds), and the probe (probe.ts) runs before and after every group. A peer's ratio is the median
 * over its groups of (deltaflow pass samples/s) / (X pass samples/s) from the same group.
 * Without peers, a group is just the subjects.
 */
import { machineBusySeconds } from './cpuLoad.js';
import { probe } from './probe.js';
import { UnsupportedError, type PassResult, type PassRunner, type RunnerInfo } from './runner.js';
import { spread, type Spread } from './stats.js';
import { BATCH, gflops, workloads, type WorkloadId } from './workloads.js';

export type SystemStatus = 'ok' | 'unsupported' | 'failed' | 'skipped';

export interface SystemResult {
  readonly id: string;
  readonly label: string;
  readonly isSubject: boolean;
  status: SystemStatus;
  reason?: string;
  info?: RunnerInfo;
  batchesPerPass?: number;
  /** samples/s of each timed pass, in order. */
  readonly rates: number[];
  samplesPerSecond?: Spread;
  /** GFLOP/s at the median samples/s (the peers' FLOP rule). */
  gflops?: number;
  /** Per subject id: deltaflow samples/s ÷ this system's, from the same groups. */
  ratios?: Record<string, Spread>;
  /** Probe GFLOP/s before/after the groups this system ran in. */
  probe?: Spread;
  /** Per timed pass: CPU seconds of the system ÷ wall seconds (cores it kept busy). */
  readonly cpuUtil: number[];
  /** Per timed pass: cores used by other processes of the machine meanwhile (/proc/stat), when known. */
  readonly otherLoad: number[];
  lastLoss?: number;
}

/** One group: the passes that ran back to back, with the probe before and after. */
export interface GroupRecord {
  readonly round: number;
  readonly peer: string | null;
  readonly rates: Record<string, number>;
  readonly probeBefore: number;
  readonly probeAfter: number;
}

export interface WorkloadResult {
  readonly workload: WorkloadId;
  readonly title: string;
  readonly flopsPerSample: number;
  readonly systems: SystemResult[];
  readonly groups: GroupRecord[];
}

export interface TrainingBenchOptions {
  readonly passes: number;
  readonly passSeconds: number;
  readonly warmupSeconds: number;
  readonly probeMs: number;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

/** A system that is listed but not run (e.g. PyTorch missing), with the reason shown in the table. */
export interface SkippedSystem {
  readonly id: string;
  readonly label: string;
  readonly reason: string;
}

interface Live {
  readonly runner: PassRunner;
  readonly result: SystemResult;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function warmUp(live: Live, opts: TrainingBenchOptions): Promise<void> {
  let k = 1;
  let total = 0;
  let last: PassResult;
  for (;;) {
    last = await live.runner.run(k);
    total += last.seconds;
    if (last.seconds >= opts.warmupSeconds / 2 && total >= opts.warmupSeconds) break;
    if (k >= 1 << 16) break;
    k *= 2;
  }
  const rate = last.samples / last.seconds;
  live.result.batchesPerPass = Math.max(1, Math.round((opts.passSeconds * rate) / BATCH));
  live.result.lastLoss = last.loss;
}

function fail(live: Live, e: unknown): void {
  live.result.status = e instanceof UnsupportedError ? 'unsupported' : 'failed';
  live.result.reason = e instanceof UnsupportedError ? e.reason : message(e);
}

/** Run the whole schedule for one workload. `subjects` are deltaflow variants, `peers` the others. */
export async function benchWorkload(
  workload: WorkloadId,
  subjects: readonly PassRunner[],
  peers: readonly PassRunner[],
  skipped: readonly SkippedSystem[],
  opts: TrainingBenchOptions,
): Promise<WorkloadResult> {
  const w = workloads[workload];
  const lives: Live[] = [...subjects, ...peers].map((runner, i) => ({
    runner,
    result: { id: runner.id, label: runner.label, isSubject: i < subjects.length, status: 'ok', rates: [], cpuUtil: [], otherLoad: [] },
  }));
  const groups: GroupRecord[] = [];

  for (const live of lives) {
    try {
      opts.log(`${workload} ${live.runner.id}: starting`);
      live.result.info = await live.runner.start();
      await warmUp(live, opts);
      opts.log(`${workload} ${live.runner.id}: ${live.result.batchesPerPass} batches per pass`);
    } catch (e) {
      fail(live, e);
      opts.log(`${workload} ${live.runner.id}: ${live.result.status}: ${live.result.reason}`);
      await live.runner.close().catch(() => undefined);
    }
  }
  const subjectLives = lives.filter((l) => l.result.isSubject && l.result.status === 'ok');
  const peerLives = lives.filter((l) => !l.result.isSubject && l.result.status === 'ok');

  let probeBefore = probe(opts.probeMs);
  for (let round = 0; round < opts.passes; round++) {
    const partners: (Live | null)[] = peerLives.length > 0 ? peerLives : [null];
    for (const peer of partners) {
      if (peer !== null && peer.result.status !== 'ok') continue;
      const members = peer === null ? subjectLives : round % 2 === 0 ? [...subjectLives, peer] : [peer, ...subjectLives];
      const rates: Record<string, number> = {};
      for (const live of members) {
        if (live.result.status !== 'ok') continue;
        try {
          const busy0 = machineBusySeconds();
          const wall0 = performance.now();
          const r = await live.runner.run(live.result.batchesPerPass ?? 1);
          const wall = (performance.now() - wall0) / 1000;
          const busy1 = machineBusySeconds();
          const rate = r.samples / r.seconds;
          rates[live.runner.id] = rate;
          live.result.rates.push(rate);
          if (r.cpuSeconds !== undefined) {
            live.result.cpuUtil.push(r.cpuSeconds / r.seconds);
            if (busy0 !== null && busy1 !== null) live.result.otherLoad.push(Math.max(0, (busy1 - busy0 - r.cpuSeconds) / wall));
          }
          live.result.lastLoss = r.loss;
        } catch (e) {
          fail(live, e);
          opts.log(`${workload} ${live.runner.id}: ${live.result.status}: ${live.result.reason}`);
        }
      }
      const probeAfter = probe(opts.probeMs);
      groups.push({ round, peer: peer?.runner.id ?? null, rates, probeBefore, probeAfter });
      const shown = Object.entries(rates).map(([id, r]) => `${id} ${r.toFixed(0)}`).join(', ');
      opts.log(`${workload} round ${round}: ${shown} samples/s; probe ${probeBefore.toFixed(2)}/${probeAfter.toFixed(2)}`);
      probeBefore = probeAfter;
    }
  }
  for (const live of lives) await live.runner.close().catch(() => undefined);

  for (const live of lives) {
    const r = live.result;
    if (r.rates.length === 0) continue;
    r.samplesPerSecond = spread(r.rates);
    r.gflops = gflops(w, r.samplesPerSecond.median);
    const mine = groups.filter((g) => g.rates[r.id] !== undefined);
    r.probe = spread(mine.flatMap((g) => [g.probeBefore, g.probeAfter]));
    if (!r.isSubject) {
      r.ratios = {};
      for (const s of subjectLives) {
        const pairs = mine.filter((g) => g.rates[s.runner.id] !== undefined).map((g) => g.rates[s.runner.id] / g.rates[r.id]);
        if (pairs.length > 0) r.ratios[s.runner.id] = spread(pairs);
      }
    }
  }
  const systems = [
    ...lives.map((l) => l.result),
    ...skipped.map((s): SystemResult => ({ id: s.id, label: s.label, isSubject: false, status: 'skipped', reason: s.reason, rates: [], cpuUtil: [], otherLoad: [] })),
  ];
  return { workload, title: w.title, flopsPerSample: w.flopsPerSample, systems, groups };
}
