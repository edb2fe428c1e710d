/**
 * The run folder of `deltaflow online` (`--out DIR`, default `runs/<timestamp>`):
 *
 *   metrics.csv   kind,row,learner,<metric keys…>,loss,loss_window,event,detail — one `report` line per
 *                 learner at every report (the metric set's keys: accuracy, accuracy_window,
 *                 accuracy_fading, kappa, …), and one `event` line per detection or reaction (its
 *                 figures empty, `event` warning|drift|reaction, `detail` in words)
 *   events.csv    row,learner,event,detector,direction,reacted,reaction,detail — the detections and
 *                 reactions alone
 *   model.json    the learned model (one learner), or model-<name>.json for each of several
 *   plot.svg      the windowed and cumulative figures against the row, and κ, with the detections and
 *                 the known drift points marked (plots/onlinePlot.ts)
 *   summary.json  what was read, scored and learned, the label counts, the final figures
 *
 * Lines are appended as they happen; the model files, the plot and the summary are written (each
 * atomically) at the end.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveModel, type JsonObject } from '../src/layers/modelFile.js';
import type { Model } from '../src/layers/sequential.js';
import type { DetectionEvent, ReactionEvent, ReportEvent } from '../src/streams/online/evaluateOnline.js';
import { writeFileAtomic } from './commands/summary.js';
import { renderOnlinePlot, type OnlineMarker, type OnlinePoint } from './plots/onlinePlot.js';

export const EVENTS_COLUMNS = ['row', 'learner', 'event', 'detector', 'direction', 'reacted', 'reaction', 'detail'] as const;

/** A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
const field = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
const cell = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '' : String(v));

export interface OnlineRunFolder {
  readonly dir: string;
  readonly metricsPath: string;
  readonly eventsPath: string;
  readonly plotPath: string;
  /** model.json for a single learner, model-<name>.json for several. */
  modelPath(learner: string): string;
  addReport(e: ReportEvent): void;
  addEvent(e: DetectionEvent | ReactionEvent): void;
  saveModel(learner: string, model: Model, meta: JsonObject): Promise<void>;
  writePlot(title: string, driftAt: readonly number[]): Promise<void>;
  writeSummary(summary: JsonObject): Promise<string>;
  close(): Promise<void>;
}

/**
 * Create the folder and open metrics.csv and events.csv with their headers.
 *
 * @example const run = await openOnlineRunFolder('runs/x', { keys: set.keys, learners: ['mlp'], isRegression: false });
 */
export async function openOnlineRunFolder(dir: string, layout: { readonly keys: readonly string[]; readonly learners: readonly string[]; readonly isRegression: boolean }): Promise<OnlineRunFolder> {
  await mkdir(dir, { recursive: true });
  const metricsPath = join(dir, 'metrics.csv');
  const eventsPath = join(dir, 'events.csv');
  const plotPath = join(dir, 'plot.svg');
  const open = (path: string, header: readonly string[]): { stream: WriteStream; failure: () => Error | null } => {
    const stream = createWriteStream(path, { flags: 'w' });
    let error: Error | null = null;
    stream.on('error', (e) => (error = e));
    stream.write(`${header.join(',')}\n`);
    return { stream, failure: () => error };
  };
  const metrics = open(metricsPath, ['kind', 'row', 'learner', ...layout.keys, 'loss', 'loss_window', 'event', 'detail']);
  const events = open(eventsPath, EVENTS_COLUMNS);
  const points: OnlinePoint[] = [];
  const detections: OnlineMarker[] = [];
  const blanks = layout.keys.map(() => '');
  const write = (target: typeof metrics, line: string): void => {
    const failure = target.failure();
    if (failure !== null) throw failure;
    target.stream.write(line);
  };
  const isMany = layout.learners.length > 1;
  return {
    dir,
    metricsPath,
    eventsPath,
    plotPath,
    modelPath: (learner) => join(dir, isMany ? `model-${learner}.json` : 'model.json'),
    addReport(e) {
      for (const l of e.learners) {
        points.push({ row: e.row, learner: l.name, values: l.values, loss: l.loss, lossWindow: l.lossWindow });
        write(metrics, `${['report', String(e.row), field(l.name), ...layout.keys.map((k) => cell(l.values[k])), cell(l.loss), cell(l.lossWindow), '', ''].join(',')}\n`);
      }
    },
    addEvent(e) {
      const kind = e.type === 'detection' ? e.signal : 'reaction';
      const detail = e.type === 'detection' ? `${e.detector}${e.direction === undefined ? '' : `, error ${e.direction}`}${e.reacted === false && e.signal === 'drift' ? ', not reacted to' : ''}` : `${e.reaction}: ${e.detail}`;
      write(metrics, `${['event', String(e.row), field(e.learner), ...blanks, '', '', kind, field(detail)].join(',')}\n`);
      const row =
        e.type === 'detection'
          ? [String(e.row), field(e.learner), e.signal, e.detector, e.direction ?? '', e.reacted === undefined ? '' : String(e.reacted), '', '']
          : [String(e.row), field(e.learner), 'reaction', '', '', '', e.reaction, field(e.detail)];
      write(events, `${row.join(',')}\n`);
      if (e.type === 'detection' && e.signal === 'drift') detections.push({ row: e.row, learner: e.learner, isReacted: e.reacted === true });
    },
    async saveModel(learner, model, meta) {
      await saveModel(join(dir, isMany ? `model-${learner}.json` : 'model.json'), model, meta);
    },
    async writePlot(title, driftAt) {
      await writeFile(plotPath, renderOnlinePlot({ title, isRegression: layout.isRegression, learners: layout.learners, points, detections, driftAt }), 'utf8');
    },
    async writeSummary(summary) {
      const path = join(dir, 'summary.json');
      await writeFileAtomic(path, `${JSON.stringify(summary, null, 2)}\n`);
      return path;
    },
    async close() {
      const end = (s: WriteStream): Promise<void> => new Promise((resolve, reject) => s.end((e?: Error | null) => (e ? reject(e) : resolve())));
      await Promise.all([end(metrics.stream), end(events.stream)]);
      const failure = metrics.failure() ?? events.failure();
      if (failure !== null) throw failure;
    },
  };
}
