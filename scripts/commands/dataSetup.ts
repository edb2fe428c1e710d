/**
 * From command-line options (and a model file's meta, when continuing from one) to a complete data
 * description: label and feature columns, classes, shape, scale, normalization statistics (of the
 * features and, for regression, of the targets) and loss.
 *
 * Order of precedence for each item: the option given on the command line, then the model file's
 * meta, then the default. Classes are never guessed silently: without `--classes` (and without a
 * model file that knows them) a first pass over the training FILE collects the label values and a
 * line on stderr says what was found; on stdin `--classes` is required.
 */
import { Command, Option } from 'commander';
import type { CsvSourceOptions } from '../../src/streams/sources/fromCsv.js';
import { noDataError } from '../../src/streams/sources/csvErrors.js';
import { formatShape, sizeOf } from '../../src/ops/tensor.js';
import * as parse from './args.js';
import { CliError, type ClassesOption } from './args.js';
import { continuousLabelReason, estimateRows, labelColumns, openCsv, scanLabelValues, type CsvInput } from './columns.js';
import { checkModelFits, loadModelFile, type ModelChoice } from './models.js';
import { dataStats, targetNormalization } from './targets.js';
import { csvOptions, metaHints, missingMetaHint, outputCount, type DataMeta, type LossName, type MetaHints, type Normalization, type Task } from './meta.js';

export type NormalizeChoice = 'none' | 'zscore' | 'minmax';

export interface DataRequest {
  /** A CSV path, or `-` for stdin. */
  readonly data: string;
  readonly label?: readonly string[];
  readonly classes?: ClassesOption;
  readonly task?: Task;
  readonly shape?: readonly number[];
  readonly scale?: number;
  readonly normalize?: NormalizeChoice;
  readonly loss?: LossName;
  /** Columns that are neither features nor labels (ids, timestamps): left out of the features. */
  readonly exclude?: readonly string[];
  /**
   * The rows carry no label: their labels come as rows of this other input (late labels joined by an
   * id), so the label column(s) and the classes are found there; every column of the data is then a
   * feature but the excluded ones (the id among them).
   */
  readonly labelsFrom?: CsvInput;
  /** Print what a first pass found (classes) on stderr. */
  readonly isVerbose: boolean;
  /** Reading options of every pass (bad-row policy, max record size; badRows.ts). */
  readonly csv?: Partial<CsvSourceOptions>;
  /** The input, already opened (a stream described by its columns, e.g. a Redis stream's); default: `openCsv(data)`. */
  readonly input?: CsvInput;
}

export interface DataSetup {
  readonly input: CsvInput;
  readonly meta: DataMeta;
  /** Data rows of the file (exact after a statistics pass, else counted from line breaks); null for stdin. */
  readonly rows: number | null;
  /** `rows` is an estimate (a large file: columns.ts estimateRows). */
  readonly isRowsEstimate: boolean;
}

const preview = (names: readonly string[]): string => (names.length > 12 ? `${names.slice(0, 12).join(', ')}, … (${names.length})` : names.join(', '));

function classesFromValues(values: readonly string[]): { classes: string[]; classesAreIndices: boolean } {
  const areIndices = values.every((v, i) => v === String(i));
  return { classes: [...values], classesAreIndices: areIndices };
}

async function resolveClasses(req: DataRequest, input: CsvInput, labelCol: number, fromModel: MetaHints | null): Promise<{ classes: string[]; classesAreIndices: boolean }> {
  if (req.classes !== undefined) {
    if ('count' in req.classes) return { classes: Array.from({ length: req.classes.count }, (_, i) => String(i)), classesAreIndices: true };
    return { classes: [...req.classes.names], classesAreIndices: false };
  }
  if (fromModel?.classes !== undefined && fromModel.classes !== null) return { classes: [...fromModel.classes], classesAreIndices: fromModel.classesAreIndices === true };
  if (input.path === null) {
    const what = input.name === 'stdin' ? '--data -' : `--source ${input.name}`;
    throw new CliError(`--classes is required with ${what} (a stream cannot be read twice to find the label values); pass --classes N or --classes a,b,c`);
  }
  const { values, rows } = await scanLabelValues(input.path, labelCol, input.header.length, req.csv?.maxRecordSize);
  if (values.length === 0) throw noDataError(input.name);
  const continuous = continuousLabelReason(values, rows);
  if (continuous !== null) {
    throw new CliError(
      `${input.name}: the label column "${input.header[labelCol]}" looks like a continuous target (${continuous}), not classes: ` +
        `pass --task regress to predict its value, or --classes to train these values as classes`,
    );
  }
  if (values.length < 2) {
    throw new CliError(`${input.name}: the "${input.header[labelCol]}" column has ${values.length} distinct value(s); classification needs at least 2 (pass --classes, or --task regress)`);
  }
  const found = classesFromValues(values);
  if (req.isVerbose) {
    process.stderr.write(
      `deltaflow: --classes not given; a first pass over ${input.name} found ${values.length} classes in column "${input.header[labelCol]}": ${preview(values)}` +
        `${found.classesAreIndices ? '' : ' (output order)'}. Pass --classes to fix them.\n`,
    );
  }
  return found;
}

