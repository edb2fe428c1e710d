/**
 * `deltaflow generate sea|hyperplane|rbf|agrawal|stagger --rows N [--drift-at a,b] [--width W]
 * [--concepts 1,3] [--noise p] [--seed s] [--out FILE]`: write a synthetic drift stream as CSV.
 *
 * Output: a header — the attribute names, then `label` — and one line per row: the attributes as
 * shortest round-trip decimals (read back, they are the generated doubles exactly), then the class
 * index 0..k−1. Agrawal's categorical attributes (elevel, car, zipcode) and STAGGER's (size, color,
 * shape) are written as their indices. The file is what `deltaflow train/online --data FILE
 * --classes k` reads. docs/generators.md gives every formula.
 *
 * To stdout, the text is written in chunks that wait for 'drain' (memory stays flat for any --rows;
 * a closed stdout ends the program quietly, as for predict). With --out, it goes to a temporary
 * file beside FILE, fsynced and renamed, so FILE is either absent, the old file, or complete.
 */
import { once } from 'node:events';
import { open, rename, unlink } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { OptionError } from '../../src/layers/options.js';
import type { GenerateOptions, GeneratorName } from '../../src/streams/sources/generators/generator.js';
import { describeGenerator, GENERATORS, generateRows, generatorNames, type GeneratorDescription } from '../../src/streams/sources/generators/generateRows.js';
import * as parse from './args.js';
import { CliError } from './args.js';
import { describeWriteError } from './outputDir.js';

interface GenerateCliOptions extends Omit<GenerateOptions, 'rows'> {
  readonly rows: number;
  readonly out?: string;
}

/** Bytes of CSV gathered before each write. */
const CHUNK = 1 << 16;

/** `--drift-at 1000,5000`: row indices, increasing. */
function rowIndices(text: string): number[] {
  const list = text.split(',').map((s) => {
    try {
      return parse.nonNegativeInt(s);
    } catch {
      throw new InvalidArgumentError('expected increasing row indices (integers ≥ 0), like 1000,5000.');
    }
  });
  if (list.some((p, k) => k > 0 && p <= list[k - 1])) throw new InvalidArgumentError('expected increasing row indices (integers ≥ 0), like 1000,5000.');
  return list;
}

/** `--concepts 1,3,2`: concept ids, integers ≥ 1. */
function conceptIds(text: string): number[] {
  return text.split(',').map((s) => {
    try {
      return parse.positiveInt(s);
    } catch {
      throw new InvalidArgumentError('expected concept ids (integers ≥ 1), like 1,3,2.');
    }
  });
}

/** A number ≥ 0 parser whose error says `what` is expected. */
function atLeastZero(what: string): (text: string) => number {
  return (text) => {
    try {
      return parse.nonNegativeNumber(text);
    } catch {
      throw new InvalidArgumentError(`expected ${what}.`);
    }
  };
}

/** `--noise 0.1`, `--perturb 0.05`: a number in [0, 1]. */
function unitRange(text: string): number {
  const v = atLeastZero('a number in [0, 1]')(text);
  if (v > 1) throw new InvalidArgumentError('expected a number in [0, 1].');
  return v;
}

/** The command-line flag of a library option: `driftAt` → `--drift-at`. */
const flagOf = (option: string): string => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The library's options from the command line's, refusing options of other generators and --width without --drift-at by their flags. */
function libraryOptions(name: GeneratorName, options: GenerateCliOptions): GenerateOptions {
  const { out: _out, ...rest } = options;
  for (const key of Object.keys(rest) as (keyof GenerateOptions)[]) {
    const owners = generatorNames.filter((g) => GENERATORS[g].options.includes(key));
    if (owners.length > 0 && !owners.includes(name)) throw new CliError(`${flagOf(key)} applies to ${owners.join(' and ')}, not to ${name}`);
  }
  if (rest.width !== undefined && rest.width > 0 && rest.driftAt === undefined) throw new CliError('--width needs --drift-at (the drift points it widens)');
  return rest;
}

