/**
 * Vitest global setup: one shared Redis for every test that needs one, as `DELTAFLOW_TEST_REDIS_URL`.
 *
 * - If `DELTAFLOW_TEST_REDIS_URL` is already set (`.ci/run` starts a server and sets it), that server
 *   must answer PING, else the run stops with one line saying so.
 * - Otherwise `redis-server` is started here (test/helpers/redis.ts) on a free loopback port and stopped
 *   by its PID at teardown. A missing `redis-server` is installed with `apt-get install -y` when the
 *   run is root; when it cannot be, the run stops with ONE line saying how to install it.
 *
 * Nothing is skipped and nothing is mocked: a test that needs Redis gets a real one or the run fails.
 */
import { spawnSync } from 'node:child_process';
import { hasRedisServer, rawCommand, startRedis, type RedisServer } from '../helpers/redis.js';

const ENV = 'DELTAFLOW_TEST_REDIS_URL';
const INSTALL_HINT = 'redis-server is needed by the tests: install it with `sudo apt-get install -y redis-server redis-tools` (Debian/Ubuntu), or set DELTAFLOW_TEST_REDIS_URL=redis://HOST:PORT to a running server';

function fail(message: string): never {
  // One line, without the stack vitest would print for an Error thrown here.
  process.stderr.write(`\ndeltaflow tests: ${message}\n\n`);
  throw new Error(message);
}

function install(): void {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) fail(INSTALL_HINT);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]): boolean => spawnSync('apt-get', args, { stdio: 'ignore', env, timeout: 300_000 }).status === 0;
  if (!apt(['install', '-y', 'redis-server', 'redis-tools'])) {
    // The package lists may be missing on a fresh machine.
    if (!apt(['update']) || !apt(['install', '-y', 'redis-server', 'redis-tools'])) fail(`apt-get install -y redis-server failed; ${INSTALL_HINT}`);
  }
  if (!hasRedisServer()) fail(INSTALL_HINT);
}

export default async function setup(): Promise<() => Promise<void>> {
  const given = process.env[ENV];
  if (given !== undefined && given !== '') {
    const m = /^redis:\/\/([^:/]+):(\d+)\/?$/.exec(given);
    if (m === null) fail(`${ENV}=${given} is not of the form redis://HOST:PORT`);
    const reply = await rawCommand(Number(m[2]), 'PING', 2000, m[1]);
    if (reply !== '+PONG') fail(`${ENV}=${given} does not answer PING (is redis-server running there?)`);
    return async () => {};
  }
  if (!hasRedisServer()) install();
  const server: RedisServer = await startRedis();
  process.env[ENV] = server.url;
  return async () => {
    await server.stop();
  };
}