/** The `--exclude` columns, checked against the header (a name it does not have is an error listing the columns). */
export function excludedColumns(input: CsvInput, exclude: readonly string[] | undefined): Set<string> {
  const names = new Set(exclude ?? []);
  const unknown = [...names].filter((n) => !input.header.includes(n));
  if (unknown.length > 0) throw new CliError(`--exclude ${unknown.join(',')}: ${input.name} has no such column (columns: ${preview(input.header)})`);
  return names;
}

/**
 * Build the data description for `req`, reading the header (and, when needed, first passes over the
 * file). `fromModel` is what a model file's meta says (all of it, or part: metaHints).
 */
export async function setupData(req: DataRequest, fromModel: MetaHints | null): Promise<DataSetup> {
  const input = req.input ?? (await openCsv(req.data, '--data', req.csv?.maxRecordSize));
  const labelInput = req.labelsFrom ?? input;
  const task: Task = req.task ?? fromModel?.task ?? 'classify';
  const labelNames = req.label ?? fromModel?.label;
  const labelCols = labelColumns(labelInput, labelNames);
  if (task === 'classify' && labelCols.length !== 1) {
    throw new CliError(`--label: classification takes one label column, got ${labelCols.length} (${labelCols.map((c) => labelInput.header[c]).join(', ')}); several columns are targets of --task regress`);
  }
  const label = labelCols.map((c) => labelInput.header[c]);
  // The data's own columns that are labels (none when the labels come from another input).
  const dataLabelCols = req.labelsFrom === undefined ? labelCols : input.header.flatMap((h, c) => (label.includes(h) ? [c] : []));

  const excluded = excludedColumns(input, req.exclude);
  let features: string[];
  if (fromModel?.features !== undefined && req.label === undefined) {
    const missing = fromModel.features.filter((f) => !input.header.includes(f));
    if (missing.length > 0) throw new CliError(`${input.name}: the model's feature columns ${preview(missing)} are missing from the header`);
    const read = fromModel.features.filter((f) => excluded.has(f));
    if (read.length > 0) throw new CliError(`--exclude ${read.join(',')}: the model reads ${read.length === 1 ? 'it as a feature' : 'them as features'}`);
    features = [...fromModel.features];
  } else {
    const labelSet = new Set(label);
    const both = req.labelsFrom === undefined ? [...excluded].filter((e) => labelSet.has(e)) : [];
    if (both.length > 0) throw new CliError(`--exclude ${both.join(',')}: that is the label column; choose another --label, or do not exclude it`);
    features = input.header.filter((name, c) => !dataLabelCols.includes(c) && !excluded.has(name));
  }
  if (features.length === 0) throw new CliError(`${input.name}: no feature columns left besides the label column(s) ${label.join(', ')}`);

  const loss: LossName = req.loss ?? fromModel?.loss ?? (task === 'classify' ? 'ce' : 'mse');
  if (task === 'regress' && loss === 'ce') throw new CliError('--loss ce needs classes; regression (--task regress) uses --loss mse');

  const shape = req.shape ?? fromModel?.shape ?? [features.length];
  if (sizeOf(shape) !== features.length) {
    throw new CliError(`--shape ${shape.join(',')}: ${formatShape(shape)} holds ${sizeOf(shape)} values, but ${input.name} has ${features.length} feature columns`);
  }
  const { classes, classesAreIndices } =
    task === 'classify' ? await resolveClasses(req, labelInput, labelCols[0], fromModel) : { classes: null, classesAreIndices: false };
  const scale = req.scale ?? fromModel?.scale ?? 1;

  let meta: DataMeta = { task, loss, label, features, classes, classesAreIndices, shape, scale, normalize: null, targetNormalize: null };
  let rows: number | null = null;
  const choice = req.normalize ?? (fromModel?.normalize || fromModel?.targetNormalize ? 'from-model' : 'none');
  if (choice === 'from-model' && fromModel !== null) {
    const targetNormalize = fromModel.targetNormalize ?? null;
    // The model's outputs are normalized targets: reading other targets with it would report wrong units.
    const modelLabel = fromModel.label ?? label;
    if (targetNormalize !== null && (task !== 'regress' || label.join('\0') !== modelLabel.join('\0'))) {
      throw new CliError(`the model learned normalized targets ${modelLabel.join(', ')} (meta.targetNormalize); it cannot be used with ${task === 'regress' ? `--label ${label.join(',')}` : '--task classify'}`);
    }
    const normalize = fromModel.normalize ?? null;
    if (normalize !== null && normalize.a.length !== features.length) {
      throw new CliError(`the model's meta.normalize has ${normalize.a.length} statistics, but ${features.length} feature columns are read`);
    }
    meta = { ...meta, normalize, targetNormalize };
  } else if (choice === 'zscore' || choice === 'minmax') {
    if (req.labelsFrom !== undefined) throw new CliError(`--normalize ${choice} with labels from another input: normalize online (--normalize online), or from a model file`);
    if (input.path === null) {
      throw new CliError(`--normalize ${choice} needs a file: its statistics come from a first pass over --data, which stdin cannot give (save the data to a file, or use --scale)`);
    }
    const { onSkip: _reportedByTheTrainingPass, ...policy } = req.csv ?? {};
    // One pass gives the features' statistics and, for regression, the targets'.
    const stats = await dataStats(input.path, { ...csvOptions(meta, input.name), ...policy });
    if (stats.rows === 0) throw noDataError(input.name);
    const f = stats.features;
    const safe = (d: number): number => (Number.isFinite(d) && d > 1e-12 ? d : 1);
    const normalize: Normalization =
      choice === 'zscore' ? { kind: 'zscore', a: f.mean, b: f.std.map(safe) } : { kind: 'minmax', a: f.min, b: f.max.map((mx, i) => safe(mx - f.min[i])) };
    const targetNormalize = task === 'regress' ? targetNormalization(choice, stats.targets, label, input.name) : null;
    meta = { ...meta, normalize, targetNormalize };
    rows = stats.rows;
  }
  let isRowsEstimate = false;
  if (rows === null && input.path !== null) {
    const count = await estimateRows(input.path);
    rows = count.rows;
    isRowsEstimate = !count.isCounted;
  }
  return { input, meta, rows, isRowsEstimate };
}

