/**
 * `deltaflow serve --model FILE [--learn] [--port 8080] [--host H --token T] …`: an HTTP server that
 * answers predictions and, with `--learn`, keeps learning from labelled rows and late labels posted to
 * it — test then train, exactly as `deltaflow online` learns the same rows in the same order (batch 1,
 * the same optimizer defaults). The endpoints are in scripts/serve/routes.ts, the API in docs/serve.md.
 *
 * Start-up checks: the model file must carry its data description (a model written by train or
 * online --save); an address other than the loopback needs `--token`; the limits must be sane. Then
 * one line on stdout says where it listens. SIGHUP re-reads `--model` and swaps it in (a bad file
 * leaves the served model, with a line on stderr); SIGINT or SIGTERM stop accepting, finish the
 * requests in flight and the learning queue, publish what was learned (and snapshot it), print a
 * summary, and exit 0.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { Command, Option } from 'commander';
import { loadModel } from '../../src/layers/modelFile.js';
import { initKernels } from '../../src/ops/kernels.js';
import { LOOPBACK_HOSTS, MIN_TOKEN_LENGTH } from '../serve/auth.js';
import { LiveModel, type ServedVersion } from '../serve/liveModel.js';
import { serverMetrics } from '../serve/metrics.js';
import { servableModel, type ServableModel } from '../serve/modelCheck.js';
import { versionFacts, type AppContext } from '../serve/routes.js';
import { rowSchema } from '../serve/rows.js';
import { createServeServer } from '../serve/server.js';
import { SnapshotWriter } from '../serve/snapshots.js';
import { EventHub } from '../serve/sse.js';
import * as parse from './args.js';
import { CliError } from './args.js';
import { byteSize } from './badRows.js';
import { losses } from './meta.js';
import { onlineOptimizer, type OnlineOptimizerName } from './onlineOptimizer.js';
import { targetUnitsMse } from './targets.js';

interface ServeCliOptions {
  readonly model: string;
  readonly learn: boolean;
  readonly port: number;
  readonly host: string;
  readonly token?: string;
  readonly publishEvery: number;
  readonly snapshotEvery?: number;
  readonly snapshots?: string;
  readonly optimizer: OnlineOptimizerName;
  readonly lr?: number;
  readonly momentum?: number;
  readonly window: number;
  readonly maxLabelWait: number;
  readonly id: string;
  readonly maxBody: number;
  readonly maxModelBytes: number;
  readonly maxRows: number;
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  readonly maxConnections: number;
  readonly maxEventClients: number;
}

function checkOptions(options: ServeCliOptions): string | null {
  const fromEnv = process.env.DELTAFLOW_TOKEN;
  const token = options.token ?? (fromEnv === undefined || fromEnv === '' ? null : fromEnv);
  if (token !== null) {
    if (token.length < MIN_TOKEN_LENGTH) throw new CliError(`--token: at least ${MIN_TOKEN_LENGTH} characters, got ${token.length}`);
    if (!/^[\x21-\x7e]+$/.test(token)) throw new CliError('--token: printable ASCII without spaces (it travels in an Authorization header)');
  }
  if (!LOOPBACK_HOSTS.includes(options.host) && token === null) {
    throw new CliError(`--host ${options.host}: serving on an address other than the loopback (${LOOPBACK_HOSTS.join(', ')}) needs --token (or DELTAFLOW_TOKEN), so that requests must carry it`);
  }
  if (options.port > 65535) throw new CliError(`--port ${options.port}: a port is at most 65535`);
  if (options.headersTimeout > options.requestTimeout) throw new CliError(`--headers-timeout ${options.headersTimeout} is longer than --request-timeout ${options.requestTimeout}; the headers are part of the request`);
  if (options.snapshotEvery !== undefined && options.snapshots === undefined) throw new CliError('--snapshot-every needs --snapshots DIR (where the versioned model files go)');
  if (options.snapshots !== undefined && !options.learn) throw new CliError('--snapshots applies to --learn (a server that does not learn has one version)');
  return token;
}

async function listen(server: ReturnType<typeof createServeServer>, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      reject(new CliError(`cannot listen on ${host}:${port}: ${e.code === 'EADDRINUSE' ? 'the address is in use' : e.code === 'EADDRNOTAVAIL' ? 'no such address on this machine' : e.message}`));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new CliError(`cannot listen on ${host}:${port}`));
      else resolve(address);
    });
  });
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

async function runServe(options: ServeCliOptions): Promise<void> {
  const token = checkOptions(options);
  // A served model continues from its file: learning starts at the careful rate online uses for one.
  const optimizer = onlineOptimizer(options, { isContinuing: true });
  if (!existsSync(options.model)) throw new CliError(`--model ${options.model}: no such file (serve takes a model file written by deltaflow train or online --save)`);
  // The kernels before any model: its weights then live in the kernels' memory (resident), not copied in each step.
  await initKernels();
  let served: ServableModel;
  try {
    served = servableModel(await loadModel(options.model), options.model, null);
  } catch (e) {
    if (e instanceof Error && e.name === 'ModelFileError') throw e;
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  const { meta } = served;
  let schema;
  try {
    schema = rowSchema(meta, options.id, options.maxRows);
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e));
  }
  if (options.snapshots !== undefined) await mkdir(options.snapshots, { recursive: true });
  const snapshots = options.snapshots === undefined ? null : new SnapshotWriter(options.snapshots, options.snapshotEvery ?? 1);

  const hub = new EventHub({ maxClients: options.maxEventClients, heartbeatMs: 15_000, maxBuffered: 1 << 20 });
  const live = new LiveModel({
    served,
    loss: meta.targetNormalize === null ? losses[meta.loss]() : targetUnitsMse(meta.targetNormalize),
    optimizer,
    learning: options.learn ? { publishEvery: options.publishEvery, maxLabelWait: options.maxLabelWait, window: options.window } : null,
    snapshots,
    onVersion: (v: ServedVersion) => hub.send('version', versionFacts(v)),
    onScores: (scores) => hub.send('metrics', scores),
  });
  const metrics = serverMetrics(live, hub, snapshots);
  const ctx: AppContext = { live, schema, limits: { maxBody: options.maxBody, maxModelBytes: options.maxModelBytes }, hub, metrics, hasToken: token !== null };
  const server = createServeServer(ctx, {
    token,
    headersTimeoutMs: options.headersTimeout,
    requestTimeoutMs: options.requestTimeout,
    keepAliveTimeoutMs: options.keepAliveTimeout,
    maxConnections: options.maxConnections,
  });
  const address = await listen(server, options.port, options.host);

  const reload = async (): Promise<void> => {
    try {
      const next = servableModel(await loadModel(options.model), options.model, live.dataMeta);
      const v = await live.swap(next);
      process.stderr.write(`deltaflow serve: SIGHUP: ${options.model} swapped in as version ${v.version}\n`);
    } catch (e) {
      process.stderr.write(`deltaflow serve: SIGHUP: ${e instanceof Error ? e.message : String(e)}; the model served is unchanged (version ${live.current.version})\n`);
    }
  };
  const onHup = (): void => void reload();
  process.on('SIGHUP', onHup);

  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', onHup);
      hub.close();
      server.close(() => resolve());
      server.closeIdleConnections();
      // Requests still running after 5 s (a client holding a connection open) are cut.
      setTimeout(() => server.closeAllConnections(), 5000).unref();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  // NOTE: announced only once every signal has its handler: a SIGHUP sent as soon as this line is read
  // must reach reload, not the default action (which ends the process).
  const learning = options.learn ? `learning (${optimizer.kind}, lr ${optimizer.lr}, a version every ${options.publishEvery} updates)` : 'not learning';
  process.stdout.write(`deltaflow serve: listening on http://${urlHost(address.address)}:${address.port} — ${options.model}, version ${live.current.version}, ${learning}${token === null ? '' : ', token required'}\n`);
  await stopped;
  const before = live.current.version;
  const { neverLabelled } = live.close();
  const last = live.current;
  if (snapshots !== null && last.version !== before && !snapshots.wants(last.version)) snapshots.write(last.version, last.published.model, last.meta);
  await snapshots?.flush();
  const c = live.counters;
  const labels = live.join === null ? '' : `; late labels: ${live.join.counters.labelled} learned, ${live.join.counters.unknownIds} unknown ids, ${live.join.counters.duplicateLabels} duplicate labels, ${live.join.counters.expired} expired, ${neverLabelled} never labelled`;
  process.stdout.write(`deltaflow serve: stopped at version ${last.version}; ${c.rowsPredicted} rows predicted, ${c.rowsLearned} learned${labels}\n`);
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('an HTTP model server: predictions, and with --learn test-then-train learning from labelled rows and late labels, with versions, metrics and events')
    .requiredOption('--model <file>', 'a model file written by deltaflow train or online --save (it carries its data description)')
    .option('--learn', 'learn from POST /learn (labelled rows, or labels of earlier predictions by id)', false)
    .option('--port <n>', 'TCP port (0: any free port, printed at start)', parse.nonNegativeInt, 8080)
    .option('--host <address>', 'address to bind; any but 127.0.0.1, ::1 and localhost needs --token', '127.0.0.1')
    .option('--token <token>', `bearer token every request must carry (≥ ${MIN_TOKEN_LENGTH} characters; or DELTAFLOW_TOKEN); also opens POST /model`)
    .option('--publish-every <n>', 'publish a new model version every n learner updates', parse.positiveInt, 100)
    .option('--snapshot-every <n>', 'write every n-th version to --snapshots as model-v<version>.json (default 1)', parse.positiveInt)
    .option('--snapshots <dir>', 'folder of the versioned model files')
    .addOption(new Option('--optimizer <name>', 'update rule (as deltaflow online)').choices(['sgd', 'momentum', 'adam']).default('sgd'))
    .option('--lr <x>', 'learning rate (default: sgd 0.01, momentum 0.005, adam 0.001)', parse.positiveNumber)
    .option('--momentum <mu>', 'momentum coefficient of --optimizer momentum (default 0.9)', parse.unitInterval)
    .option('--window <n>', 'rows in the sliding window of the prequential scores', parse.positiveInt, 500)
    .option('--max-label-wait <rows>', 'a prediction waits for its label at most this many arriving rows, then expires (counted)', parse.nonNegativeInt, 10_000)
    .option('--id <column>', 'the column (JSON key) carrying a row\'s id, for late labels', 'id')
    .option('--max-body <bytes>', 'largest /predict or /learn body (413 beyond); e.g. 1M, 256K', byteSize, 1024 * 1024)
    .option('--max-model-bytes <bytes>', 'largest POST /model body', byteSize, 64 * 1024 * 1024)
    .option('--max-rows <n>', 'most rows in one request (413 beyond)', parse.positiveInt, 1000)
    .option('--headers-timeout <ms>', 'time a client has to send its headers (408 after)', parse.positiveInt, 10_000)
    .option('--request-timeout <ms>', 'time a client has to send its whole request (408 after)', parse.positiveInt, 30_000)
    .option('--keep-alive-timeout <ms>', 'idle time before a kept-alive connection is closed', parse.positiveInt, 5_000)
    .option('--max-connections <n>', 'open connections at most', parse.positiveInt, 256)
    .option('--max-event-clients <n>', 'open GET /events streams at most (503 beyond)', parse.positiveInt, 32)
    .action(runServe);
}