/** The CSV text of the stream, in chunks of about CHUNK characters. */
function* csvChunks(name: GeneratorName, options: GenerateOptions): Generator<string> {
  const { features } = describeGenerator(name, options);
  let text = `${[...features, 'label'].join(',')}\n`;
  for (const row of generateRows(name, options)) {
    text += `${row.x.join(',')},${row.label}\n`;
    if (text.length >= CHUNK) {
      yield text;
      text = '';
    }
  }
  if (text.length > 0) yield text;
}

async function toStdout(chunks: Iterable<string>): Promise<void> {
  for (const chunk of chunks) if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
}

async function toFile(path: string, chunks: Iterable<string>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      for (const chunk of chunks) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    if (e instanceof OptionError) throw e;
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'its folder does not exist' : describeWriteError(e);
    throw new CliError(`--out ${path}: cannot write the file (${why})`);
  }
}

async function runGenerate(name: GeneratorName, options: GenerateCliOptions): Promise<void> {
  const lib = libraryOptions(name, options);
  const describe = (): GeneratorDescription => {
    try {
      return describeGenerator(name, lib);
    } catch (e) {
      if (e instanceof OptionError) throw new CliError(`${flagOf(e.option)}: ${e.detail}`);
      throw e;
    }
  };
  const description = describe();
  const chunks = csvChunks(name, lib);
  if (options.out === undefined) {
    await toStdout(chunks);
    return;
  }
  await toFile(options.out, chunks);
  const drifts = description.driftAt.map((p, k) => ` → ${description.concepts[k + 1]} at ${p}`).join('');
  process.stdout.write(`wrote ${options.out}: ${description.rows} rows of ${name} (concepts ${description.concepts[0]}${drifts}${description.width > 0 ? `, width ${description.width}` : ''}, noise ${description.noise}, seed ${description.seed})\n`);
}

export function generateCommand(): Command {
  return new Command('generate')
    .description('write a synthetic drift stream (MOA\'s SEA, hyperplane, random RBF, Agrawal, STAGGER) as CSV: attributes, then label')
    .argument('<generator>', `one of: ${generatorNames.join(', ')}`, parse.choice(generatorNames))
    .requiredOption('--rows <n>', 'rows to write', parse.positiveInt)
    .option('--drift-at <rows>', 'row indices where the concept changes, increasing (concept k from the k-th on)', rowIndices)
    .option('--width <w>', 'width of each gradual change: row t is of the new concept with probability 1/(1+e^(−4(t−p)/w)) (default: abrupt)', atLeastZero('a number of rows ≥ 0 (0: abrupt)'))
    .option('--concepts <ids>', 'concept of each segment, one more than drift points (default: sea 1,2,3,4,… agrawal 1…10, stagger 1,2,3, hyperplane/rbf 1,2,3,…)', conceptIds)
    .option('--noise <p>', 'probability that a label is replaced by another class (default 0)', unitRange)
    .option('--seed <n>', 'seed of every random draw', parse.integer, 1)
    .option('--out <file>', 'write the CSV to this file (atomically) instead of stdout')
    .option('--features <n>', 'hyperplane, rbf: number of attributes (default 10)', parse.positiveInt)
    .option('--drift-features <n>', 'hyperplane: attributes whose weight drifts (default 2)', parse.nonNegativeInt)
    .option('--mag-change <t>', 'hyperplane: change of each drifting weight per row, in [0, 1] (default 0)', unitRange)
    .option('--sigma <s>', 'hyperplane: probability that a drifting weight reverses direction, per row (default 0.1)', unitRange)
    .option('--classes <k>', 'rbf: number of classes (default 2)', parse.positiveInt)
    .option('--centroids <n>', 'rbf: number of centroids (default 50)', parse.positiveInt)
    .option('--speed <s>', 'rbf: distance each drifting centroid moves per row (default 0)', atLeastZero('a number ≥ 0'))
    .option('--drift-centroids <n>', 'rbf: centroids that move (default 50)', parse.nonNegativeInt)
    .option('--perturb <f>', 'agrawal: perturbation fraction of the numeric attributes, in [0, 1] (default 0.05)', unitRange)
    .action(runGenerate);
}