/** The options that describe a CSV's columns, shared by train, evaluate, predict and online. */
export interface DataOptions {
  readonly label?: string[];
  readonly classes?: ClassesOption;
  readonly task?: Task;
  readonly shape?: number[];
  readonly scale?: number;
  readonly loss?: LossName;
  readonly exclude?: string[];
}

/**
 * Add the column options to a command. For evaluate, predict and online they complete a model file
 * without a data description (one not written by `deltaflow train`), or override its meta.
 */
export function addDataOptions(command: Command): Command {
  return command
    .option('--label <name|index>', 'label column (regression: target column(s), comma-separated); default: the model\'s, else "label"', parse.names)
    .option('--classes <n|a,b,c>', "classes: a count (labels 0..n-1) or the class names; default: the model's", parse.classes)
    .addOption(new Option('--task <task>', "classify or regress; default: the model's, else classify").choices(['classify', 'regress']))
    .option('--shape <C,H,W>', "per-row input shape, C,H,W or N; default: the model's", parse.shape)
    .option('--scale <x>', "multiply every feature by x, e.g. 1/255; default: the model's, else 1", parse.scale)
    .addOption(new Option('--loss <loss>', "ce or mse; default: the model's, else ce (mse for regression)").choices(['ce', 'mse']))
    .option('--exclude <columns>', 'columns to leave out of the features (ids, timestamps), comma-separated; the file is not changed', parse.names);
}

/** A model file and the data description to read `data` with (the file's meta completed by the options), checked to fit. */
export async function modelForData(modelPath: string, data: string, options: DataOptions, isVerbose: boolean, csv?: Partial<CsvSourceOptions>): Promise<{ choice: ModelChoice; setup: DataSetup }> {
  const choice = await loadModelFile(modelPath, 0);
  const fromModel = metaHints(choice.meta, choice.name);
  const hint = missingMetaHint(fromModel, choice.name, options.scale !== undefined);
  if (hint !== null) process.stderr.write(`deltaflow: ${hint}\n`);
  const setup = await setupData({ ...options, data, isVerbose, ...(csv === undefined ? {} : { csv }) }, fromModel);
  checkModelFits(choice, setup.meta.features.length, outputCount(setup.meta), setup.input.name);
  return { choice, setup };
}
