/**
 * The command-line options of the dashboard, shared by `train --dashboard`, `online --dashboard`
 * and the replay (`deltaflow dashboard RUN…`), and their checks: a non-loopback `--host` needs a
 * `--token`, and the serving options need `--dashboard`.
 */
import type { Command } from 'commander';
import { CliError, nonNegativeInt, positiveInt } from '../commands/args.js';
import { isLoopback } from './requestGuard.js';

export const DEFAULT_PORT = 6006;
export const DEFAULT_STATS_EVERY = 20;
const MIN_TOKEN_LENGTH = 12;

export interface ServeFlags {
  readonly port: number;
  readonly host: string;
  readonly token?: string;
}

export interface DashboardFlags extends ServeFlags {
  readonly dashboard: boolean;
  readonly statsEvery: number;
}

/** --port, --host, --token. */
export function addServeOptions(command: Command, what: string): Command {
  return command
    .option('--port <n>', `port of ${what} (0 picks a free one)`, nonNegativeInt, DEFAULT_PORT)
    .option('--host <address>', `address ${what} binds (default 127.0.0.1, this machine only; any other needs --token)`, '127.0.0.1')
    .option('--token <secret>', `a secret every request to ${what} must carry (printed in its URL); required with a non-loopback --host`);
}

/** --dashboard, --stats-every and the serving options, checked before the command runs (checkDashboardFlags). */
export function addDashboardOptions(command: Command): Command {
  command
    .option('--dashboard', 'serve a live dashboard of the run (charts of the losses, rates and every layer\'s distributions) and print its URL', false)
    .option('--stats-every <k>', `with --dashboard: take the layer statistics every k steps (default ${DEFAULT_STATS_EVERY})`, positiveInt, DEFAULT_STATS_EVERY);
  addServeOptions(command, 'the dashboard');
  return command.hook('preAction', (cmd) => {
    const o = cmd.opts<DashboardFlags>();
    checkDashboardFlags(o, (name) => cmd.getOptionValueSource(name) === 'cli');
  });
}

/** The serving options are sound: a token when binding beyond loopback, and one long enough. */
export function checkServeFlags(flags: ServeFlags): void {
  if (!isLoopback(flags.host) && flags.token === undefined) {
    throw new CliError(`--host ${flags.host}: serving beyond this machine needs --token SECRET (anyone who reaches the port could read the run otherwise)`);
  }
  if (flags.token !== undefined && flags.token.length < MIN_TOKEN_LENGTH) throw new CliError(`--token: use at least ${MIN_TOKEN_LENGTH} characters`);
}

/** checkServeFlags, and no serving option without --dashboard. */
export function checkDashboardFlags(flags: DashboardFlags, given: (name: string) => boolean): void {
  if (!flags.dashboard) {
    for (const name of ['port', 'host', 'token', 'statsEvery']) {
      if (given(name)) throw new CliError(`--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to --dashboard`);
    }
    return;
  }
  checkServeFlags(flags);
}
