/**
 * Real Redis servers for the tests: `startRedis()` starts a Debian `redis-server` on a free loopback
 * port with its data in a fresh temporary folder, `startRedisCluster(3)` starts three cluster-enabled
 * servers and joins them with `redis-cli --cluster create` (three masters, no replicas).
 *
 * Every server is stopped by its PID (never by name): `stop()` sends SIGTERM and waits for the exit,
 * `kill()` sends SIGKILL (a crash: no final AOF rewrite, no goodbye), `restart()` starts it again on the
 * same port with the same data folder (with `appendonly: true`, what was written comes back). Servers
 * still running when the test process exits are SIGKILLed by a process 'exit' hook, so a failing test
 * leaves nothing behind. Tests that kill or restart Redis start their own instance; the rest use the
 * shared server of the global setup (test/setup/redis.ts, `DELTAFLOW_TEST_REDIS_URL`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisOptions {
  /** Turn on the append-only file (`--appendonly yes --appendfsync always`), so a restart keeps the data. */
  readonly appendonly?: boolean;
  /** Port to listen on (default: a free one). */
  readonly port?: number;
  /** Data folder (default: a fresh temporary folder, removed by `stop()`). */
  readonly dir?: string;
  /** Start with `--cluster-enabled yes` (used by startRedisCluster). */
  readonly cluster?: boolean;
}

export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** PID of the running server (changes on restart). */
  readonly pid: number;
  /** SIGTERM, wait for the exit, remove the data folder (unless `dir` was given). */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit; the data folder stays, for `restart()`. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and data folder (after kill, or stops it first). */
  restart(): Promise<void>;
}

const live = new Map<number, ChildProcess>();
process.on('exit', () => {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends one inline command on a fresh socket and returns the first reply line ('' on a failure). */
export function rawCommand(port: number, command: string, timeoutMs = 1000, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let text = '';
    const done = (reply: string): void => {
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(timeoutMs, () => done(''));
    socket.once('error', () => done(''));
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (d) => {
      text += d.toString('utf8');
      // A bulk reply ($len) ends after its payload; a status, error or integer reply after one line.
      const m = /^\$(\d+)\r\n/.exec(text);
      if (m !== null) {
        if (text.length >= m[0].length + Number(m[1]) + 2) done(text.slice(m[0].length, m[0].length + Number(m[1])));
      } else if (text.includes('\r\n')) done(text.slice(0, text.indexOf('\r\n')));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Whether `redis-server` can be run here. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Starts a real redis-server on loopback; resolves once it answers PING with PONG. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const isOwnDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'deltaflow-redis-'));
  let port = options.port ?? (await freePort());
  let child: ChildProcess | null = null;

  const launch = async (): Promise<void> => {
    const args = [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--save', '',
      '--logfile', join(dir, 'redis.log'), '--protected-mode', 'yes',
      '--appendonly', options.appendonly === true ? 'yes' : 'no',
    ];
    if (options.appendonly === true) args.push('--appendfsync', 'always');
    if (options.cluster === true) {
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '3000');
    }
    const c = spawn('redis-server', args, { stdio: 'ignore' });
    const pid = c.pid;
    if (pid === undefined) throw new Error('redis-server could not be started (is it installed? apt-get install -y redis-server)');
    live.set(pid, c);
    c.once('exit', () => live.delete(pid));
    child = c;
    for (let i = 0; i < 200; i++) {
      if (c.exitCode !== null || c.signalCode !== null) break;
      if ((await rawCommand(port, 'PING', 200)) === '+PONG') return;
      await sleep(25);
    }
    let log = '';
    try {
      log = readFileSync(join(dir, 'redis.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
    } catch {
      // no log yet
    }
    c.kill('SIGKILL');
    await waitExit(c);
    throw new Error(`redis-server on port ${port} did not start: ${log}`);
  };

  // A free port can be taken between freePort() and the server's bind: try another one then.
  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (e) {
      if (options.port !== undefined || attempt >= 3) throw e;
      port = await freePort();
    }
  }

  const current = (): ChildProcess => {
    if (child === null) throw new Error('redis-server is not running');
    return child;
  };
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (c === null || c.exitCode !== null || c.signalCode !== null) return;
    if (c.pid !== undefined) process.kill(c.pid, sig);
    await waitExit(c);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return current().pid ?? -1;
    },
    async stop() {
      await signal('SIGTERM');
      if (isOwnDir) rmSync(dir, { recursive: true, force: true });
    },
    kill: () => signal('SIGKILL'),
    async restart() {
      await signal('SIGTERM');
      await launch();
    },
  };
}

export interface RedisCluster {
  /** The URL of the first master; a client follows the cluster from there. */
  readonly url: string;
  readonly nodes: readonly RedisServer[];
  stop(): Promise<void>;
}

/** Starts `n` cluster-enabled servers and creates a cluster of n masters (slots split evenly). */
export async function startRedisCluster(n = 3, options: { appendonly?: boolean } = {}): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  try {
    for (let i = 0; i < n; i++) nodes.push(await startRedis({ cluster: true, appendonly: options.appendonly }));
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${(create.stdout + create.stderr).trim().split('\n').slice(-3).join(' | ')}`);
    for (let i = 0; ; i++) {
      const states = await Promise.all(nodes.map((s) => rawCommand(s.port, 'CLUSTER INFO')));
      if (states.every((s) => s.includes('cluster_state:ok'))) break;
      if (i > 200) throw new Error(`the cluster did not reach cluster_state:ok: ${states.join(' | ')}`);
      await sleep(50);
    }
  } catch (e) {
    await Promise.all(nodes.map((s) => s.stop()));
    throw e;
  }
  return {
    url: nodes[0].url,
    nodes,
    async stop() {
      await Promise.all(nodes.map((s) => s.stop()));
    },
  };
}
