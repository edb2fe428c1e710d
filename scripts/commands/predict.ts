/**
 * `deltaflow predict --model FILE [--data FILE|-]`: stream rows in, write predictions as CSV to stdout.
 *
 * Output: a header, then one line per input row in input order —
 *   `--keep` columns first, as their text in the input (an id, say), then
 *   classification: `class,p_<name>,…` — the predicted class (its name as the training labels had it)
 *                   and one column per class: softmax probabilities (ce), or the sigmoid outputs (mse);
 *   regression:     `value` (one target) or `value_<target>,…` (several), in target units (a model
 *                   that learned normalized targets has its outputs mapped back, targets.ts);
 *   with `--on-bad-row skip`, a last column `error`: empty, or the code of the row's problem
 *                   (`CSV_NOT_A_NUMBER`, …) on a bad row, whose prediction columns are then empty.
 *
 * Only the model's feature columns are read (by name, in any order); the label column may be absent,
 * and other columns are ignored (`--exclude` keeps named columns out of the features of a model file
 * without a feature list). The rows are read by fromCsv in its features-only mode (`task:
 * 'predict'`), so they get exactly the checks, messages and fast reader of training: by default a bad
 * value fails with `file:line:column (column "name")`; with `--on-bad-row skip` it gets its output
 * line with the error code, and the skips are counted on stderr at the end. Structural problems are
 * always fatal, `--max-record-size` bounds a record. Memory stays flat on any input: rows run through
 * the model `--batch` rows at a time and are written with backpressure — a gate stops reading while
 * stdout's buffer is full.
 *
 * `--follow` tails a file another program keeps appending to (fromCsv's `follow`): each row is
 * predicted once its line ending has arrived, the rows of one read at a time (a partial batch is
 * written as soon as the read that brought it is done), until SIGINT/SIGTERM, which stop reading,
 * write the rows already read, and exit 130/143.
 */
import { once } from 'node:events';
import { Command } from 'commander';
import type { Subscription } from 'rxjs';
import { forwardAll } from '../../src/layers/sequential.js';
import { initKernels } from '../../src/ops/kernels.js';
import { Workspace, sizeOf } from '../../src/ops/tensor.js';
import { fromCsv } from '../../src/streams/sources/fromCsv.js';
import { createGate } from '../../src/streams/sources/gate.js';
import { parse as parseCsvSync } from 'csv-parse/sync';
import type { SkipReport } from '../../src/streams/sources/csvErrors.js';
import { createCounters } from '../../src/streams/sources/fromCsv.js';
import * as parse from './args.js';
import { CliError, positiveInt } from './args.js';
import { addBadRowOptions, badRowCsvOptions, checkBadRowOptions, DEFAULT_MAX_RECORD_SIZE, type BadRowOptions } from './badRows.js';
import { labelColumns, openCsv } from './columns.js';
import { addDataOptions, excludedColumns, type DataOptions } from './dataSetup.js';
import { describeRowCounts, rowCountsOf } from './summary.js';
import { completeMeta, metaHints, missingMetaHint, outputCount, type DataMeta, type MetaHints } from './meta.js';
import { checkModelFits, loadModelFile } from './models.js';
import { denormalizeOutputs } from './targets.js';

