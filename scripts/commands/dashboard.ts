/**
 * `deltaflow dashboard RUN [RUN…]`: replay finished runs in the dashboard, overlaid for comparison —
 * the scalars of every run on the same charts, each run's layer distributions side by side. Reads
 * each run folder's stats.jsonl (`train --dashboard`), or its metrics.csv (scalars only). Serves
 * until Ctrl-C; binds 127.0.0.1 unless `--host` (which needs `--token`).
 */
import { Command } from 'commander';
import { addServeOptions, checkServeFlags, type ServeFlags } from '../dashboard/dashboardOptions.js';
import { replayRun } from '../dashboard/replayRun.js';
import { startDashboardServer } from '../dashboard/server.js';

async function runDashboard(dirs: string[], options: ServeFlags): Promise<void> {
  checkServeFlags(options);
  const stores = await Promise.all(dirs.map(replayRun));
  const server = await startDashboardServer({ host: options.host, port: options.port, token: options.token ?? null, stores }).catch((e: unknown) => {
    if (e instanceof Error && 'code' in e && e.code === 'EADDRINUSE') throw new Error(`port ${options.port} is in use; pass --port N (0 picks a free one)`);
    throw e;
  });
  process.stdout.write(`dashboard: ${server.url} (replaying ${dirs.length} run${dirs.length === 1 ? '' : 's'}: ${dirs.join(', ')}; Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export function dashboardCommand(): Command {
  const command = new Command('dashboard')
    .description('replay finished runs in the dashboard (their run folders), overlaid for comparison')
    .argument('<run...>', 'run folders written by deltaflow train (with --dashboard for the layer distributions)');
  return addServeOptions(command, 'the dashboard').action(runDashboard);
}
