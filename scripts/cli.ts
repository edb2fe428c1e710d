#!/usr/bin/env node
/**
 * `deltaflow`: the command-line program. Each command lives in scripts/commands/<name>.ts; this file
 * assembles them and turns every failure into ONE line on stderr and a non-zero exit code.
 *
 * Known errors (bad options, CSV errors, shape errors, model-file errors, non-finite losses, missing
 * files) print their message; anything else prints one line and a hint to set DELTAFLOW_DEBUG=1,
 * which prints the stack as well.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { kernelSetLine } from '../src/ops/kernels.js';
import { dashboardCommand } from './commands/dashboard.js';
import { evaluateCommand } from './commands/evaluate.js';
import { generateCommand } from './commands/generate.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { inspectCommand } from './commands/inspect.js';
import { onlineCommand } from './commands/online.js';
import { predictCommand } from './commands/predict.js';
import { serveCommand } from './commands/serve.js';
import { prepareDataCommand } from './commands/prepareData.js';
import { publishCommand } from './commands/publish.js';
import { trainCommand } from './commands/train.js';
import { workerCommand } from './commands/worker.js';

/** Errors whose message is written for the user: printed as they are, without a stack. */
const KNOWN_ERRORS = new Set(['CliError', 'CsvError', 'CsvParseError', 'ShapeError', 'ModelFileError', 'NonFiniteError', 'OptionError', 'CheckpointError', 'OnnxError', 'RedisStreamError', 'StatsFileError', 'KernelSetError', 'DistributedError']);

const isDebug = (): boolean => process.env.DELTAFLOW_DEBUG === '1';

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The one line a failure prints. */
function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    const path = (e as NodeJS.ErrnoException).path;
    if (KNOWN_ERRORS.has(e.name)) return oneLine(e.message);
    if (code === 'ENOENT' && path !== undefined) return `cannot open ${path}: no such file or directory`;
    if (code === 'EISDIR' && path !== undefined) return `cannot read ${path}: it is a directory`;
    if (code === 'EACCES' && path !== undefined) return `cannot open ${path}: permission denied`;
    if (code === 'ENOSPC') return `no space left on the device${path === undefined ? '' : ` (writing ${path})`}`;
    return `unexpected error: ${oneLine(e.message)} (set DELTAFLOW_DEBUG=1 to see the stack)`;
  }
  return `unexpected error: ${oneLine(String(e))} (set DELTAFLOW_DEBUG=1 to see the stack)`;
}

function version(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** `deltaflow --version`: the package version, then the kernel set this runtime runs (e.g. `kernels: wasm-simd128 + relaxed FMA`). */
function buildProgram(kernels: string): Command {
  const program = new Command('deltaflow')
    .description('Train dense and convolutional neural networks as an RxJS dataflow over streaming CSV.')
    .version(`${version()}\n${kernels}`)
    .showSuggestionAfterError(true);
  program.addCommand(trainCommand());
  program.addCommand(evaluateCommand());
  program.addCommand(predictCommand());
  program.addCommand(onlineCommand());
  program.addCommand(serveCommand());
  program.addCommand(inspectCommand());
  program.addCommand(generateCommand());
  program.addCommand(exportCommand());
  program.addCommand(importCommand());
  program.addCommand(prepareDataCommand());
  program.addCommand(publishCommand());
  program.addCommand(dashboardCommand());
  program.addCommand(workerCommand());
  // Commander's own errors (unknown option, bad value) read `deltaflow: …` like ours, on one line.
  const output = { outputError: (text: string, write: (s: string) => void) => write(text.replace(/^error: /, 'deltaflow: ').replace(/\s*\n\(Did you mean/, ' (did you mean')) };
  program.configureOutput(output);
  for (const command of program.commands) command.configureOutput(output).showSuggestionAfterError(true);
  return program;
}

async function main(): Promise<void> {
  // A closed stdout (`deltaflow predict … | head`) ends the program quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  try {
    // Probing the runtime for the kernel set costs about a millisecond and assembles nothing.
    await buildProgram(await kernelSetLine()).parseAsync(process.argv);
  } catch (e) {
    process.stderr.write(`deltaflow: ${describeError(e)}\n`);
    if (isDebug() && e instanceof Error && e.stack !== undefined) process.stderr.write(`${e.stack}\n`);
    process.exitCode = 1;
  }
}

await main();