interface PredictOptions extends DataOptions, BadRowOptions {
  readonly model: string;
  readonly data: string;
  readonly follow: boolean;
  readonly batch: number;
  readonly keep?: string[];
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const num = (v: number): string => String(Number(v.toPrecision(7)));

/** The output header for `meta`. */
export function predictHeader(meta: DataMeta): string {
  if (meta.task === 'regress') return meta.label.length === 1 ? 'value' : meta.label.map((t) => csvField(`value_${t}`)).join(',');
  return ['class', ...(meta.classes ?? []).map((c) => csvField(`p_${c}`))].join(',');
}

/** One output line per row of the batch's outputs `[m, k]`. */
function predictLines(meta: DataMeta, out: Float32Array, m: number, k: number): string {
  let text = '';
  const names = meta.classes ?? [];
  const p = new Float64Array(k);
  if (meta.task === 'regress') {
    const values = denormalizeOutputs(meta.targetNormalize, out, m, k);
    for (let i = 0; i < m; i++) text += `${Array.from(values.subarray(i * k, (i + 1) * k), num).join(',')}\n`;
    return text;
  }
  for (let i = 0; i < m; i++) {
    const row = out.subarray(i * k, (i + 1) * k);
    let best = 0;
    for (let j = 1; j < k; j++) if (row[j] > row[best]) best = j;
    if (meta.loss === 'ce') {
      // Softmax with the max subtracted (4.2), so large logits stay finite.
      let sum = 0;
      for (let j = 0; j < k; j++) sum += p[j] = Math.exp(row[j] - row[best]);
      for (let j = 0; j < k; j++) p[j] /= sum;
    } else {
      for (let j = 0; j < k; j++) p[j] = row[j];
    }
    text += `${csvField(names[best] ?? String(best))},${Array.from(p, num).join(',')}\n`;
  }
  return text;
}

/** Fill in what a model file's meta lacks (all or part of it) from the options (labels are not read by predict). */
function predictMeta(fileMeta: MetaHints | null, options: PredictOptions, header: readonly string[], name: string): DataMeta {
  const full = completeMeta(fileMeta);
  if (full !== null && options.label === undefined && options.classes === undefined && options.task === undefined) {
    return { ...full, scale: options.scale ?? full.scale, shape: options.shape ?? full.shape };
  }
  const task = options.task ?? fileMeta?.task ?? 'classify';
  // The label column(s): given, else the meta's, else `label`; predict reads rows without them too.
  const labelNames = options.label ?? fileMeta?.label;
  const hasLabelInHeader = options.label !== undefined || (labelNames ?? ['label']).every((l) => header.includes(l));
  const input = { name, path: null, header, stream: null };
  const labelCols = hasLabelInHeader ? labelColumns(input, labelNames) : [];
  const label = labelCols.length > 0 ? labelCols.map((c) => header[c]) : (fileMeta?.label ?? ['label']);
  const excluded = excludedColumns(input, options.exclude);
  const features = fileMeta?.features ?? header.filter((h, c) => !labelCols.includes(c) && !excluded.has(h));
  const classesOption = options.classes;
  const classes =
    task === 'regress' ? null : classesOption !== undefined ? ('count' in classesOption ? Array.from({ length: classesOption.count }, (_, i) => String(i)) : [...classesOption.names]) : (fileMeta?.classes ?? null);
  if (task === 'classify' && classes === null) throw new CliError(`${options.model} has no class names (its meta has no "classes"): pass --classes N or --classes a,b,c`);
  return {
    task,
    loss: options.loss ?? fileMeta?.loss ?? (task === 'classify' ? 'ce' : 'mse'),
    label,
    features,
    classes,
    classesAreIndices: classesOption !== undefined ? 'count' in classesOption : fileMeta?.classesAreIndices === true,
    shape: options.shape ?? fileMeta?.shape ?? [features.length],
    scale: options.scale ?? fileMeta?.scale ?? 1,
    normalize: fileMeta?.normalize ?? null,
    // The outputs of a model that learned normalized targets are mapped back to target units.
    targetNormalize: task === 'regress' && fileMeta?.targetNormalize != null && fileMeta.targetNormalize.a.length === label.length ? fileMeta.targetNormalize : null,
  };
}

async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}

/** The kept columns' texts of a skipped row, read from its raw text when it has the file's field count; else empty. */
function keptOfRaw(raw: string, keepCols: readonly number[], nFields: number): string[] {
  let fields: string[] = [];
  try {
    const rows = parseCsvSync(raw, { relax_column_count: true, relax_quotes: true }) as string[][];
    fields = rows.length === 1 && rows[0].length === nFields ? rows[0] : [];
  } catch {
    fields = [];
  }
  return keepCols.map((c) => (fields[c] ?? '').trim());
}

