/**
 * The input of `deltaflow online`: the rows (a CSV file, stdin, a followed file, or a Redis stream
 * through a consumer group) and the late labels of `--labels` (interleaved one for one), with the
 * target normalization of a model file and `--normalize online` — and, for checkpoints, where the
 * input stands after each item taken and the rows' CSV counters as of it.
 *
 * Reading may run ahead of the items taken (interleave queues a few rows while waiting for a label),
 * so the counters at a checkpoint are those captured when the last row taken was read, and online
 * normalization is applied to the rows in the order they are taken, after the interleave. A resume
 * starts each file at its saved offset (and the interleave on the saved side), a Redis source at its
 * saved stream position, and the counters at their saved values.
 */
import { map, tap, type Observable } from 'rxjs';
import { createMoments, standardize, welfordUpdate } from '../../src/ops/welford.js';
import type { LabelArrival, OnlineInput } from '../../src/streams/online/evaluateOnline.js';
import type { OnlineNormalizeState } from '../../src/streams/online/onlineNormalize.js';
import { createCounters, fromCsv, type CsvCounters, type CsvSourceOptions } from '../../src/streams/sources/fromCsv.js';
import { fromRedisStream, type RedisStreamSource } from '../../src/streams/sources/fromRedisStream.js';
import { interleave } from '../../src/streams/sources/interleave.js';
import type { Gate } from '../../src/streams/sources/gate.js';
import type { RowOrigin, Sample } from '../../src/streams/types.js';
import { CliError } from './args.js';
import type { CsvInput } from './columns.js';
import { csvOptions, type DataMeta } from './meta.js';
import type { FilePosition, InputPosition, RowCountsAt } from './onlineCheckpoints.js';
import { normalizeTargets } from './targets.js';

/** Where the rows come from. */
export type RowsFrom =
  | { readonly kind: 'file'; readonly input: CsvInput; readonly follow: boolean }
  | {
      readonly kind: 'redis';
      readonly url: string;
      readonly group: string;
      readonly consumer: string;
      readonly claimIdleMs: number;
      readonly maxRows?: number;
      readonly columns?: readonly string[];
    };

export interface OnlineInputRequest {
  readonly rows: RowsFrom;
  readonly meta: DataMeta;
  /** The name rows are read under (messages, origins). */
  readonly name: string;
  /** Late labels from another input, joined on `id`. */
  readonly labels?: { readonly input: CsvInput; readonly id: string };
  /** The id column of the rows (labels by id, predictions' ids). */
  readonly id?: string;
  /** Bad-row policy and record size (badRows.ts). */
  readonly policy: Partial<CsvSourceOptions>;
  /** --normalize online: the running statistics, updated as rows are taken. */
  readonly normalize: OnlineNormalizeState | null;
  /** A resume: where to start, and the counters to continue. */
  readonly start: { readonly position: InputPosition; readonly counts: RowCountsAt } | null;
  /** Credits for the rows' source (the checkpoint writer's back-pressure); not with --labels, which interleave gates. */
  readonly gate?: Gate;
}

export interface OnlineSource {
  readonly input: Observable<OnlineInput>;
  /** The rows' CSV counters (all rows read so far). */
  readonly counters: CsvCounters;
  /** The Redis source (null for files). */
  readonly redis: RedisStreamSource | null;
  /** Call after each item is taken (evaluateOnline's afterItem). */
  taken(item: OnlineInput): void;
  /** Where the input stands after the last item taken. */
  position(): InputPosition;
  /** The rows' counters as of the last row taken. */
  counts(): RowCountsAt;
}

const isLabel = (item: OnlineInput): item is LabelArrival => 'kind' in item && item.kind === 'label';

const startOf = (p: FilePosition | null): Partial<CsvSourceOptions> => (p === null || p.offset === 0 ? {} : { startOffset: p.offset, startRecord: p.nextRecord });

