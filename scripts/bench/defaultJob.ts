/**
 * The default job's time: `npm run train` — `deltaflow train` with no options: LeNet-5 on the 8,000
 * MNIST training digits, 10 epochs, batch 32, Adam, the 2,000 test digits evaluated after every epoch,
 * `--workers` and `--csv-thread` at their defaults — in a fresh process per pass, in a scratch folder
 * holding the default data (`deltaflow prepare-data`). Passes alternate with the same job with
 * `--csv-thread off`, so the parser thread's share shows in one run.
 *
 * The figure is the training time the CLI reports (its `--json` done line: from the start of the
 * first epoch to the end of the last, evaluation included, set-up excluded); the process wall time
 * is kept too.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonLineTotals } from './endToEnd.js';
import { table } from './report.js';
import { fmt, fmtSpread, spread, type Spread } from './stats.js';

export interface DefaultJobVariant {
  readonly id: string;
  readonly label: string;
  readonly args: readonly string[];
  /** Per pass: training seconds (the CLI's), process wall seconds. */
  readonly passes: { readonly seconds: number; readonly wallSeconds: number; readonly samples: number; readonly testAccuracy: number | null; readonly loadAverage: number }[];
  seconds?: Spread;
  wallSeconds?: Spread;
  status: 'ok' | 'failed';
  reason?: string;
}

export interface DefaultJobResult {
  readonly epochs: number;
  readonly variants: DefaultJobVariant[];
  /** Same-pass ratio of training seconds: default ÷ --csv-thread off. */
  readonly threadRatio?: Spread;
}

function node(args: readonly string[], cwd: string): Promise<{ stdout: string; wallSeconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [fileURLToPath(new URL('../cli.js', import.meta.url)), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ stdout, wallSeconds: (performance.now() - t0) / 1000 }) : reject(new Error(`deltaflow ${args[0]} exited with ${code}: ${stderr.trim().split('\n').slice(-2).join(' / ')}`))));
  });
}

function testAccuracyOf(stdout: string): number | null {
  const line = stdout.split('\n').reverse().find((l) => l.includes('"type":"done"'));
  const v: unknown = line === undefined ? null : (JSON.parse(line) as { testAccuracy?: unknown }).testAccuracy;
  return typeof v === 'number' ? v : null;
}

/** `passes` alternating pairs of the default job and its `--csv-thread off` twin (`epochs` < 10 for the smoke run). */
export async function benchDefaultJob(passes: number, epochs: number, log: (line: string) => void): Promise<DefaultJobResult> {
  const cwd = mkdtempSync(join(tmpdir(), 'deltaflow-default-job-'));
  const epochArgs = epochs === 10 ? [] : ['--epochs', String(epochs)];
  const variants: DefaultJobVariant[] = [
    { id: 'default', label: 'deltaflow train (defaults)', args: epochArgs, passes: [], status: 'ok' },
    { id: 'inline', label: 'deltaflow train --csv-thread off', args: [...epochArgs, '--csv-thread', 'off'], passes: [], status: 'ok' },
  ];
  try {
    await node(['prepare-data'], cwd);
    for (let p = 0; p < passes; p++) {
      const order = p % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) {
        if (v.status !== 'ok') continue;
        try {
          const out = join(cwd, `run-${v.id}-${p}`);
          const r = await node(['train', ...v.args, '--json', '--out', out], cwd);
          rmSync(out, { recursive: true, force: true });
          const done = jsonLineTotals(r.stdout, 'done');
          v.passes.push({ seconds: done.seconds, wallSeconds: r.wallSeconds, samples: done.samples, testAccuracy: testAccuracyOf(r.stdout), loadAverage: loadavg()[0] });
          log(`default job ${v.id} pass ${p}: ${done.seconds.toFixed(2)} s training, ${r.wallSeconds.toFixed(2)} s process`);
        } catch (e) {
          v.status = 'failed';
          v.reason = e instanceof Error ? e.message : String(e);
          log(`default job ${v.id}: failed: ${v.reason}`);
        }
      }
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
  for (const v of variants) {
    if (v.passes.length === 0) continue;
    v.seconds = spread(v.passes.map((x) => x.seconds));
    v.wallSeconds = spread(v.passes.map((x) => x.wallSeconds));
  }
  const [a, b] = variants;
  const n = Math.min(a.passes.length, b.passes.length);
  const pairs = Array.from({ length: n }, (_, i) => a.passes[i].seconds / b.passes[i].seconds);
  return { epochs, variants, ...(pairs.length > 0 ? { threadRatio: spread(pairs) } : {}) };
}

export function defaultJobReport(r: DefaultJobResult): string {
  const rows = r.variants.map((v) => {
    if (v.seconds === undefined || v.wallSeconds === undefined) return [v.label, `**${v.status}**: ${v.reason ?? ''}`, '', '', '', ''];
    const acc = spread(v.passes.flatMap((p) => (p.testAccuracy === null ? [] : [100 * p.testAccuracy])));
    const load = spread(v.passes.map((p) => p.loadAverage));
    const rate = spread(v.passes.map((p) => p.samples / p.seconds));
    return [v.label, fmtSpread(v.seconds), fmtSpread(v.wallSeconds), fmt(rate.median), acc.n > 0 ? `${fmt(acc.median)} %` : '', fmt(load.median)];
  });
  return [
    `### The default job: \`npm run train\` (LeNet-5, 8,000 digits × ${r.epochs} epoch${r.epochs === 1 ? '' : 's'}, batch 32, Adam, test after each epoch)`,
    '',
    table(['run', 'training s, median (min – max)', 'process wall s', 'samples/s', 'test accuracy', 'load average'], rows),
    ...(r.threadRatio === undefined ? [] : ['', `Training time with the parser thread ÷ without, same pass: ${fmtSpread(r.threadRatio)}`]),
  ].join('\n');
}