async function runPredict(options: PredictOptions): Promise<void> {
  checkBadRowOptions(options);
  if (options.follow && options.data === '-') throw new CliError('--follow needs a --data file (stdin is followed as it is)');
  // The kernels before any model: its weights then live in the kernels' memory (resident), not copied in each step.
  await initKernels();
  const choice = await loadModelFile(options.model, 0);
  const maxRecordSize = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
  const input = await openCsv(options.data, '--data', maxRecordSize);
  const hints = metaHints(choice.meta, choice.name);
  const hint = missingMetaHint(hints, choice.name, options.scale !== undefined);
  if (hint !== null) process.stderr.write(`deltaflow: ${hint}\n`);
  const meta = predictMeta(hints, options, input.header, input.name);
  const missing = meta.features.filter((f) => !input.header.includes(f));
  if (missing.length > 0) {
    const shown = missing.length > 8 ? `${missing.slice(0, 8).join(', ')}, … (${missing.length})` : missing.join(', ');
    throw new CliError(`${input.name}: the model's feature column(s) ${shown} are missing from the header`);
  }
  const keep = options.keep ?? [];
  const absent = keep.filter((k) => !input.header.includes(k));
  if (absent.length > 0) throw new CliError(`--keep ${absent.join(',')}: ${input.name} has no such column (columns: ${input.header.join(', ')})`);
  const keepCols = keep.map((k) => input.header.indexOf(k));
  checkModelFits(choice, meta.features.length, outputCount(meta), input.name);
  const { model } = choice;

  const n = meta.features.length;
  const k = outputCount(meta);
  const isSkipping = options.onBadRow === 'skip';
  const wss = model.layers.map(() => new Workspace());
  const x = new Float32Array(options.batch * n);
  let kept: (readonly string[])[] = [];
  let m = 0;
  /** The output lines of the rows gathered so far (computed now, so `x` can be refilled at once). */
  const predictBatch = (): string => {
    const y = forwardAll(model, { data: x.subarray(0, m * n), shape: [m, ...model.input] }, wss);
    if (sizeOf(y.shape) !== m * k) throw new CliError(`${choice.name}: expected ${k} outputs per row, got shape [${y.shape.join(', ')}]`);
    const lines = predictLines(meta, y.data, m, k).split('\n');
    const text = lines.slice(0, m).map((l, i) => `${[...kept[i].map(csvField), l].join(',')}${isSkipping ? ',' : ''}\n`).join('');
    m = 0;
    kept = [];
    return text;
  };
  const emptyPrediction = predictHeader(meta).split(',').map(() => '').join(',');

  // At most two batches read ahead of what stdout has taken.
  const gate = createGate(2 * options.batch);
  const counters = createCounters();
  const shape = meta.shape.length === 3 ? ([meta.shape[0], meta.shape[1], meta.shape[2]] as const) : undefined;
  let onSkip: (r: SkipReport) => void = () => undefined;
  const csv = {
    name: input.name,
    task: 'predict' as const,
    features: meta.features,
    scale: meta.scale,
    ...(meta.normalize === null ? {} : { normalize: meta.normalize }),
    ...(shape === undefined ? {} : { shape }),
    ...(keep.length === 0 ? {} : { keep }),
    ...badRowCsvOptions(options, (r) => onSkip(r)),
    maxRecordSize,
    gate,
    counters,
    ...(options.follow ? { follow: true } : {}),
  };
  const rows = input.stream !== null ? fromCsv(input.stream, csv) : fromCsv(options.data, csv);
  let stoppedBy: NodeJS.Signals | null = null;
  await write(`${[...keep.map(csvField), predictHeader(meta), ...(isSkipping ? ['error'] : [])].join(',')}\n`);
  await new Promise<void>((resolve, reject) => {
    let written: Promise<void> = Promise.resolve();
    let isFailed = false;
    let subscription: Subscription | undefined;
    let isFlushQueued = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stoppedBy !== null) process.exit(signal === 'SIGINT' ? 130 : 143);
      stoppedBy = signal;
      subscription?.unsubscribe();
      try {
        if (m > 0) send(predictBatch(), m);
      } catch (e) {
        fail(e);
        return;
      }
      written.then(resolve, fail);
    };
    if (options.follow) {
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }
    const fail = (e: unknown): void => {
      if (isFailed) return;
      isFailed = true;
      subscription?.unsubscribe();
      reject(e);
    };
    const send = (text: string, count: number): void => {
      written = written.then(async () => {
        await write(text);
        gate.release(count);
      });
      written.catch(fail);
    };
    // A skipped row gets its line in input order: the rows gathered before it are predicted first.
    onSkip = (r) => {
      try {
        if (m > 0) send(predictBatch(), m);
      } catch (e) {
        fail(e);
        return;
      }
      send(`${[...keptOfRaw(r.raw, keepCols, input.header.length).map(csvField), emptyPrediction, r.code].join(',')}\n`, 0);
    };
    subscription = rows.subscribe({
      next: (sample) => {
        x.set(sample.x, m * n);
        kept.push(sample.kept ?? []);
        m++;
        if (m === options.batch) {
          try {
            send(predictBatch(), options.batch);
          } catch (e) {
            fail(e);
          }
        } else if (options.follow && !isFlushQueued) {
          // A followed file's rows are written once the read that brought them is done, not when a batch fills.
          isFlushQueued = true;
          setImmediate(() => {
            isFlushQueued = false;
            try {
              if (m > 0 && stoppedBy === null) send(predictBatch(), m);
            } catch (e) {
              fail(e);
            }
          });
        }
      },
      // The rows before a bad row get their lines first, then the error ends the run.
      error: (e: unknown) => {
        try {
          if (m > 0) send(predictBatch(), m);
        } catch (inner) {
          fail(inner);
          return;
        }
        void written.then(() => fail(e), fail);
      },
      complete: () => {
        try {
          if (m > 0) send(predictBatch(), m);
        } catch (e) {
          fail(e);
          return;
        }
        written.then(resolve, fail);
      },
    });
  });
  if (isSkipping) process.stderr.write(`deltaflow: rows: ${describeRowCounts(rowCountsOf(counters)).replace(' trained', ' predicted')}\n`);
  const signal = stoppedBy as NodeJS.Signals | null;
  if (signal !== null) {
    process.stderr.write(`deltaflow: stopped by ${signal} after ${counters.rowsEmitted} rows\n`);
    process.exitCode = signal === 'SIGINT' ? 130 : 143;
  }
}

export function predictCommand(): Command {
  const command = new Command('predict')
    .description('stream CSV rows through a trained model and write predictions as CSV on stdout (class and per-class probabilities, or values)')
    .requiredOption('--model <file>', 'a model file written by deltaflow train')
    .option('--data <file|->', 'CSV with the model\'s feature columns (the label column may be absent), or - for stdin', '-')
    .option('--batch <n>', 'rows per forward batch', positiveInt, 256)
    .option('--follow', 'with --data FILE: keep predicting the rows appended to the file, like tail -f, until SIGINT/SIGTERM', false)
    .option('--keep <columns>', 'columns copied, as their text, into the output before the predictions (an id, say), comma-separated', parse.names);
  return addBadRowOptions(addDataOptions(command), 'written as a line with an error code in the error column').action(runPredict);
}