/** The rows (and labels) of the request (see the file comment). */
export function openOnlineInput(req: OnlineInputRequest): OnlineSource {
  const { meta, policy } = req;
  const counters = createCounters();
  const start = req.start;
  if (start !== null) Object.assign(counters, { dataRows: start.counts.dataRows, rowsEmitted: start.counts.rowsEmitted, rowsSkipped: start.counts.rowsSkipped, skippedByCode: { ...start.counts.skippedByCode } });
  const targetNorm = meta.targetNormalize;
  const hasLabelColumn = req.labels === undefined;
  const schema: CsvSourceOptions = {
    ...csvOptions(meta, req.name),
    ...policy,
    counters,
    ...(req.gate === undefined || req.labels !== undefined ? {} : { gate: req.gate }),
    ...(hasLabelColumn ? {} : { task: 'predict' as const, label: undefined, classes: undefined, targets: undefined }),
    ...(req.id === undefined ? {} : { id: req.id }),
  };
  // The counters when each row was read, by its origin (kept through the maps that copy a sample).
  const countsAt = new WeakMap<RowOrigin, RowCountsAt>();
  let codes: Readonly<Record<string, number>> = { ...counters.skippedByCode };
  let codesAt = counters.rowsSkipped;
  const capture = (s: Sample): void => {
    if (counters.rowsSkipped !== codesAt) {
      codes = { ...counters.skippedByCode };
      codesAt = counters.rowsSkipped;
    }
    countsAt.set(s.origin, { dataRows: counters.dataRows, rowsEmitted: counters.rowsEmitted, rowsSkipped: counters.rowsSkipped, skippedByCode: codes });
  };

  const startPosition = start?.position ?? null;
  let redis: RedisStreamSource | null = null;
  let rows: (extra: Partial<CsvSourceOptions>) => Observable<Sample>;
  if (req.rows.kind === 'redis') {
    const r = req.rows;
    if (startPosition !== null && startPosition.kind !== 'redis') throw new CliError('--resume: the checkpoint was taken reading a file; this run reads a Redis stream (--source)');
    const source = fromRedisStream(r.url, {
      ...schema,
      group: r.group,
      consumer: r.consumer,
      claimIdleMs: r.claimIdleMs,
      ...(r.maxRows === undefined ? {} : { maxRows: r.maxRows }),
      ...(r.columns === undefined ? {} : { columns: r.columns }),
      ...(startPosition?.kind === 'redis' ? { start: startPosition.position } : {}),
    });
    redis = source;
    rows = () => source;
  } else {
    const { input, follow } = req.rows;
    if (startPosition !== null && startPosition.kind !== 'file') throw new CliError('--resume: the checkpoint was taken reading a Redis stream; this run reads a file');
    const at = startPosition?.kind === 'file' ? startPosition.rows : null;
    rows = (extra) => {
      const o: CsvSourceOptions = { ...schema, ...startOf(at), ...(follow ? { follow: true } : {}), ...extra };
      return input.stream !== null ? fromCsv(input.stream, o) : fromCsv(input.name, o);
    };
  }
  const readRows = (extra: Partial<CsvSourceOptions> = {}): Observable<Sample> => {
    const raw = rows(extra).pipe(tap(capture));
    return hasLabelColumn ? raw.pipe(normalizeTargets(targetNorm)) : raw;
  };

  const labels = req.labels;
  const labelsAt = startPosition?.kind === 'file' ? startPosition.labels : null;
  const first = startPosition?.kind === 'file' && startPosition.next === 'labels' ? 'b' : 'a';
  const joined: Observable<OnlineInput> =
    labels === undefined
      ? readRows()
      : interleave(
          (gate) => readRows({ gate }),
          (gate) =>
            readLabels(labels.input, meta, labels.id, { ...policy, ...startOf(labelsAt), gate }).pipe(
              map((a): LabelArrival => (targetNorm === null ? a : { ...a, target: normalizeTarget(a.target, targetNorm) })),
            ),
          256,
          first,
        );
  const state = req.normalize;
  const inputs = state === null ? joined : joined.pipe(map((item) => (isLabel(item) ? item : normalizeRow(state, item))));

  // Where the input stands after the last item taken.
  let rowsPos: FilePosition = startPosition?.kind === 'file' ? startPosition.rows : { offset: 0, nextRecord: 0 };
  let labelsPos: FilePosition | null = labelsAt ?? (labels === undefined ? null : { offset: 0, nextRecord: 0 });
  let next: 'rows' | 'labels' = startPosition?.kind === 'file' ? startPosition.next : 'rows';
  let counts: RowCountsAt = start?.counts ?? { dataRows: 0, rowsEmitted: 0, rowsSkipped: 0, skippedByCode: {} };
  const source = redis;
  return {
    input: inputs,
    counters,
    redis,
    taken(item) {
      const origin = item.origin;
      if (isLabel(item)) {
        if (origin !== undefined) labelsPos = { offset: origin.endOffset, nextRecord: origin.record + 1 };
        next = 'rows';
        return;
      }
      if (origin === undefined) return;
      rowsPos = { offset: origin.endOffset, nextRecord: origin.record + 1 };
      counts = countsAt.get(origin) ?? counts;
      next = labels === undefined ? 'rows' : 'labels';
    },
    position: () => (source !== null ? { kind: 'redis', position: source.position } : { kind: 'file', rows: rowsPos, labels: labelsPos, next }),
    // A Redis source's position and counters advance together (skipped entries too): read both live.
    counts: () => (source !== null ? { dataRows: counters.dataRows, rowsEmitted: counters.rowsEmitted, rowsSkipped: counters.rowsSkipped, skippedByCode: { ...counters.skippedByCode } } : counts),
  };
}

/** --normalize online on one row: the statistics take it in, then it is standardized (onlineNormalize.ts). */
function normalizeRow(state: OnlineNormalizeState, sample: Sample): Sample {
  if (state.moments === null) state.moments = createMoments(sample.x.length);
  const moments = state.moments;
  if (moments.mean.length !== sample.x.length) throw new RangeError(`onlineNormalize: row at ${sample.origin.source}:${sample.origin.line} has ${sample.x.length} features, the statistics ${moments.mean.length}`);
  welfordUpdate(moments, sample.x);
  return { ...sample, x: standardize(moments, sample.x) };
}

/** The labels stream of `--labels`: `id,label` rows (the label column as the data names it), as LabelArrivals. */
function readLabels(input: CsvInput, meta: DataMeta, idColumn: string, policy: Partial<CsvSourceOptions>): Observable<LabelArrival> {
  const base = csvOptions(meta, input.name);
  const { shape: _shape, normalize: _normalize, ...rest } = base;
  const o: CsvSourceOptions = { ...rest, ...policy, features: [], id: idColumn, scale: 1 };
  const source = input.stream !== null ? fromCsv(input.stream, o) : fromCsv(input.name, o);
  return source.pipe(
    map((s): LabelArrival => {
      const id = s.origin.id;
      if (id === undefined) throw new CliError(`${s.origin.source}:${s.origin.line}: no id`);
      return { kind: 'label', id, label: s.label, target: s.target, origin: s.origin };
    }),
  );
}

function normalizeTarget(target: Float32Array, norm: { readonly a: readonly number[]; readonly b: readonly number[] }): Float32Array {
  const out = new Float32Array(target.length);
  for (let j = 0; j < out.length; j++) out[j] = (target[j] - norm.a[j]) / norm.b[j];
  return out;
}
