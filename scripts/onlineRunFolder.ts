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
 * Lines are appended as they happen, each with one synchronous write (a report line per window and an
 * event line per detection are few), so a line is in the file — past any kill of the process — before
 * the checkpoint that counts it is taken; the model files, the plot and the summary are written (each
 * atomically) at the end.
 *
 * Resuming (`resume`): a checkpoint says how many lines of each file it covers; the files are cut
 * back to those (a killed run may have written lines after its checkpoint), the plot's points are
 * read back from the kept lines, and new lines are appended — so the files end as an uninterrupted
 * run's. Lines the checkpoint counts but the file lacks (lost with a power failure: the lines are not
 * fsynced) are said in a warning.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
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
  /** Data lines in metrics.csv and events.csv (headers not counted): what a checkpoint records. */
  lines(): { readonly metrics: number; readonly events: number };
  close(): Promise<void>;
}

/** What a resume keeps of the files: the line counts of its checkpoint. */
export interface RunFolderResume {
  readonly metricsLines: number;
  readonly eventsLines: number;
  readonly warn: (line: string) => void;
}

/** RFC 4180 fields of one line (quotes and doubled quotes; no line breaks inside: the files have none). */
function splitLine(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let text = '';
      i++;
      while (i < line.length) {
        if (line[i] === '"' && line[i + 1] === '"') {
          text += '"';
          i += 2;
        } else if (line[i] === '"') {
          i++;
          break;
        } else text += line[i++];
      }
      out.push(text);
      i++;
    } else {
      const end = line.indexOf(',', i);
      const stop = end < 0 ? line.length : end;
      out.push(line.slice(i, stop));
      i = stop + 1;
    }
  }
  return out;
}

const numberOrNull = (text: string | undefined): number | null => (text === undefined || text === '' ? null : Number(text));

/**
 * Create the folder and open metrics.csv and events.csv with their headers.
 *
 * @example const run = await openOnlineRunFolder('runs/x', { keys: set.keys, learners: ['mlp'], isRegression: false });
 */
export async function openOnlineRunFolder(
  dir: string,
  layout: { readonly keys: readonly string[]; readonly learners: readonly string[]; readonly isRegression: boolean },
  resume?: RunFolderResume,
): Promise<OnlineRunFolder> {
  await mkdir(dir, { recursive: true });
  const metricsPath = join(dir, 'metrics.csv');
  const eventsPath = join(dir, 'events.csv');
  const plotPath = join(dir, 'plot.svg');
  const points: OnlinePoint[] = [];
  const detections: OnlineMarker[] = [];
  const metricsHeader = ['kind', 'row', 'learner', ...layout.keys, 'loss', 'loss_window', 'event', 'detail'];
  /** Opens a file for appending: fresh with its header, or (resuming) cut back to the first `keep` data lines. */
  const open = (path: string, header: readonly string[], keep: number | null, onKept: (fields: string[]) => void): { fd: number; count: number } => {
    const head = `${header.join(',')}\n`;
    if (keep === null || !existsSync(path)) {
      const fd = openSync(path, 'w');
      writeSync(fd, head);
      if (keep !== null && keep > 0) resume?.warn(`${path} is missing: it held ${keep} lines the checkpoint covers`);
      return { fd, count: 0 };
    }
    const text = readFileSync(path, 'utf8');
    if (!text.startsWith(head)) throw new Error(`${path}: not this run's file (its header differs); cannot resume into this run folder`);
    const lines = text.slice(head.length).split('\n');
    // A line without its line ending was cut by the kill: never kept.
    const complete = lines.slice(0, lines.length - 1);
    const kept = complete.slice(0, keep);
    if (kept.length < keep) resume?.warn(`${path} holds ${kept.length} of the ${keep} lines the checkpoint covers (the others were lost with the interrupted run)`);
    for (const line of kept) onKept(splitLine(line));
    const fd = openSync(path, 'r+');
    const bytes = Buffer.byteLength(head + kept.map((l) => `${l}\n`).join(''));
    ftruncateSync(fd, bytes);
    closeSync(fd);
    return { fd: openSync(path, 'a'), count: kept.length };
  };
  const nKeys = layout.keys.length;
  const metrics = open(metricsPath, metricsHeader, resume?.metricsLines ?? null, (f) => {
    if (f[0] !== 'report') return;
    const values: Record<string, number | null> = {};
    layout.keys.forEach((k, i) => (values[k] = numberOrNull(f[3 + i])));
    points.push({ row: Number(f[1]), learner: f[2], values, loss: numberOrNull(f[3 + nKeys]), lossWindow: numberOrNull(f[4 + nKeys]) });
  });
  const events = open(eventsPath, EVENTS_COLUMNS, resume?.eventsLines ?? null, (f) => {
    if (f[2] === 'drift') detections.push({ row: Number(f[0]), learner: f[1], isReacted: f[5] === 'true' });
  });
  const blanks = layout.keys.map(() => '');
  const write = (target: typeof metrics, line: string): void => {
    writeSync(target.fd, line);
    target.count++;
  };
  const isMany = layout.learners.length > 1;
  let isClosed = false;
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
    lines: () => ({ metrics: metrics.count, events: events.count }),
    async close() {
      if (isClosed) return;
      isClosed = true;
      closeSync(metrics.fd);
      closeSync(events.fd);
    },
  };
}
